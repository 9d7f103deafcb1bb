"""Benchmark loaders: MultiPL-E, HumanEval-X and MBXP as `xlt.data.records.Problem` lists.

Every loader returns problems whose `problem.program(completion)` is the whole
runnable program (`prompt + completion + "\\n" + tests`), so the execution engine
needs no benchmark-specific code. Where a benchmark's own harness adds set-up
around the prompt, that set-up is folded into `prompt` / `tests` here (one
table entry per language, documented next to it). `problem.solution` is the
benchmark's canonical completion where it has one, so
`problem.program(problem.solution)` is a known-good program.

    from xlt.data.benchmarks import load_benchmark
    problems = load_benchmark("humaneval-x", "go")   # reads xlt.paths.BENCHMARKS_DIR

`task` is the language-independent id (`HumanEval/0`, `MBPP/3`): it joins the
parallel versions of a problem across languages and across benchmarks.
Problems with a defect listed in `shared/benchmarks/README.md` carry
`meta["defect"]` with the reason.
"""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from xlt.data.records import Problem
from xlt.languages import LANGUAGES
from xlt.paths import BENCHMARKS_DIR

MULTIPL_E_HUB_ID = "nuprl/MultiPL-E"

# Names people type for a language that are not its MultiPL-E code (`Language.aliases`).
_ALIASES = {alias: code for code, lang in LANGUAGES.items() for alias in lang.aliases}

# Defects listed in shared/benchmarks/README.md, checked by running them.
KNOWN_DEFECTS: dict[tuple[str, str, str], str] = {
    ("multipl-e", "go", "HumanEval_87_get_row"): "tests do not compile",
    (
        "multipl-e",
        "js",
        "HumanEval_51_remove_vowels",
    ): "raw newline inside a string literal in the tests",
    ("multipl-e", "cpp", "HumanEval_137_compare_one"): "ambiguous constructor call in the tests",
    ("multipl-e", "ml", "HumanEval_68_pluck"): "unterminated string in the prompt comment",
    ("multipl-e", "ml", "HumanEval_142_sum_squares"): "unterminated string in the prompt comment",
    ("humaneval-x", "js", "JavaScript/112"): "canonical solution is wrong",
    ("humaneval-x", "js", "JavaScript/155"): "canonical solution is wrong",
    ("humaneval-x", "rs", "Rust/50"): "tests use the rand 0.4 API; Debian ships rand 0.8",
}


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def _unknown_language(benchmark: str, language: str, available: tuple[str, ...]) -> ValueError:
    hint = f" (did you mean {_ALIASES[language]!r}?)" if language in _ALIASES else ""
    return ValueError(
        f"{benchmark}: language {language!r} is not in this benchmark{hint}. "
        f"Available: {', '.join(available) or '(none found)'}"
    )


def _with_defect(benchmark: str, problem: Problem) -> Problem:
    reason = KNOWN_DEFECTS.get((benchmark, problem.language, problem.name))
    if reason is not None:
        problem.meta["defect"] = reason
    return problem


# --- MultiPL-E ------------------------------------------------------------------

_MULTIPL_E_FILE = re.compile(
    r"^(?P<dataset>[a-z]+)-(?P<language>[a-z]+)-(?P<variant>[a-z]+)\.jsonl(\.gz)?$"
)
_MULTIPL_E_TASK = re.compile(r"^(?P<prefix>[A-Za-z]+)_(?P<number>\d+)_")
_TASK_PREFIX = {"humaneval": "HumanEval", "mbpp": "MBPP"}


def _multipl_e_task(name: str) -> str:
    """`HumanEval_0_has_close_elements` -> `HumanEval/0` (MultiPL-E names embed the source id)."""
    match = _MULTIPL_E_TASK.match(name)
    if match is None:
        return name
    prefix = _TASK_PREFIX.get(match["prefix"].lower(), match["prefix"])
    return f"{prefix}/{int(match['number'])}"


def multipl_e_languages(
    root: str | Path, dataset: str = "humaneval", variant: str = "reworded"
) -> tuple[str, ...]:
    """The languages a local MultiPL-E folder holds files for."""
    found = []
    for path in Path(root).iterdir():
        match = _MULTIPL_E_FILE.match(path.name)
        if match and match["dataset"] == dataset and match["variant"] == variant:
            found.append(match["language"])
    return tuple(sorted(set(found)))


