"""Known-good and known-bad programs from the real benchmarks, to check the runners.

- good: HumanEval-X / MBXP canonical solutions (`problem.program(problem.solution)`);
- wrong: the same prompts and tests with a solution that returns a default value
  (None, {}, 0, null...) and closes the function as the canonical one does: it
  compiles where the types allow, so the tests themselves must reject it;
- empty / wrong completions of MultiPL-E prompts.

Used by the slow test sweep, `python -m xlt.execution sweep` and the benchmark.
"""

from __future__ import annotations

import re

from xlt.data.benchmarks import load_humaneval_x, load_mbxp, load_multipl_e
from xlt.data.records import Problem
from xlt.execution.types import Job

# A body that returns a default value, per language; `None`: derived from the signature.
_DEFAULT_BODY = {
    "py": "    return None\n",
    "js": "  return undefined;\n",
    "ts": "  return undefined as any;\n",
    "cpp": "  return {};\n",
    "rs": "    return Default::default();\n",
    "php": "  return null;\n",
    "rb": "  return nil\n",
    "lua": "  return nil\n",
    "pl": "  return undef;\n",
    "sh": '  echo ""\n',
    "java": None,
    "go": None,
}
_CLOSER = {"py": "", "rb": "end", "lua": "end"}  # others: "}"
_JAVA_SIGNATURE = re.compile(r"([\w.<>\[\], ?]+?)\s+\w+\s*\([^)]*\)\s*(?:throws [\w., ]+)?\{\s*$")
_JAVA_DEFAULTS = {"int": "0", "long": "0L", "short": "0", "byte": "0", "boolean": "false",
                  "double": "0.0", "float": "0.0f", "char": "'a'", "void": ""}  # fmt: skip
_GO_SIGNATURE = re.compile(r"func\s+\w+\s*\([^{]*?\)\s*([^{]*?)\s*\{\s*$")


def _java_body(prompt: str) -> str:
    match = _JAVA_SIGNATURE.search(prompt.rstrip().splitlines()[-1] + "\n")
    kind = match.group(1).split()[-1] if match else "Object"
    return f"        return {_JAVA_DEFAULTS.get(kind, 'null')};\n"


def _go_body(prompt: str) -> str:
    match = _GO_SIGNATURE.search(prompt)
    kind = match.group(1).strip() if match else ""
    if not kind:
        return "    return\n"
    if kind.startswith("("):
        return '    panic("wrong")\n'
    return f"    var zero {kind}\n    return zero\n"


def default_body(language: str, prompt: str) -> str:
    body = _DEFAULT_BODY.get(language, "")
    if body is None:
        return _java_body(prompt) if language == "java" else _go_body(prompt)
    return body


def _closers(text: str, language: str) -> int:
    if language == "py":
        return 0
    if _CLOSER.get(language) == "end":
        return 1
    return max(0, text.count("}") - text.count("{"))


def wrong_solution(problem: Problem) -> str:
    """A default-returning body, closed like the canonical solution closes it."""
    closer = _CLOSER.get(problem.language, "}")
    count = _closers(problem.solution or "", problem.language)
    return default_body(problem.language, problem.prompt) + "".join(
        closer + "\n" for _ in range(count)
    )


def wrong_completion(problem: Problem) -> str:
    """For MultiPL-E: close the function only where the tests do not start by closing it."""
    closer = _CLOSER.get(problem.language, "}")
    closes = not closer or problem.tests.lstrip().startswith(closer)
    return default_body(problem.language, problem.prompt) + ("" if closes else closer + "\n")


_TS_IMPORT = re.compile(r"^import \* as (\w+) from '(\w+)'", re.MULTILINE)


def _mbxp_ts_fix(problem: Problem) -> Problem:
    """MBXP TS tests `import * as assert from 'assert'`, which `tsc --target esnext`
    (MultiPL-E's command) cannot type (no @types/node) and node cannot run as
    CommonJS; the MultiPL-E form `declare var require: any; const x = require(...)`
    does the same. (Belongs in the MBXP loader: reported to its owner.)"""
    tests = _TS_IMPORT.sub(r"declare var require: any;\nconst \1 = require('\2')", problem.tests)
    return Problem(**{**problem.__dict__, "tests": tests})


def canonical_problems(benchmark: str, language: str) -> list[Problem]:
    """Problems with a canonical solution and no known defect."""
    loader = {"humaneval-x": load_humaneval_x, "mbxp": load_mbxp}[benchmark]
    problems = [p for p in loader(language) if p.solution and "defect" not in p.meta]
    if benchmark == "mbxp" and language == "ts":
        problems = [_mbxp_ts_fix(p) for p in problems]
    return problems


def known_defects(benchmark: str, language: str) -> list[Problem]:
    loader = {"humaneval-x": load_humaneval_x, "mbxp": load_mbxp}[benchmark]
    return [p for p in loader(language) if p.solution and "defect" in p.meta]


def good_jobs(problems: list[Problem], tag: str = "") -> list[Job]:
    return [p.job(p.solution or "", id=f"{tag}{p.name}") for p in problems]


def wrong_jobs(problems: list[Problem], tag: str = "") -> list[Job]:
    return [p.job(wrong_solution(p), id=f"{tag}{p.name}") for p in problems]


def multipl_e_negative_jobs(language: str) -> tuple[list[Job], list[Job]]:
    """(empty completions, wrong completions) for MultiPL-E HumanEval in `language`."""
    problems = load_multipl_e(None, language)
    empty = [p.job("", id=f"empty:{p.name}") for p in problems]
    wrong = [p.job(wrong_completion(p), id=f"wrong:{p.name}") for p in problems]
    return empty, wrong
