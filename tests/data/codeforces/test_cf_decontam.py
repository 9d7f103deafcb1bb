"""Decontamination against the real benchmark files (read in place from shared/benchmarks)."""

from __future__ import annotations

import pytest

from xlt.data.codeforces.decontam import Decontaminator, benchmark_files, ngrams
from xlt.paths import BENCHMARKS_DIR

MULTIPLE_PY = BENCHMARKS_DIR / "multipl-e-humaneval" / "humaneval-py-reworded.jsonl.gz"


@pytest.fixture(scope="module")
def decontaminator() -> Decontaminator:
    if not MULTIPLE_PY.exists():
        pytest.skip(f"benchmark file missing: {MULTIPLE_PY}")
    d = Decontaminator(n=13)
    d.add_benchmark_file(MULTIPLE_PY)
    return d


def test_ngrams_are_word_level_and_case_blind():
    assert ngrams("A b, C", 2) == ngrams("a B c", 2)
    assert len(ngrams("one two three", 2)) == 2
    assert ngrams("too short", 3) == set()


def test_statement_copying_a_humaneval_docstring_is_dropped(decontaminator):
    statement = (
        "Check if in given list of numbers, are any two numbers closer to each other than "
        "given threshold. Print YES or NO."
    )
    drop = decontaminator.check("6/F", [statement])
    assert drop["reason"] == "ngram_overlap"
    assert "HumanEval_0_has_close_elements" in drop["matched"]


def test_statement_naming_a_humaneval_problem_is_dropped(decontaminator):
    drop = decontaminator.check("x", ["Implement separate_paren_groups for the input."])
    assert drop == {
        "id": "x",
        "reason": "benchmark_name",
        "matched": "separate_paren_groups (humaneval-py-reworded.jsonl.gz:HumanEval_1_separate_paren_groups)",
    }


def test_clean_statements_and_common_words_pass(decontaminator):
    # "add" and "fib" are HumanEval entry points too, but not distinctive enough to match.
    assert (
        decontaminator.check("1/A", ["Petya has two integers a and b; add them and print the sum."])
        is None
    )
    assert decontaminator.check("2/B", ["Print the n-th fib number modulo 10^9+7."]) is None


def test_report_counts_what_was_dropped(decontaminator):
    report = decontaminator.report()
    assert report["reference_texts"] == {"humaneval-py-reworded.jsonl.gz": 161}
    assert report["distinctive_names"] > 100
    assert report["dropped"]["ngram_overlap"] >= 1
    assert {d["id"] for d in report["drops"]} >= {"6/F", "x"}


def test_benchmark_globs_that_match_nothing_say_how_to_fix(tmp_path):
    with pytest.raises(ValueError, match="XLT_BENCHMARKS"):
        benchmark_files(tmp_path, ["multipl-e-humaneval/*.jsonl.gz"])