def _multipl_e_rows(
    path_or_hub: str | Path, language: str, revision: str | None, dataset: str, variant: str
) -> list[dict[str, Any]]:
    source = Path(path_or_hub)
    if source.is_file():
        return _read_jsonl(source)
    if source.is_dir():
        for suffix in (".jsonl.gz", ".jsonl"):
            path = source / f"{dataset}-{language}-{variant}{suffix}"
            if path.is_file():
                return _read_jsonl(path)
        raise _unknown_language(
            f"multipl-e ({source})", language, multipl_e_languages(source, dataset, variant)
        )
    if not re.fullmatch(r"[\w.-]+/[\w.-]+", str(path_or_hub)):
        raise ValueError(
            f"multipl-e: {str(path_or_hub)!r} is neither a local folder/file nor a Hub dataset id like {MULTIPL_E_HUB_ID!r}"
        )
    if revision is None:
        raise ValueError(
            f"multipl-e: loading {path_or_hub!r} from the Hub needs a pinned revision "
            "(a commit sha of the dataset repository): pass revision=..., e.g. eval.revision in the config"
        )
    import datasets  # deferred: only the Hub path needs it

    rows = datasets.load_dataset(
        str(path_or_hub), f"{dataset}-{language}", revision=revision, split="test"
    )
    return [dict(row) for row in rows]


def load_multipl_e(
    path_or_hub: str | Path | None,
    language: str,
    revision: str | None = None,
    *,
    dataset: str = "humaneval",
    variant: str = "reworded",
) -> list[Problem]:
    """MultiPL-E problems for one language.

    `path_or_hub`: a folder laid out like `shared/benchmarks/multipl-e-humaneval`
    (`<dataset>-<language>-<variant>.jsonl[.gz]`), one such file, or a Hub dataset
    id (`nuprl/MultiPL-E`, config `<dataset>-<language>`, `revision` required);
    None reads the local copy under `BENCHMARKS_DIR`. MultiPL-E has no canonical
    solutions: `solution` is None. Evaluation only (its license forbids training on it).
    """
    if path_or_hub is None:
        path_or_hub = BENCHMARKS_DIR / "multipl-e-humaneval"
    problems = []
    for row in _multipl_e_rows(path_or_hub, language, revision, dataset, variant):
        problem = Problem(
            name=row["name"],
            task=_multipl_e_task(row["name"]),
            language=language,  # the file's own field says e.g. "go_test.go"
            prompt=row["prompt"],
            tests=row["tests"],
            stop_tokens=tuple(row["stop_tokens"]),
            meta={"benchmark": "multipl-e", "dataset": dataset, "variant": variant},
        )
        problems.append(_with_defect("multipl-e", problem))
    return problems


# --- HumanEval-X ----------------------------------------------------------------
# Set-up per language, following the HumanEval-X harness (CodeGeeX
# codegeex/benchmark/execution.py) so that `prompt + solution + "\n" + test` runs
# under the same runner as MultiPL-E programs of that language.

_GO_IMPORT_BLOCK = re.compile(r"import\s*\(([^)]*)\)|import\s+(\"[^\"]+\")")
# A reference that keeps an import used whatever the completion does: Go rejects
# unused imports, and the prompt imports what the canonical solution needs.
_GO_KEEP_ALIVE = {
    "math": "math.Abs", "strings": "strings.Contains", "sort": "sort.Ints",
    "strconv": "strconv.Itoa", "fmt": "fmt.Sprint", "regexp": "regexp.MustCompile",
    "bytes": "bytes.Equal", "time": "time.Now", "crypto/md5": "md5.Sum",
    "math/rand": "rand.Intn",
}  # fmt: skip


def _go_imports(text: str) -> list[str]:
    packages = []
    for block, single in _GO_IMPORT_BLOCK.findall(text):
        packages += re.findall(r'"([^"]+)"', block or single)
    return packages


