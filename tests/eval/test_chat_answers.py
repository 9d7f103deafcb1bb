"""Chat answers -> programs, judged by the real MultiPL-E tests and the real execution engine.

The corpus (`data/chat_answers_*.txt`) is hand-written: right answers with blank lines and
column-0 comments in bodies, helpers before and after, example calls, `main`s, prose,
several blocks, untagged, unclosed and CRLF fences; and wrong answers that try to pass by
exiting early or redefining the tests' helpers. Each record carries the verdict its code
deserves; only the real tests and toolchains decide whether the rule delivers it.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path

import pytest

from xlt.data.benchmarks import load_multipl_e
from xlt.data.records import Problem
from xlt.eval.scoring import program_for
from xlt.languages import CI_LANGUAGES, get_language

DATA = Path(__file__).parent / "data"
_HEADER = re.compile(r"^@@@@ (\S+) (\S+) (\S+) (pass|fail)( crlf)?$", re.M)
# Interpreted languages run in well under a second each: they stay in the default suite.
FAST = ("py", "js", "sh", "pl", "lua", "php", "rb")


@dataclass(frozen=True)
class Answer:
    id: str
    language: str
    problem: str
    expect: str  # "pass" or "fail"
    text: str


def load_corpus() -> list[Answer]:
    answers = []
    for path in sorted(DATA.glob("chat_answers_*.txt")):
        text = path.read_text(encoding="utf-8")
        headers = list(_HEADER.finditer(text))
        for header, following in zip(headers, [*headers[1:], None], strict=True):
            body = text[header.end() + 1 : following.start() if following else len(text)]
            if header[5]:
                body = body.replace("\n", "\r\n")
            answers.append(Answer(header[1], header[2], header[3], header[4], body))
    return answers


CORPUS = load_corpus()


@cache
def problem(language: str, name: str) -> Problem:
    return next(p for p in load_multipl_e(None, language) if p.name == name)


def test_corpus_covers_what_the_issue_asks():
    assert len(CORPUS) >= 80
    assert len({a.id for a in CORPUS}) == len(CORPUS), "answer ids are unique"
    assert set(Counter(a.language for a in CORPUS)) == set(CI_LANGUAGES)
    assert all(count >= 6 for count in Counter(a.language for a in CORPUS).values())
    wrong = [a for a in CORPUS if a.expect == "fail"]
    assert len(wrong) >= 2 * len(CI_LANGUAGES), "at least two wrong answers per language"
    for needle in ("\r\n", "```\n", "column-0 comment", "main"):
        assert any(needle in a.text for a in CORPUS), needle


@pytest.mark.parametrize("answer", CORPUS, ids=lambda a: a.id)
def test_program_keeps_the_tests_and_drops_example_code(answer):
    """Without running anything: the tests are appended intact (minus the brace that closed
    the prompt's function), and the answer's own example calls are gone."""
    p = problem(answer.language, answer.problem)
    program = program_for(p, answer.text, "chat")
    closer = get_language(answer.language).chat.tests_open_with
    tests = p.tests.lstrip("\n")
    tests = tests[len(closer) :] if closer and tests.startswith(closer) else tests
    assert tests in program
    assert "\r" not in program
    for example in ("print(add(2, 3))", "console.log(add(2, 3))", "puts add(2, 3)", "add 2 3\n"):
        assert example not in program


def _verdicts(answers: list[Answer], tmp_path: Path) -> dict[str, str]:
    from xlt.execution import execute

    jobs = []
    for answer in answers:
        p = problem(answer.language, answer.problem)
        job = p.job("", id=answer.id)
        jobs.append(replace(job, program=program_for(p, answer.text, "chat")))
    # A private cache: verdicts cached by other runs on this machine cannot leak in.
    results = execute(jobs, cache_dir=str(tmp_path / "cache"))
    return {r.id: ("pass" if r.passed else f"fail ({r.status})") for r in results}


def _check(answers: list[Answer], tmp_path: Path) -> None:
    got = _verdicts(answers, tmp_path)
    wrong_passed = [a.id for a in answers if a.expect == "fail" and got[a.id] == "pass"]
    assert not wrong_passed, f"wrong answers passed: {wrong_passed}"
    mismatches = {a.id: got[a.id] for a in answers if not got[a.id].startswith(a.expect)}
    assert not mismatches, mismatches


def test_interpreted_languages_get_the_expected_verdicts(tmp_path):
    _check([a for a in CORPUS if a.language in FAST], tmp_path)


@pytest.mark.slow
def test_compiled_languages_get_the_expected_verdicts(tmp_path):
    _check([a for a in CORPUS if a.language not in FAST], tmp_path)


# --- issue 14's acceptance on whole benchmarks (scripts/chat_acceptance.py prints the numbers)


@pytest.mark.parametrize(
    "language",
    ["py", "js"]  # interpreted: all 164 problems in seconds
    + [pytest.param(lang, marks=pytest.mark.slow) for lang in ("cpp", "java", "go", "rs")],
)
def test_humaneval_x_canonical_solutions_score_the_same_as_chat_answers(tmp_path, language):
    from scripts.chat_acceptance import check_humaneval_x

    assert check_humaneval_x([language], str(tmp_path / "cache"))


@pytest.mark.parametrize(
    "language",
    [pytest.param(lang, marks=pytest.mark.slow) for lang in CI_LANGUAGES],
)
def test_multipl_e_empty_and_default_answers_wrapped_as_chat_never_pass(tmp_path, language):
    from scripts.chat_acceptance import check_negatives

    assert check_negatives([language], str(tmp_path / "cache"))


def test_a_sample_of_wrapped_negatives_never_passes(tmp_path):
    """The default suite's share of the check above: 15 problems per interpreted language."""
    from scripts.chat_acceptance import check_negatives

    assert check_negatives(list(FAST), str(tmp_path / "cache"), limit=15)
