"""The strict judge (RL rewards): every hole MultiPL-E's own rules leave open passes a
WRONG solution with `judge="multipl-e"` (so the probe really exploits the hole) and fails
with `judge="strict"`; honest programs get the same verdict under both.

Each probe is a wrong `add` (returns 0), the benchmark's style of tests, and the hack
where a completion can put it. Python and JS run in the default suite; C++, Java and Go
(compilers: seconds each on this machine) under `slow`.
"""

import pytest

from tests.execution.conftest import require
from xlt.execution import Job
from xlt.execution import types as T
from xlt.execution.cache import cache_key

PY_TESTS = "\n\ndef check(candidate):\n    assert candidate(1, 2) == 3\n\ncheck(add)\n"
JS_TESTS = (
    '\nconst assert = require("node:assert");\n'
    "function test() {\n  const candidate = add;\n  assert.deepEqual(candidate(1, 2), 3);\n}\ntest();\n"
)
JS_CONSOLE_TESTS = "\nconsole.assert(add(1, 2) === 3);\n"  # HumanEval-X's style
CPP_HEAD = "#include <assert.h>\n#include <bits/stdc++.h>\nusing namespace std;\n"
CPP_TESTS = "\nint main() {\n    auto candidate = add;\n    assert(candidate(1, 2) == 3);\n}\n"
JAVA_HEAD = "import java.util.*;\n\nclass Problem {\n"
JAVA_TESTS = (
    "    public static void main(String[] args) {\n        assert(add(1, 2) == 3);\n    }\n}\n"
)
GO_HEAD = 'package add_test\n\nimport (\n    "os"\n    "testing"\n)\n\n'
GO_TESTS = (
    '\nfunc TestAdd(t *testing.T) {\n    if add(1, 2) != 3 {\n        t.Errorf("add(1, 2) != 3")\n'
    "    }\n}\n\nvar _ = os.Exit\n"
)


def _py(hack: str) -> str:
    return f"def add(a, b):\n    return 0\n{hack}{PY_TESTS}"


def _js(hack: str, tests: str = JS_TESTS) -> str:
    return f"function add(a, b) {{\n  return 0;\n}}\n{hack}{tests}"


def _cpp(hack: str, body: str = "return 0;") -> str:
    return f"{CPP_HEAD}long add(long a, long b) {{\n    {body}\n}}\n{hack}{CPP_TESTS}"


def _java(hack: str, body: str = "return 0;") -> str:
    return f"{JAVA_HEAD}    static long add(long a, long b) {{\n        {body}\n    }}\n{hack}{JAVA_TESTS}"


def _go(hack: str, body: str = "return 0") -> str:
    return f"{GO_HEAD}func add(a int, b int) int {{\n    {body}\n}}\n{hack}{GO_TESTS}"


# (language, hole) -> a wrong program that MultiPL-E's rules pass.
PROBES = {
    ("py", "exit_early"): _py("import sys\nsys.exit(0)\n"),
    ("py", "os_exit_early"): _py("import os\nos._exit(0)\n"),
    ("py", "atexit_hook"): _py("import atexit, os\natexit.register(lambda: os._exit(0))\n"),
    # The failure path is the helper a Python test leans on: report nothing, exit 0.
    ("py", "override_excepthook"): _py("import os, sys\nsys.excepthook = lambda *a: os._exit(0)\n"),
    ("js", "exit_early"): _js("process.exit(0);\n"),
    ("js", "exit_hook"): _js("process.on('uncaughtException', () => process.exit(0));\n"),
    ("js", "override_assert"): _js('require("node:assert").deepEqual = () => {};\n'),
    ("js", "override_console_assert"): _js("console.assert = () => {};\n", JS_CONSOLE_TESTS),
    ("js", "shadow_console"): _js("let console = { assert() {} };\n", JS_CONSOLE_TESTS),
    ("cpp", "exit_early"): _cpp("", "exit(0);"),
    ("cpp", "atexit_hook"): _cpp(
        "static int hook = (signal(SIGABRT, [](int) { _exit(0); }), 0);\n"
    ),
    ("cpp", "override_assert"): _cpp("#undef assert\n#define assert(x) ((void)0)\n"),
    ("cpp", "override_main"): _cpp("int main() { return 0; }\n#define main tests_main\n"),
    ("java", "exit_early"): _java("", "System.exit(0); return 0;"),
    ("java", "shutdown_hook"): _java(
        "    static { Runtime.getRuntime().addShutdownHook(new Thread(() -> Runtime.getRuntime().halt(0))); }\n"
    ),
    ("java", "override_uncaught_handler"): _java(
        "    static { Thread.setDefaultUncaughtExceptionHandler((t, e) -> Runtime.getRuntime().halt(0)); }\n"
    ),
    ("go", "exit_early"): _go("func init() { os.Exit(0) }\n"),
    # A TestMain of the completion's: the harness is the helper (no tests run, status 0).
    ("go", "override_testmain"): _go("func TestMain(m *testing.M) {}\n"),
    ("go", "exit_hook"): _go(
        "func TestMain(m *testing.M) {\n    os.Stdout, _ = os.Open(os.DevNull)\n    m.Run()\n    os.Exit(0)\n}\n"
    ),
}
HONEST = {  # right answers in the same shapes: strict must not fail them
    "py": "def add(a, b):\n    return a + b\n" + PY_TESTS,
    "js": "function add(a, b) {\n  return a + b;\n}\n" + JS_TESTS + JS_CONSOLE_TESTS,
    "cpp": _cpp("", "return a + b;"),
    "java": _java("", "return a + b;"),
    "go": _go("", "return a + b"),
}
FAST = ("py", "js")