def _hx_go(row: dict[str, Any]) -> tuple[str, str]:
    """One merged import block: the harness's `test_setup` and the prompt's import
    may both import a package (Go/32), which Go rejects as a redeclaration."""
    # Some canonical solutions use a package their prompt does not import (Go/17, 20, 59,
    # 75); the HumanEval-X harness adds such packages, so do we (from the same list).
    used = [
        p
        for p in _GO_KEEP_ALIVE
        if re.search(rf"\b{p.split('/')[-1]}\.", row["canonical_solution"])
    ]
    packages = list(
        dict.fromkeys(_go_imports(row["test_setup"]) + _go_imports(row["import"]) + used)
    )
    header = "package main\n\nimport (\n" + "".join(f'    "{p}"\n' for p in packages) + ")\n"
    body = row["prompt"].replace(row["import"], "", 1) if row["import"] else row["prompt"]
    keep_alive = "".join(f"var _ = {_GO_KEEP_ALIVE[p]}\n" for p in packages if p in _GO_KEEP_ALIVE)
    return header + body, row["test"] + "\n" + keep_alive


_RUST_TEST_FN = re.compile(r"#\[test\](\s*(?://[^\n]*\n\s*)*)fn\s+(\w+)")
# Crates the HumanEval-X declarations import; kept only where the solution or
# tests use them, so that most programs build with plain rustc (no crates).
_RUST_CRATE_USES = {
    "use rand::Rng;": re.compile(r"\brand::"),
    "use regex::Regex;": re.compile(r"\bRegex\b"),
    "use md5;": re.compile(r"\bmd5::"),
}


def _hx_rust(row: dict[str, Any]) -> tuple[str, str]:
    """The `#[cfg(test)]` module becomes plain functions called from `main`, so
    the program runs like a MultiPL-E Rust program (compile, run, exit status)."""
    used = row["canonical_solution"] + row["test"]
    declaration = row["declaration"]
    for line, pattern in _RUST_CRATE_USES.items():
        if not pattern.search(used):
            declaration = declaration.replace(line + "\n", "")
    names = [name for _, name in _RUST_TEST_FN.findall(row["test"])]
    if not names:
        raise ValueError(
            f"humaneval-x rust {row['task_id']}: no #[test] function found in its tests"
        )
    tests = _RUST_TEST_FN.sub(r"\1pub fn \2", row["test"].replace("#[cfg(test)]", ""))
    main = "\nfn main() {\n" + "".join(f"    tests::{name}();\n" for name in names) + "}\n"
    return row["prompt"] + declaration, tests + main


def _hx_cpp(row: dict[str, Any]) -> tuple[str, str]:
    """Headers the declaration includes but the prompt lacks (e.g. <algorithm>)."""
    missing = [
        line
        for line in row["declaration"].splitlines()
        if line.startswith("#include") and line not in row["prompt"]
    ]
    return "".join(line + "\n" for line in missing) + row["prompt"], row["test"]


# console.assert never changes the exit status; make a failed assertion throw.
_JS_ASSERT_THROWS = 'console.assert = (ok, ...msg) => { if (!ok) { throw new Error("Assertion failed: " + msg.join(" ")); } };\n'


def _hx_js(row: dict[str, Any]) -> tuple[str, str]:
    return row["prompt"], _JS_ASSERT_THROWS + row["test"]


def _hx_plain(row: dict[str, Any]) -> tuple[str, str]:
    return row["prompt"], row["test"]


@dataclass(frozen=True)
class _HumanEvalXLanguage:
    file: str
    assemble: Callable[[dict[str, Any]], tuple[str, str]]  # row -> (prompt, tests)


HUMANEVAL_X_LANGUAGES: dict[str, _HumanEvalXLanguage] = {
    "cpp": _HumanEvalXLanguage("humaneval_cpp.jsonl.gz", _hx_cpp),
    "go": _HumanEvalXLanguage("humaneval_go.jsonl.gz", _hx_go),
    "java": _HumanEvalXLanguage("humaneval_java.jsonl.gz", _hx_plain),
    "js": _HumanEvalXLanguage("humaneval_js.jsonl.gz", _hx_js),
    "py": _HumanEvalXLanguage("humaneval_python.jsonl.gz", _hx_plain),
    "rs": _HumanEvalXLanguage("humaneval_rust.jsonl.gz", _hx_rust),
}


