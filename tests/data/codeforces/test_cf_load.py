"""Loading the fixture tables: exact Hub schemas, local JSONL and Parquet, malformed-row accounting."""

from __future__ import annotations

import pytest

from xlt.data.codeforces import schema
from xlt.data.codeforces.accounting import Accounting
from xlt.data.codeforces.load import TableSource, iter_table

from .conftest import FIXTURES


def _rows(path, table="t"):
    accounting = Accounting()
    rows = list(iter_table(TableSource(str(path)), accounting, table))
    return rows, accounting


def test_fixture_rows_have_the_exact_hub_schema(tmp_path):
    """Every parsable fixture row casts to the card's Features, and reads back identically from Parquet."""
    import datasets

    for name, features in (
        ("problems_train.jsonl", schema.PROBLEM_FEATURES),
        ("problems_test.jsonl", schema.PROBLEM_FEATURES),
        ("submissions.jsonl", schema.SUBMISSION_FEATURES),
    ):
        rows, _ = _rows(FIXTURES / name)
        # Rows that are malformed on purpose (wrong type, missing field) are exactly those the
        # row check rejects as schema_mismatch; all others must fit the Hub Features.
        check = schema.check_submission_row if "submissions" in name else schema.check_problem_row
        good = [r for r in rows if (check(r) or ("",))[0] != "schema_mismatch"]
        assert len(good) >= len(rows) - 1
        table = datasets.Dataset.from_list(good, features=features)
        assert table.features == features
        parquet = tmp_path / name.replace(".jsonl", ".parquet")
        table.to_parquet(str(parquet))
        back, accounting = _rows(parquet, "parquet")  # the `datasets` streaming path
        assert accounting.read["parquet"] == len(good)
        assert [r["id" if "problems" in name else "submission_id"] for r in back] == [
            r["id" if "problems" in name else "submission_id"] for r in good
        ]
        assert back[0] == table[0]


def test_unreadable_lines_are_counted_not_fatal():
    rows, accounting = _rows(FIXTURES / "problems_train.jsonl", "problems")
    assert accounting.read["problems"] == 13
    assert len(rows) == 11
    assert accounting.dropped_in("problems") == {"bad_json": 1, "undecodable_text": 1}
    rows, accounting = _rows(FIXTURES / "submissions.jsonl", "submissions")
    assert accounting.dropped_in("submissions") == {"undecodable_text": 1}
    assert (
        "submissions.jsonl:19"
        in accounting.to_dict()["submissions"]["examples"]["undecodable_text"][0]
    )


def test_problem_row_checks_name_each_defect():
    rows, _ = _rows(FIXTURES / "problems_train.jsonl")
    reasons = {row["id"]: (schema.check_problem_row(row) or (None,))[0] for row in rows}
    assert reasons == {
        "1/A": None,
        "2/B": None,
        "3/C": None,
        "4/D": "missing_tests",
        "5/E": "unsupported_problem",  # interactive
        "6/F": None,  # clean by schema; decontamination drops it later
        "7/G": "undecodable_text",
        "8/H": "unsupported_problem",  # custom checker
        "11/A": "schema_mismatch",  # time_limit is a string
        "10/A": None,
        "12/B": None,
    }


def test_submission_row_checks():
    rows, _ = _rows(FIXTURES / "submissions.jsonl")
    reasons = {
        row["submission_id"]: (schema.check_submission_row(row) or (None,))[0] for row in rows
    }
    assert reasons["1002"] is None
    assert reasons["1009"] == "not_accepted"
    assert reasons["1011"] == "undecodable_text"
    assert reasons["1012"] == "schema_mismatch"
    assert schema.submission_problem_id(rows[0]) == "1/A"
    without_id = {**rows[0], "problem_id": None}
    assert schema.submission_problem_id(without_id) == "1/A"  # from contestId + problem_index


def test_hub_source_needs_a_pinned_revision():
    source = TableSource("open-r1/codeforces", "default", "train", revision=None)
    with pytest.raises(ValueError, match="pin a Hub revision"):
        next(iter_table(source, Accounting(), "problems"))


def test_local_folder_of_mixed_formats_is_refused(tmp_path):
    (tmp_path / "a.jsonl").write_text("{}\n")
    (tmp_path / "b.parquet").write_bytes(b"")
    with pytest.raises(ValueError, match="not both"):
        next(iter_table(TableSource(str(tmp_path)), Accounting(), "t"))