def _marks(language: str) -> list:
    return [] if language in FAST else [pytest.mark.slow]


def _run_both(executor, language: str, program: str) -> tuple[T.Result, T.Result]:
    require(language)
    job = Job(language, program, id=language)
    [lenient] = executor.run([job])
    [strict] = executor.run([job], judge="strict")
    return lenient, strict


@pytest.mark.parametrize(
    "language,hole", [pytest.param(*k, marks=_marks(k[0]), id="-".join(k)) for k in PROBES]
)
def test_a_hole_that_multipl_e_rewards_fails_the_strict_judge(executor, language, hole):
    lenient, strict = _run_both(executor, language, PROBES[language, hole])
    assert lenient.status == T.OK, (lenient.status, lenient.stdout[-300:], lenient.stderr[-300:])
    assert strict.status != T.OK, (strict.status, strict.stdout[-300:], strict.stderr[-300:])


@pytest.mark.parametrize(
    "language", [pytest.param(k, marks=_marks(k), id=k) for k in HONEST]
)  # fmt: skip
def test_honest_programs_pass_both_judges_and_wrong_ones_fail_both(executor, language):
    lenient, strict = _run_both(executor, language, HONEST[language])
    assert (lenient.status, strict.status) == (T.OK, T.OK), (
        strict.stdout[-300:],
        strict.stderr[-300:],
    )
    assert strict.extra.get("judge") == "strict"
    assert "xlt-done-" not in strict.stdout + strict.stderr  # the spent marker is removed
    wrong = HONEST[language].replace("a + b", "a - b")
    assert [r.status == T.OK for r in _run_both(executor, language, wrong)] == [False, False]


def test_a_strict_verdict_is_cached_apart_and_never_served_to_the_other_judge(tmp_path):
    from xlt.execution import Executor

    hack = Job("py", PROBES["py", "exit_early"], id="hack")
    with Executor(workers=1, cache_dir=tmp_path) as ex:
        assert ex.run([hack])[0].status == T.OK  # cached as MultiPL-E's ok
        first = ex.run([hack], judge="strict")[0]
        again = ex.run([hack], judge="strict")[0]
        assert ex.run([hack])[0].extra.get("cached")
    assert first.status == again.status == T.RUNTIME_ERROR
    assert again.extra.get("cached")  # the strict verdict was stored under its own key
    assert cache_key(hack, {"judge": "strict"}) != cache_key(hack, {})


def test_an_unknown_judge_is_refused(executor):
    with pytest.raises(ValueError, match="judge must be one of"):
        executor.run([Job("py", "pass\n")], judge="lenient")


CANONICAL = [("humaneval-x", "py"), ("mbxp", "py"), ("humaneval-x", "js"), ("mbxp", "js"),
             ("humaneval-x", "cpp"), ("mbxp", "cpp"), ("humaneval-x", "java"), ("mbxp", "java"),
             ("humaneval-x", "go")]  # fmt: skip


@pytest.mark.parametrize(
    "benchmark,language", [pytest.param(*s, marks=_marks(s[1]), id="-".join(s)) for s in CANONICAL]
)
def test_benchmark_solutions_get_the_same_verdict_from_both_judges(executor, benchmark, language):
    # Real test harnesses (assert, console.assert, throw in main(argc, argv), testify):
    # the trailer must not break them. 4 per source for speed; 128 checked by hand (docs).
    from xlt.data import controls

    require(language)
    problems = controls.canonical_problems(benchmark, language)
    jobs = controls.good_jobs(problems[:: max(1, len(problems) // 4)][:4])
    lenient, strict = executor.run(jobs), executor.run(jobs, judge="strict")
    assert [r.status for r in strict] == [r.status for r in lenient]
    assert any(r.passed for r in strict)
