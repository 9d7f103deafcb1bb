"""Streaming readers for the CodeForces tables: the Hub through `datasets`, or local files.

A `TableSource` names either a Hub dataset (`open-r1/codeforces`, with config, split and a
pinned revision) or a local path: a Parquet file or folder (read through `datasets` too),
or a JSONL file or folder (`.jsonl` / `.jsonl.gz`, read line by line so that one
undecodable or unparsable line is counted, not fatal). Rows come out one at a time as
plain dicts; nothing holds a whole table in memory.

    rows = iter_table(TableSource("open-r1/codeforces", "default", "train", REV), accounting, "problems")
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from xlt.data.codeforces.accounting import Accounting


@dataclass(frozen=True)
class TableSource:
    """Where one table comes from. `path` is a Hub dataset name or a local file/folder."""

    path: str
    config: str | None = None
    split: str = "train"
    revision: str | None = None  # a Hub commit; required for Hub sources (reproducibility)

    @property
    def is_local(self) -> bool:
        """A local file, folder, or glob (`problems/train-*.parquet`) that matches something."""
        return Path(self.path).exists() or bool(_glob(self.path))

    def describe(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "config": self.config,
            "split": self.split,
            "revision": self.revision,
            "local": self.is_local,
        }


def _glob(pattern: str) -> list[Path]:
    if not any(char in pattern for char in "*?["):
        return []
    anchor = Path(pattern).anchor or "."
    return sorted(Path(anchor).glob(str(Path(pattern).relative_to(anchor))))


def _local_files(path: Path) -> tuple[str, list[Path]]:
    """("jsonl" | "parquet", files) for a local path, or a ValueError saying what is accepted."""
    roots = [path] if path.exists() else _glob(str(path))
    files = sorted(
        f for root in roots for f in (root.rglob("*") if root.is_dir() else [root]) if f.is_file()
    )
    jsonl = [p for p in files if p.name.endswith((".jsonl", ".jsonl.gz", ".json", ".json.gz"))]
    parquet = [p for p in files if p.suffix == ".parquet"]
    if jsonl and not parquet:
        return "jsonl", jsonl
    if parquet and not jsonl:
        return "parquet", parquet
    raise ValueError(
        f"{path}: expected .parquet files or .jsonl(.gz) files (not both, not neither); "
        "point the source at a folder of one kind"
    )


def _iter_jsonl(files: list[Path], table: str, accounting: Accounting) -> Iterator[dict[str, Any]]:
    for file in files:
        opener = gzip.open if file.name.endswith(".gz") else open
        with opener(file, "rb") as handle:
            for line_no, raw in enumerate(handle, start=1):
                if not raw.strip():
                    continue
                accounting.count_read(table)
                where = f"{file.name}:{line_no}"
                try:
                    text = raw.decode("utf-8")
                except UnicodeDecodeError as error:
                    accounting.drop(table, "undecodable_text", where, str(error)[:80])
                    continue
                try:
                    row = json.loads(text)
                except json.JSONDecodeError as error:
                    accounting.drop(table, "bad_json", where, str(error)[:80])
                    continue
                if not isinstance(row, dict):
                    accounting.drop(table, "bad_json", where, "a line is not a JSON object")
                    continue
                yield row


def _iter_datasets(
    source: TableSource, data_files: list[Path] | None, table: str, accounting: Accounting
) -> Iterator[dict[str, Any]]:
    import datasets  # imported here: importing it costs ~1 s that local JSONL reads never need

    if data_files is not None:
        stream = datasets.load_dataset(
            "parquet", data_files=[str(f) for f in data_files], split="train", streaming=True
        )
    else:
        if not source.revision:
            raise ValueError(
                f"data source {source.path!r}: pin a Hub revision (a commit hash) in the data "
                "config so the run is reproducible"
            )
        stream = datasets.load_dataset(
            source.path,
            source.config,
            split=source.split,
            revision=source.revision,
            streaming=True,
        )
    for row in stream:
        accounting.count_read(table)
        yield row


def iter_table(source: TableSource, accounting: Accounting, table: str) -> Iterator[dict[str, Any]]:
    """Every row of `source` as a dict, streamed; unreadable lines are counted under `table`."""
    if source.is_local:
        kind, files = _local_files(Path(source.path))
        if kind == "jsonl":
            yield from _iter_jsonl(files, table, accounting)
        else:
            yield from _iter_datasets(source, files, table, accounting)
    else:
        yield from _iter_datasets(source, None, table, accounting)
