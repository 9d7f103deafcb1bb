"""Local inputs for `scale=rehearsal`: paper scale's code path at toy size, on CPU.

    torchrun --nproc_per_node 2 -m xlt.run +experiment=parallel_sft scale=rehearsal

The rehearsal takes every branch `scale=paper` takes (a given chat model, CodeForces data
through the Hub-schema loaders, ZeRO-3 on several ranks, chat rollouts of `io` problems,
MultiPL-E evaluation with chat prefill) with inputs that need no network and no GPU:

- `model/`: a tiny random-initialised Llama saved in Hugging Face format with a
  Llama-3-style tokenizer (BOS `<|begin_of_text|>`, end of turn `<|eot_id|>`, the Llama-3
  chat template; `xlt.models.build_llama3_style_tokenizer`), standing in for
  Llama-3.1-8B-Instruct. Its answers are noise: the rehearsal checks that the path runs,
  not what it learns.
- `codeforces/`: CodeForces rows in the `open-r1/codeforces` and
  `open-r1/codeforces-submissions` schemas, laid out as a local copy of the Hub
  (`problems/<split>.jsonl`, `submissions/`): the hand-made rows of
  `tests/fixtures/codeforces` (bad rows included) plus `EXTRA_PROBLEMS`, six easy problems
  with accepted programs in py, cpp, js and rb, so that every SFT mixture has data.

MultiPL-E is read from the shared benchmark files (`XLT_BENCHMARKS`), as at paper scale.
`xlt.run` calls `prepare` before the study when `scale=rehearsal`; every rank may call it,
a file lock lets one build and the others reuse. The build is deterministic.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

from filelock import FileLock

from xlt.paths import REPO_ROOT

FIXTURES = REPO_ROOT / "tests" / "fixtures" / "codeforces"
# fixture file -> where a local copy of the Hub keeps it (xlt.data.codeforces.load)
LAYOUT = {
    "problems_train.jsonl": "problems/train.jsonl",
    "problems_test.jsonl": "problems/test.jsonl",
    "submissions.jsonl": "submissions/part-0.jsonl",
}
# (title, statement, tests as (input, output), accepted programs by CodeForces language name)
EXTRA_PROBLEMS = [
    ("Product", "Print the product of two integers a and b.", [("2 3\n", "6\n"), ("-4 5\n", "-20\n")], {
        "Python 3": "a, b = map(int, input().split())\nprint(a * b)\n",
        "GNU C++17": "#include <iostream>\nint main() { long long a, b; std::cin >> a >> b; std::cout << a * b << std::endl; }\n",
        "Node.js 15.8.0": "const [a, b] = require('fs').readFileSync(0, 'utf8').trim().split(/\\s+/).map(Number);\nconsole.log(a * b);\n",
        "Ruby 3": "a, b = gets.split.map(&:to_i)\nputs a * b\n"}),
    ("Largest of Three", "Print the largest of three integers.", [("1 9 4\n", "9\n"), ("-1 -2 -3\n", "-1\n")], {
        "Python 3": "print(max(map(int, input().split())))\n",
        "GNU C++17": "#include <iostream>\n#include <algorithm>\nint main() { int a, b, c; std::cin >> a >> b >> c; std::cout << std::max({a, b, c}) << std::endl; }\n",
        "Node.js 15.8.0": "const xs = require('fs').readFileSync(0, 'utf8').trim().split(/\\s+/).map(Number);\nconsole.log(Math.max(...xs));\n",
        "Ruby 3": "puts gets.split.map(&:to_i).max\n"}),
    ("Vowel Count", "Print how many vowels (a, e, i, o, u) a lowercase word has.", [("hello\n", "2\n"), ("xyz\n", "0\n")], {
        "Python 3": "print(sum(c in 'aeiou' for c in input().strip()))\n",
        "GNU C++17": "#include <iostream>\n#include <string>\nint main() { std::string s; std::cin >> s; int n = 0; for (char c : s) n += std::string(\"aeiou\").find(c) != std::string::npos; std::cout << n << std::endl; }\n",
        "Node.js 15.8.0": "const s = require('fs').readFileSync(0, 'utf8').trim();\nconsole.log([...s].filter(c => 'aeiou'.includes(c)).length);\n",
        "Ruby 3": "puts gets.strip.count('aeiou')\n"}),
    ("Sum of a List", "The first line holds n, the second n integers. Print their sum.", [("3\n1 2 3\n", "6\n"), ("1\n-7\n", "-7\n")], {
        "Python 3": "input()\nprint(sum(map(int, input().split())))\n",
        "GNU C++17": "#include <iostream>\nint main() { int n; long long s = 0, x; std::cin >> n; while (n--) { std::cin >> x; s += x; } std::cout << s << std::endl; }\n",
        "Node.js 15.8.0": "const [n, ...xs] = require('fs').readFileSync(0, 'utf8').trim().split(/\\s+/).map(Number);\nconsole.log(xs.slice(0, n).reduce((a, b) => a + b, 0));\n",
        "Ruby 3": "gets\nputs gets.split.map(&:to_i).sum\n"}),
    ("Even or Odd", "Print EVEN if the integer n is even, else ODD.", [("4\n", "EVEN\n"), ("7\n", "ODD\n")], {
        "Python 3": "print('EVEN' if int(input()) % 2 == 0 else 'ODD')\n",
        "GNU C++17": "#include <iostream>\nint main() { long long n; std::cin >> n; std::cout << (n % 2 == 0 ? \"EVEN\" : \"ODD\") << std::endl; }\n",
        "Node.js 15.8.0": "const n = Number(require('fs').readFileSync(0, 'utf8').trim());\nconsole.log(n % 2 === 0 ? 'EVEN' : 'ODD');\n",
        "Ruby 3": "puts gets.to_i.even? ? 'EVEN' : 'ODD'\n"}),
    ("Distance", "Print the absolute difference of two integers a and b.", [("3 10\n", "7\n"), ("5 -5\n", "10\n")], {
        "Python 3": "a, b = map(int, input().split())\nprint(abs(a - b))\n",
        "GNU C++17": "#include <iostream>\n#include <cstdlib>\nint main() { long long a, b; std::cin >> a >> b; std::cout << std::llabs(a - b) << std::endl; }\n",
        "Node.js 15.8.0": "const [a, b] = require('fs').readFileSync(0, 'utf8').trim().split(/\\s+/).map(Number);\nconsole.log(Math.abs(a - b));\n",
        "Ruby 3": "a, b = gets.split.map(&:to_i)\nputs (a - b).abs\n"}),
]  # fmt: skip
READY = "READY"
MODEL_SHAPE = dict(hidden_size=64, num_layers=2, num_heads=4, intermediate_size=128)
VOCAB_SIZE = 768
MAX_SEQ_LEN = 2048
MODEL_SEED = 0


def prepare(root: str | Path) -> Path:
    """Build `root/model` and `root/codeforces` unless they are there; returns `root`."""
    root = Path(root)
    if (root / READY).is_file():
        return root
    root.mkdir(parents=True, exist_ok=True)
    with FileLock(str(root) + ".lock"):
        if not (root / READY).is_file():  # another rank may have built it while we waited
            _lay_out_codeforces(root / "codeforces")
            _build_model(root / "model")
            (root / READY).write_text(json.dumps({"model": MODEL_SHAPE, "vocab": VOCAB_SIZE}))
    return root


def _lay_out_codeforces(out: Path) -> None:
    for name, target in LAYOUT.items():
        (out / target).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(FIXTURES / name, out / target)
    problems, submissions = _extra_rows()
    _append_jsonl(out / LAYOUT["problems_train.jsonl"], problems)
    _append_jsonl(out / LAYOUT["submissions.jsonl"], submissions)


def _extra_rows() -> tuple[list[dict], list[dict]]:
    """`EXTRA_PROBLEMS` as rows of the two Hub tables (the fields xlt reads, Hub-typed)."""
    problems, submissions = [], []
    for number, (title, statement, tests, programs) in enumerate(EXTRA_PROBLEMS, start=101):
        contest, pid = str(number), f"{number}/A"
        cases = [{"input": given, "output": expected} for given, expected in tests]
        problems.append({
            "id": pid, "aliases": [], "contest_id": contest, "contest_name": f"Rehearsal {contest}",
            "contest_type": "CF", "contest_start": 1262390400, "contest_start_year": 2010,
            "index": "A", "time_limit": 1.0, "memory_limit": 256.0, "title": title,
            "description": statement, "input_format": "See the statement.",
            "output_format": "See the statement.", "interaction_format": None, "note": None,
            "examples": cases[:1], "editorial": None, "rating": 800, "tags": ["implementation"],
            "testset_size": len(cases), "official_tests": cases, "official_tests_complete": True,
            "input_mode": "stdio", "generated_checker": None, "executable": True,
            "generated_tests": 0,
        })  # fmt: skip
        for offset, (language, source) in enumerate(programs.items()):
            submissions.append({
                "submission_id": f"{number}{offset:02d}", "source": source, "contestId": contest,
                "problem_index": "A", "programmingLanguage": language, "verdict": "OK",
                "testset": "TESTS", "passedTestCount": float(len(cases)),
                "timeConsumedMillis": 15.0, "memoryConsumedBytes": 102400.0,
                "creationTimeSeconds": 1600000000.0 + number, "problem_id": pid,
            })  # fmt: skip
    return problems, submissions


def _append_jsonl(path: Path, rows: list[dict]) -> None:
    with path.open("a", encoding="utf-8") as handle:
        handle.write("\n" + "".join(json.dumps(row) + "\n" for row in rows))


def _training_texts() -> list[str]:
    """What the tokenizer learns its merges from: every decodable fixture row's text."""
    problems, submissions = _extra_rows()
    texts = [v for row in problems + submissions for v in row.values() if isinstance(v, str)]
    for name in LAYOUT:
        for raw in (FIXTURES / name).read_bytes().splitlines():
            try:
                row = json.loads(raw.decode("utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError):
                continue  # the fixtures hold deliberately broken rows
            texts.extend(v for v in row.values() if isinstance(v, str))
    return texts


def _build_model(out: Path) -> None:
    from xlt.models import build_llama3_style_tokenizer, build_tiny_model

    tokenizer = build_llama3_style_tokenizer(_training_texts(), VOCAB_SIZE)
    model = build_tiny_model(tokenizer, max_seq_len=MAX_SEQ_LEN, seed=MODEL_SEED, **MODEL_SHAPE)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("root", nargs="?", default="artifacts/rehearsal")
    print(prepare(parser.parse_args(argv).root))


if __name__ == "__main__":
    main()
