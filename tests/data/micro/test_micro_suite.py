"""Suite sampling, splits by composition, determinism, tests that reject near misses."""

import pytest

from xlt.data.micro import MICRO_LANGUAGES, build_suite, render_problem
from xlt.data.micro.programs import enumerate_programs
from xlt.data.micro.suite import SPLITS


@pytest.fixture(scope="module")
def suite():
    return build_suite(300, (0.6, 0.2, 0.2), seed=3)


def test_same_seed_same_suite(suite):
    again = build_suite(300, (0.6, 0.2, 0.2), seed=3)
    assert again == suite
    first = [
        render_problem(t, lang).to_dict() for t in suite.tasks[:20] for lang in MICRO_LANGUAGES
    ]
    second = [
        render_problem(t, lang).to_dict() for t in again.tasks[:20] for lang in MICRO_LANGUAGES
    ]
    assert first == second


def test_other_seed_other_suite(suite):
    other = build_suite(300, (0.6, 0.2, 0.2), seed=4)
    assert {t.task_id for t in other.tasks} != {t.task_id for t in suite.tasks}


def test_splits_are_disjoint_by_composition(suite):
    ids = {split: {t.task_id for t in suite.split(split)} for split in SPLITS}
    programs = {split: {t.program for t in suite.split(split)} for split in SPLITS}
    for i, a in enumerate(SPLITS):
        for b in SPLITS[i + 1 :]:
            assert not ids[a] & ids[b]
            assert not programs[a] & programs[b]
    assert sum(len(v) for v in ids.values()) == len(suite.tasks) == 300
    held = {t.program for t in suite.tasks}
    assert not held & set(suite.spare)
    assert held | set(suite.spare) == set(enumerate_programs())


def test_split_sizes_and_family_balance(suite):
    sizes = {split: len(suite.split(split)) for split in SPLITS}
    assert abs(sizes["train"] - 180) <= 9 and abs(sizes["eval"] - 60) <= 9
    families = {t.program.family for t in suite.tasks}
    for split in SPLITS:  # every family reaches training and evaluation
        assert {t.program.family for t in suite.split(split)} >= families - {
            f for f in families if sum(t.program.family == f for t in suite.tasks) < 3
        }


def test_eval_primitives_are_all_seen_in_training(suite):
    seen = {prim for t in suite.split("train") for prim in t.program.primitives}
    for split in ("rl", "eval"):
        for task in suite.split(split):
            assert set(task.program.primitives) <= seen, task.program.name


def test_tests_reject_the_mutant_and_constants(suite):
    for task in suite.tasks:
        assert task.mutant != task.program
        assert all(task.program(arg) == expected for arg, expected in task.cases)
        assert any(task.mutant(arg) != expected for arg, expected in task.cases)
        outputs = [expected for _, expected in task.cases]
        if task.program.return_type == "bool":
            assert len(set(map(bool, outputs))) == 2


def test_problem_records(suite):
    task = suite.split("eval")[0]
    for lang in MICRO_LANGUAGES:
        problem = render_problem(task, lang)
        assert problem.task == task.task_id and problem.language == lang
        assert problem.meta["split"] == "eval"
        assert problem.solution != problem.meta["wrong_solution"]
        program = problem.program(problem.solution)
        assert program.startswith(problem.prompt) and task.program.name in problem.prompt
        assert task.program.description() in problem.prompt


def test_solutions_survive_stop_tokens(suite):
    """A model that emits the canonical completion and then anything is cut right after it."""
    for task in suite.tasks[:60]:
        for lang in MICRO_LANGUAGES:
            problem = render_problem(task, lang)
            for text in (problem.solution, problem.meta["wrong_solution"]):
                assert not any(stop in text for stop in problem.stop_tokens), (lang, text)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"num_tasks": 10**6}, "num_tasks"),
        ({"num_tasks": 30, "split_fractions": (0.5, 0.5, 0.5)}, "split_fractions"),
        ({"num_tasks": 30, "num_tests": 1}, "num_tests"),
    ],
)
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        build_suite(**kwargs)


def test_unknown_language():
    task = build_suite(30, seed=0).tasks[0]
    with pytest.raises(ValueError, match="no renderer"):
        render_problem(task, "swift")
