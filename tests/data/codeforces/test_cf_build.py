"""The whole streaming build on the fixture tables, verified by the execution engine."""

from __future__ import annotations

import json

import pytest

from xlt.data.codeforces.build import ARTIFACT_FILES
from xlt.data.records import Problem

from .conftest import LANGUAGES


def _read(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_artifact_files_are_written(built):
    out, manifest = built
    for name in ARTIFACT_FILES + ("provenance.jsonl", "rl_oracle.jsonl", "decontamination.json"):
        assert (out / name).is_file(), name
    assert json.loads((out / "manifest.json").read_text()) == manifest
    assert not (out / "work" / "spill.sqlite").exists()


def test_every_row_is_used_or_counted_by_reason(built):
    _, manifest = built
    accounting = manifest["accounting"]
    train = accounting["train_problems"]
    assert train["dropped"] == {
        "bad_json": 1,
        "decontaminated": 1,  # 6/F copies HumanEval_0's docstring
        "missing_tests": 1,
        "over_max_rating": 1,
        "same_as_eval_problem": 1,  # 10/A is an alias of eval problem 9/A
        "schema_mismatch": 1,
        "undecodable_text": 2,  # a replacement character, and invalid UTF-8 bytes
        "unsupported_problem": 2,  # interactive, custom checker
    }
    assert train["used"] == 3 and train["read"] == 3 + sum(train["dropped"].values())
    submissions = accounting["submissions"]
    assert submissions["dropped"] == {
        "language_not_selected": 1,  # C++ is not among the test languages
        "not_accepted": 1,
        "over_candidate_cap": 1,
        "problem_not_in_training_set": 3,  # decontaminated, eval, nonexistent
        "schema_mismatch": 1,
        "undecodable_text": 2,
        "unknown_language": 1,
        "unsupported_language": 2,  # Kotlin, Python 2
    }
    assert submissions["used"] == 7
    assert submissions["read"] == 7 + sum(submissions["dropped"].values())
    assert "6/F" in train["examples"]["decontaminated"][0]


def test_verification_drops_the_wrong_submission_and_keeps_translations(built):
    out, manifest = built
    parallel = {(r["task"], r["language"]): r["program"] for r in _read(out / "parallel.jsonl")}
    assert set(parallel) == {
        ("cf/1/A", "py"),
        ("cf/1/A", "js"),
        ("cf/1/A", "rb"),
        ("cf/2/B", "py"),
        ("cf/2/B", "js"),
        ("cf/3/C", "py"),
        ("cf/3/C", "js"),  # translated, second candidate
    }
    assert "a - b" not in parallel["cf/1/A", "py"]  # the accepted-but-wrong submission is gone
    origins = {(r["task"], r["language"]): r["origin"] for r in _read(out / "provenance.jsonl")}
    assert origins["cf/3/C", "js"] == "translated" and origins["cf/1/A", "py"] == "harvested"
    metrics = manifest["parallel"]
    assert metrics["data/harvested/py/yield"] == 3 / 4
    assert metrics["data/translated/js/yield"] == 1 / 2
    assert metrics["data/translated/rb/yield"] == 0.0
    assert metrics["data/coverage/rb"] == pytest.approx(1 / 3)


def test_held_out_languages_stay_out_of_sft_and_rl(built):
    out, manifest = built
    sft = _read(out / "sft.jsonl")
    assert {r["language"] for r in sft} == {"py", "js"}
    assert set(sft[0]) == {"prompt", "response", "language", "task", "source"}
    assert sft[0]["response"].startswith("```python\n")
    rl = [Problem.from_dict(r) for r in _read(out / "rl.jsonl")]
    oracle = [Problem.from_dict(r) for r in _read(out / "rl_oracle.jsonl")]
    assert {p.language for p in rl} == {"py", "js"}
    assert {p.language for p in oracle} == {"rb"}
    assert manifest["counts"]["tokens"]["py"] > 0


def test_rl_and_eval_problems_scale_time_limits_per_language(built):
    out, _ = built
    rl = {(p["task"], p["language"]): Problem.from_dict(p) for p in _read(out / "rl.jsonl")}
    assert {task for task, _ in rl} == {"cf/1/A", "cf/2/B", "cf/3/C"}
    py, js = rl["cf/1/A", "py"], rl["cf/1/A", "js"]
    assert py.mode == "io" and len(py.cases) == 3
    assert py.meta["timeout_s"] == 5.0 and js.meta["timeout_s"] == 3.0  # 1 s limit x factor
    assert py.job("print(3)").timeout_s is None  # the caller passes meta["timeout_s"] explicitly
    assert "Python program" in py.prompt and "JavaScript program" in js.prompt
    evals = [Problem.from_dict(p) for p in _read(out / "eval.jsonl")]
    assert {(p.task, p.language) for p in evals} == {("cf/9/A", lang) for lang in LANGUAGES}


def test_decontamination_report_lists_the_drop(built):
    out, manifest = built
    report = json.loads((out / "decontamination.json").read_text())
    assert report["drops"][0]["id"] == "6/F" and report["drops"][0]["reason"] == "ngram_overlap"
    assert report["reference_texts"]["codeforces-eval"] == 1
    assert manifest["decontamination"]["dropped"] == {"ngram_overlap": 1}