def load_humaneval_x(language: str, root: str | Path | None = None) -> list[Problem]:
    """HumanEval-X (164 problems) in cpp, go, java, js, py or rs, canonical solutions included."""
    if language not in HUMANEVAL_X_LANGUAGES:
        raise _unknown_language("humaneval-x", language, tuple(HUMANEVAL_X_LANGUAGES))
    spec = HUMANEVAL_X_LANGUAGES[language]
    root = Path(root) if root is not None else BENCHMARKS_DIR / "humaneval-x"
    problems = []
    for row in _read_jsonl(root / spec.file):
        prompt, tests = spec.assemble(row)
        problem = Problem(
            name=row["task_id"],
            task="HumanEval/" + row["task_id"].split("/")[1],
            language=language,
            prompt=prompt,
            tests=tests,
            solution=row["canonical_solution"],
            description=(row.get("text") or row.get("docstring") or "").strip(),
            meta={"benchmark": "humaneval-x"},
        )
        problems.append(_with_defect("humaneval-x", problem))
    return problems


# --- MBXP -----------------------------------------------------------------------


def _mbxp_python(row: dict[str, Any]) -> tuple[str, str]:
    """MBXP's Python tests define `check(candidate)` and leave the call to the harness."""
    return row["prompt"], row["test"] + f"\ncheck({row['entry_point']})\n"


def _mbxp_go(row: dict[str, Any]) -> tuple[str, str]:
    """MBXP Go programs are `package main` with a `main()` that panics on failure;
    xlt's Go runner (like MultiPL-E's) uses `go test`, so main() runs inside a test."""
    if not row["prompt"].startswith("package main\n"):
        raise ValueError(
            f"mbxp go {row['task_id']}: expected the prompt to start with 'package main'"
        )
    prompt = row["prompt"].replace("package main\n", 'package main\n\nimport "testing"\n', 1)
    return prompt, row["test"] + "\nfunc TestMBXP(t *testing.T) { main() }\n"


_TS_IMPORT = re.compile(r"^import \* as (\w+) from '(\w+)'", re.MULTILINE)


def _mbxp_ts(row: dict[str, Any]) -> tuple[str, str]:
    """MBXP's TS tests `import * as assert from 'assert'`, which `tsc --target esnext`
    (MultiPL-E's command) cannot type (no @types/node) and node cannot run as CommonJS;
    the MultiPL-E form `declare var require: any; const x = require(...)` does the same."""
    tests = _TS_IMPORT.sub(r"declare var require: any;\nconst \1 = require('\2')", row["test"])
    return row["prompt"], tests


@dataclass(frozen=True)
class _MbxpLanguage:
    prefix: str  # file name prefix: <prefix>_release_v<version>.jsonl.gz
    assemble: Callable[[dict[str, Any]], tuple[str, str]] = _hx_plain


# Kotlin (mbkp) is left out: it is not one of xlt's languages.
MBXP_LANGUAGES: dict[str, _MbxpLanguage] = {
    "cpp": _MbxpLanguage("mbcpp"),
    "cs": _MbxpLanguage("mbcsp"),
    "go": _MbxpLanguage("mbgp", _mbxp_go),
    "java": _MbxpLanguage("mbjp"),
    "js": _MbxpLanguage("mbjsp"),
    "php": _MbxpLanguage("mbphp"),
    "pl": _MbxpLanguage("mbplp"),
    "py": _MbxpLanguage("mbpp", _mbxp_python),
    "rb": _MbxpLanguage("mbrbp"),
    "scala": _MbxpLanguage("mbscp"),
    "swift": _MbxpLanguage("mbswp"),
    "ts": _MbxpLanguage("mbtsp", _mbxp_ts),
}


def _mbxp_file(root: Path, prefix: str) -> Path:
    candidates = sorted(root.glob(f"{prefix}_release_v*.jsonl*"))
    if not candidates:
        raise FileNotFoundError(f"mbxp: no {prefix}_release_v*.jsonl[.gz] under {root}")
    return candidates[-1]  # the newest release


