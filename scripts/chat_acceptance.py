"""Issue 14's acceptance checks for the chat-answer rule, with the real tests and toolchains.

    python scripts/chat_acceptance.py                      # all three checks
    python scripts/chat_acceptance.py --check humaneval-x --languages py js

1. corpus: the hand-written chat answers (tests/eval/data) get their expected verdicts.
2. humaneval-x: canonical solutions wrapped as chat answers (a sentence of prose, then a
   fenced block with prompt + canonical solution + an example call) score the same pass@1
   as the same solutions in completion format, per language.
3. negatives: MultiPL-E empty and default-returning completions wrapped as chat answers
   (a sentence, then a fenced block with prompt + completion) pass nowhere.

Programs run through the execution engine with a fresh result cache (`--cache-dir` to
reuse one). Prints one line per language and exits 1 if a check fails.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from xlt.data.benchmarks import HUMANEVAL_X_LANGUAGES, load_humaneval_x, load_multipl_e  # noqa: E402
from xlt.data.controls import wrong_completion  # noqa: E402
from xlt.data.records import Problem  # noqa: E402
from xlt.eval.scoring import score  # noqa: E402
from xlt.generation.answers import entry_name  # noqa: E402
from xlt.languages import CI_LANGUAGES, get_language  # noqa: E402

# An example call after the solution, as chat answers often end; `{call}` is the first
# `>>>` example of the prompt (or the bare function name). The rule must drop it.
EXAMPLES = {
    "py": "\n\nprint({call})\n",
    "js": "\n\nconsole.log({call});\n",
    "cpp": "\n\nint main() {{\n    auto result = {call};\n    (void)result;\n    return 0;\n}}\n",
    "java": "\n\nclass Example {{\n    public static void main(String[] args) {{\n"
    "        System.out.println(new Solution().{call});\n    }}\n}}\n",
    "go": "\n\nfunc main() {{\n\tfmt.Println({call})\n}}\n",
    "rs": '\n\nfn main() {{\n    println!("{{:?}}", {call});\n}}\n',
}


def example_call(problem: Problem) -> str:
    entry = entry_name(problem)
    name = entry[0] if entry else "f"
    match = re.search(rf">>>\s*({re.escape(name)}\s*\(.*\))\s*$", problem.prompt, re.M)
    return match.group(1) if match else f"{name}()"


def wrap(code: str, language: str) -> str:
    tag = get_language(language).fence_tags[0]
    return f"Here is the complete solution.\n\n```{tag}\n{code.rstrip()}\n```\n"


def pass_at_1(results) -> float:
    return sum(r.c for r in results) / len(results)


def check_corpus(cache_dir: str) -> bool:
    from tests.eval.test_chat_answers import CORPUS, _verdicts

    got = _verdicts(CORPUS, Path(cache_dir))
    ok = True
    for language in CI_LANGUAGES:
        answers = [a for a in CORPUS if a.language == language]
        right = [a for a in answers if a.expect == "pass"]
        wrong = [a for a in answers if a.expect == "fail"]
        as_expected = sum(got[a.id].startswith(a.expect) for a in answers)
        wrong_passed = sum(got[a.id] == "pass" for a in wrong)
        print(f"corpus      {language:4} {as_expected}/{len(answers)} as expected "
              f"(right {len(right)}, wrong {len(wrong)}, wrong passing {wrong_passed})")  # fmt: skip
        ok &= as_expected == len(answers) and wrong_passed == 0
    return ok


def check_humaneval_x(languages: list[str], cache_dir: str) -> bool:
    ok = True
    for language in languages:
        problems = load_humaneval_x(language)
        completion = score([(p, [p.solution]) for p in problems], cache_dir=cache_dir)
        answers = [
            wrap(p.prompt + p.solution + EXAMPLES[language].format(call=example_call(p)), language)
            for p in problems
        ]
        items = [(p, [a]) for p, a in zip(problems, answers, strict=True)]
        chat = score(items, fmt="chat", cache_dir=cache_dir)
        differ = [c.name for c, r in zip(chat, completion, strict=True) if c.c != r.c]
        print(f"humaneval-x {language:4} completion pass@1 {pass_at_1(completion):.4f}  "
              f"chat pass@1 {pass_at_1(chat):.4f}  problems that differ: {differ}")  # fmt: skip
        ok &= not differ
    return ok


def check_negatives(languages: list[str], cache_dir: str, limit: int | None = None) -> bool:
    ok = True
    for language in languages:
        problems = load_multipl_e(None, language)[:limit]
        items = [
            (p, [wrap(p.prompt, language), wrap(p.prompt + wrong_completion(p), language)])
            for p in problems
        ]
        results = score(items, fmt="chat", cache_dir=cache_dir)
        passed = [r.name for r in results if r.c]
        print(f"negatives   {language:4} {2 * len(results)} wrapped empty/default answers, "
              f"passing: {len(passed)} {passed[:5]}")  # fmt: skip
        ok &= not passed
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", nargs="+", default=["corpus", "humaneval-x", "negatives"],
                        choices=["corpus", "humaneval-x", "negatives"])  # fmt: skip
    parser.add_argument("--languages", nargs="+", default=None)
    parser.add_argument("--cache-dir", default=None, help="default: a fresh temporary folder")
    args = parser.parse_args(argv)
    cache_dir = args.cache_dir or tempfile.mkdtemp(prefix="xlt-chat-acceptance-")
    ok = True
    if "corpus" in args.check:
        ok &= check_corpus(cache_dir)
    if "humaneval-x" in args.check:
        langs = [lang for lang in args.languages or HUMANEVAL_X_LANGUAGES]
        ok &= check_humaneval_x(
            [lang for lang in langs if lang in HUMANEVAL_X_LANGUAGES], cache_dir
        )
    if "negatives" in args.check:
        ok &= check_negatives(args.languages or list(CI_LANGUAGES), cache_dir)
    print("all checks hold" if ok else "A CHECK FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
