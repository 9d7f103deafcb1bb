"""Renderings: one table entry per language, MultiPL-E conventions, programs that run."""

import shutil

import pytest

from xlt.data.micro import MICRO_LANGUAGES, build_suite, render_problem
from xlt.data.micro.programs import Op, Program
from xlt.data.micro.render import SYNTAXES
from xlt.data.micro.render.base import render_op
from xlt.data.micro.suite import MicroTask


def _task(program, cases, mutant):
    return MicroTask(program, "eval", tuple((a, program(a)) for a in cases), mutant)


SUM_EVEN_TIMES3 = _task(
    Program("ints", "sum", Op("even"), (Op("mul", 3),)),
    [[], [1, 2, 4], [-2, 3]],
    Program("ints", "sum", Op("odd"), (Op("mul", 3),)),
)


def test_at_least_eight_languages_including_compiled():
    assert {"py", "js", "lua", "rb", "php", "pl"} <= set(MICRO_LANGUAGES)
    assert {"cpp", "go"} <= set(MICRO_LANGUAGES) and len(MICRO_LANGUAGES) >= 8
    for code, syntax in SYNTAXES.items():
        assert syntax.code == code and syntax.stop_tokens


def test_python_rendering_reads_like_multipl_e():
    problem = render_problem(SUM_EVEN_TIMES3, "py")
    assert problem.prompt == (
        "from typing import List\n\n"
        "def sum_nums_even_times_3(xs: List[int]) -> int:\n"
        '    """Return the sum of the numbers in xs that are even, each times 3."""\n'
    )
    assert problem.solution == (
        "    result = 0\n    for x in xs:\n        if x % 2 == 0:\n"
        "            result += x * 3\n    return result\n"
    )
    assert "assert candidate([1, 2, 4]) == 18" in problem.tests
    assert problem.stop_tokens == ("\ndef", "\n#", "\nif", "\nclass")


def test_brace_conventions():
    # C++ tests open with the function's closing brace, as in MultiPL-E; JS completions close it.
    cpp, js = render_problem(SUM_EVEN_TIMES3, "cpp"), render_problem(SUM_EVEN_TIMES3, "js")
    assert cpp.tests.startswith("}\n") and not cpp.solution.rstrip().endswith("\n}")
    assert js.solution.endswith("}\n") and js.tests.startswith("const assert")
    perl = render_problem(SUM_EVEN_TIMES3, "pl")
    assert "my($xs) = @_;" in perl.prompt and "$x % 2 == 0" in perl.solution


def test_integer_expressions_keep_precedence():
    syntax = SYNTAXES["py"]
    expr, prec = render_op(Op("add", 1), "x", syntax)
    expr, prec = render_op(Op("mul", 3), expr, syntax, prec)
    assert expr == "(x + 1) * 3"
    expr, prec = render_op(Op("neg"), "x", syntax)
    assert render_op(Op("neg"), expr, syntax, prec)[0] == "-(-x)"  # never `--x`
    value = Program("int", "value", None, (Op("sub", 2), Op("square")))
    assert "(x - 2) * (x - 2)" in render_problem(_task(value, [1, 5], value), "js").solution


def test_perl_booleans_are_one_and_empty_string():
    program = Program("ints", "any", Op("gt", 3))
    problem = render_problem(_task(program, [[5], [1]], Program("ints", "any", Op("gt", 4))), "pl")
    assert 'return "";' in problem.solution and "return 1;" in problem.solution
    assert '[1]),""))' in problem.tests


INTERPRETERS = {
    "py": "python3",
    "js": "node",
    "lua": "lua5.4",
    "rb": "ruby",
    "php": "php",
    "pl": "perl",
}


def test_canonical_passes_and_wrong_fails_through_the_engine(tmp_path):
    """A fast smoke check: one suite task per interpreted language (the full check is slow)."""
    from xlt.execution import execute

    langs = [lang for lang, tool in INTERPRETERS.items() if shutil.which(tool)]
    if not langs:
        pytest.skip("no interpreter installed")
    task = next(t for t in build_suite(30, seed=0).tasks if t.program.family == "ints/sum")
    problems = [render_problem(task, lang) for lang in langs]
    jobs = [p.job(p.solution, id=f"{p.language}/good") for p in problems]
    jobs += [p.job(p.meta["wrong_solution"], id=f"{p.language}/wrong") for p in problems]
    results = execute(jobs, cache_dir=tmp_path)  # a fresh cache: judge these programs now
    statuses = {r.id: r.status for r in results if r.status != "toolchain_missing"}
    for lang in langs:
        assert statuses.get(f"{lang}/good", "ok") == "ok", (lang, statuses)
        assert statuses.get(f"{lang}/wrong", "failed") != "ok", (lang, statuses)


def test_doc_examples_are_true_and_python_still_parses():
    suite = build_suite(60, seed=0, num_examples=2)
    for task in suite.tasks:
        assert len(task.examples) == 2
        assert all(task.program(arg) == out for arg, out in task.examples)
        problem = render_problem(task, "py")
        assert problem.prompt.count(">>> ") == 2
        compile(problem.program(problem.solution), problem.name, "exec")
    # the examples are drawn after the tests: asking for them changes no test
    assert [t.cases for t in suite.tasks] == [t.cases for t in build_suite(60, seed=0).tasks]