def load_mbxp(language: str, root: str | Path | None = None) -> list[Problem]:
    """MBXP problems for one language; `solution` is None where the release has none
    (go, pl, scala, swift have none). MBXP overlaps MBPP: never train on one and test on the other."""
    if language not in MBXP_LANGUAGES:
        raise _unknown_language("mbxp", language, tuple(MBXP_LANGUAGES))
    spec = MBXP_LANGUAGES[language]
    root = Path(root) if root is not None else BENCHMARKS_DIR / "mbxp"
    problems = []
    for row in _read_jsonl(_mbxp_file(root, spec.prefix)):
        prompt, tests = spec.assemble(row)
        problem = Problem(
            name=row["task_id"],
            task="MBPP/" + row["task_id"].split("/")[1],
            language=language,
            prompt=prompt,
            tests=tests,
            solution=row.get("canonical_solution") or None,
            description=(row.get("description") or "").strip(),
            meta={"benchmark": "mbxp", "entry_point": row["entry_point"]},
        )
        problems.append(_with_defect("mbxp", problem))
    return problems


# --- the micro suite (a data stage's split file) -----------------------------------

MICRO_SPLIT_FILE = "eval.jsonl"


def micro_languages(root: str | Path | None) -> tuple[str, ...]:
    return tuple(sorted({p.language for p in _read_micro(root)}))


def _read_micro(root: str | Path | None) -> list[Problem]:
    if root is None:
        raise ValueError(
            "micro: give the data stage's folder (it holds eval.jsonl), e.g. "
            "artifacts/data/<key>; the micro suite is generated, not stored under BENCHMARKS_DIR"
        )
    path = Path(root)
    path = path / MICRO_SPLIT_FILE if path.is_dir() else path
    return [Problem.from_dict(row) for row in _read_jsonl(path)]


def load_micro(language: str, root: str | Path | None) -> list[Problem]:
    """The micro suite's problems in one language from a data stage folder (`eval.jsonl`) or a
    JSONL of `Problem.to_dict()` records; solutions included where the suite wrote them."""
    problems = _read_micro(root)
    chosen = [p for p in problems if p.language == language]
    if not chosen:
        raise _unknown_language(
            f"micro ({root})", language, tuple(sorted({p.language for p in problems}))
        )
    return chosen


# --- Registry -------------------------------------------------------------------


@dataclass(frozen=True)
class Benchmark:
    name: str
    # (language, root or Hub id or None, revision) -> problems
    load: Callable[[str, str | Path | None, str | None], list[Problem]]
    # root or None -> the languages it has
    languages: Callable[[str | Path | None], tuple[str, ...]]


def _multipl_e_available(root: str | Path | None) -> tuple[str, ...]:
    root = Path(root) if root is not None else BENCHMARKS_DIR / "multipl-e-humaneval"
    return multipl_e_languages(root) if root.is_dir() else ()


BENCHMARKS: dict[str, Benchmark] = {
    "multipl-e": Benchmark(
        "multipl-e",
        lambda language, root, revision: load_multipl_e(root, language, revision),
        _multipl_e_available,
    ),
    "humaneval-x": Benchmark(
        "humaneval-x",
        lambda language, root, revision: load_humaneval_x(language, root),
        lambda root: tuple(HUMANEVAL_X_LANGUAGES),
    ),
    "mbxp": Benchmark(
        "mbxp",
        lambda language, root, revision: load_mbxp(language, root),
        lambda root: tuple(MBXP_LANGUAGES),
    ),
    "micro": Benchmark(
        "micro",
        lambda language, root, revision: load_micro(language, root),
        micro_languages,
    ),
}


def get_benchmark(name: str) -> Benchmark:
    if name not in BENCHMARKS:
        raise ValueError(f"unknown benchmark {name!r}. Use one of: {', '.join(BENCHMARKS)}")
    return BENCHMARKS[name]


def load_benchmark(
    name: str, language: str, *, root: str | Path | None = None, revision: str | None = None
) -> list[Problem]:
    """Problems of benchmark `name` in `language`; `root` is a local folder (or, for
    multipl-e, a Hub id with `revision`); None reads `BENCHMARKS_DIR`."""
    return get_benchmark(name).load(language, root, revision)
