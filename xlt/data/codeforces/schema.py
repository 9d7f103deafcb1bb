"""The exact Hub schemas of the two CodeForces datasets, and row checks against them.

Field names and types are copied from the dataset cards (`dataset_info.features`) of
`open-r1/codeforces` and `open-r1/codeforces-submissions` at the revisions pinned in
`conf/data/codeforces.yaml`; `docs/data.md` lists them with what each field means.
Local fixture files and local copies are read with these `datasets.Features`, so a
file that drifts from the Hub schema fails to load instead of loading differently.

A row check returns the reason a row cannot be used (a key of `Accounting`), or None.
"""

from __future__ import annotations

from typing import Any

from datasets import Features, List, Value

_TEST_CASE = {"input": Value("string"), "output": Value("string")}

# open-r1/codeforces, config "default" (splits train, test). `generated_tests` (the
# number of generated test cases, stored in separate files) exists from later revisions
# on; older revisions lack it, so it is the one optional field.
PROBLEM_FEATURES = Features(
    {
        "id": Value("string"),
        "aliases": List(Value("string")),
        "contest_id": Value("string"),
        "contest_name": Value("string"),
        "contest_type": Value("string"),
        "contest_start": Value("int64"),
        "contest_start_year": Value("int64"),
        "index": Value("string"),
        "time_limit": Value("float64"),
        "memory_limit": Value("float64"),
        "title": Value("string"),
        "description": Value("string"),
        "input_format": Value("string"),
        "output_format": Value("string"),
        "interaction_format": Value("string"),
        "note": Value("string"),
        "examples": List(_TEST_CASE),
        "editorial": Value("string"),
        "rating": Value("int64"),
        "tags": List(Value("string")),
        "testset_size": Value("int64"),
        "official_tests": List(_TEST_CASE),
        "official_tests_complete": Value("bool"),
        "input_mode": Value("string"),
        "generated_checker": Value("string"),
        "executable": Value("bool"),
        "generated_tests": Value("int64"),
    }
)
OPTIONAL_PROBLEM_FIELDS = frozenset({"generated_tests"})

# open-r1/codeforces-submissions, configs "default", "selected_accepted",
# "selected_incorrect" (one split, train). The counters are float64 on the Hub.
SUBMISSION_FEATURES = Features(
    {
        "submission_id": Value("string"),
        "source": Value("string"),
        "contestId": Value("string"),
        "problem_index": Value("string"),
        "programmingLanguage": Value("string"),
        "verdict": Value("string"),
        "testset": Value("string"),
        "passedTestCount": Value("float64"),
        "timeConsumedMillis": Value("float64"),
        "memoryConsumedBytes": Value("float64"),
        "creationTimeSeconds": Value("float64"),
        "problem_id": Value("string"),
    }
)

# Fields a row must carry, with a usable value, for xlt to use it at all.
REQUIRED_PROBLEM_FIELDS = ("id", "time_limit", "description", "official_tests")
REQUIRED_SUBMISSION_FIELDS = ("submission_id", "source", "programmingLanguage", "verdict")

# CodeForces' verdict string for an accepted submission.
ACCEPTED_VERDICT = "OK"


def features_for(kind: str) -> Features:
    """The Features of `kind` ("problems" or "submissions")."""
    if kind == "problems":
        return PROBLEM_FEATURES
    if kind == "submissions":
        return SUBMISSION_FEATURES
    raise ValueError(f"unknown CodeForces table {kind!r}: use 'problems' or 'submissions'")


def _has_bad_text(value: Any) -> bool:
    """True for text that did not survive decoding: U+FFFD replacement marks, lone surrogates, NUL."""
    if not isinstance(value, str):
        return False
    if "\ufffd" in value or "\x00" in value:
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates from a lossy JSON escape
        return True
    return False


def _type_error(row: dict[str, Any], features: Features, optional: frozenset[str]) -> str | None:
    for name, feature in features.items():
        if name not in row:
            if name in optional:
                continue
            return f"missing field {name!r}"
        value = row[name]
        if value is None:
            continue  # nullable on the Hub; required fields are checked separately
        if isinstance(feature, Value):
            if not _value_matches(value, feature.dtype):
                return f"field {name!r} is {type(value).__name__}, expected {feature.dtype}"
        elif not isinstance(value, list):
            return f"field {name!r} is {type(value).__name__}, expected a list"
    return None


def _value_matches(value: Any, dtype: str) -> bool:
    if dtype == "string":
        return isinstance(value, str)
    if dtype == "bool":
        return isinstance(value, bool)
    if dtype == "int64":
        return isinstance(value, int) and not isinstance(value, bool)
    if dtype == "float64":
        return isinstance(value, int | float) and not isinstance(value, bool)
    raise AssertionError(f"dtype {dtype} not in the CodeForces schemas")


def check_problem_row(row: dict[str, Any]) -> tuple[str, str] | None:
    """(reason, detail) if the problem row cannot become an `io` problem, else None."""
    error = _type_error(row, PROBLEM_FEATURES, OPTIONAL_PROBLEM_FIELDS)
    if error:
        return "schema_mismatch", error
    for name in REQUIRED_PROBLEM_FIELDS:
        if row.get(name) is None or row.get(name) in ("", []):
            return ("missing_tests" if name == "official_tests" else "schema_mismatch"), (
                f"{name} is empty"
            )
    texts = [row.get("title"), row.get("description"), row.get("input_format")]
    texts += [case.get("input") for case in row["official_tests"]]
    texts += [case.get("output") for case in row["official_tests"]]
    if any(_has_bad_text(text) for text in texts):
        return "undecodable_text", "statement or tests hold undecodable text"
    if any(
        case.get("input") is None or case.get("output") is None for case in row["official_tests"]
    ):
        return "missing_tests", "a test case lacks input or output"
    # Only plain stdin/stdout problems compared token-wise can be judged by `io` mode.
    if row.get("interaction_format"):
        return "unsupported_problem", "interactive problem"
    if row.get("input_mode") not in (None, "stdio"):
        return "unsupported_problem", f"input_mode {row.get('input_mode')!r}"
    if row.get("generated_checker"):
        return "unsupported_problem", "needs a custom checker (several correct outputs)"
    return None


def check_submission_row(row: dict[str, Any]) -> tuple[str, str] | None:
    """(reason, detail) if the submission row cannot be used as a candidate program, else None."""
    error = _type_error(row, SUBMISSION_FEATURES, frozenset())
    if error:
        return "schema_mismatch", error
    for name in REQUIRED_SUBMISSION_FIELDS:
        if row.get(name) is None or row.get(name) == "":
            return "schema_mismatch", f"{name} is empty"
    if not row.get("problem_id") and not (row.get("contestId") and row.get("problem_index")):
        return "schema_mismatch", "no problem_id and no contestId/problem_index"
    if _has_bad_text(row["source"]):
        return "undecodable_text", "source holds undecodable text"
    if row["verdict"] != ACCEPTED_VERDICT:
        return "not_accepted", f"verdict {row['verdict']!r}"
    return None


def submission_problem_id(row: dict[str, Any]) -> str:
    """The problem id a submission belongs to, in the problems table's `id` format ("1623/D")."""
    return row.get("problem_id") or f"{row['contestId']}/{row['problem_index']}"
