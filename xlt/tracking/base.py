"""The tracker interface and its local-file implementation."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Protocol


class Tracker(Protocol):
    def log(self, metrics: dict[str, float], step: int) -> None: ...

    def log_table(self, key: str, columns: list[str], rows: list[list[Any]]) -> None: ...

    def log_image(self, key: str, path: str | Path) -> None: ...

    def close(self) -> None: ...


class JsonlTracker:
    """Appends one JSON object per call to `path`; flushes every line so a killed run keeps its log."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = self.path.open("a", encoding="utf-8")

    def _write(self, record: dict[str, Any]) -> None:
        record["time"] = time.time()
        self._file.write(json.dumps(record, default=_json_default) + "\n")
        self._file.flush()

    def log(self, metrics: dict[str, float], step: int) -> None:
        self._write({"kind": "metrics", "step": step, "metrics": metrics})

    def log_table(self, key: str, columns: list[str], rows: list[list[Any]]) -> None:
        self._write({"kind": "table", "key": key, "columns": columns, "rows": rows})

    def log_image(self, key: str, path: str | Path) -> None:
        self._write({"kind": "image", "key": key, "path": str(path)})

    def close(self) -> None:
        if not self._file.closed:
            self._file.close()


def _json_default(value: Any) -> Any:
    if hasattr(value, "item"):  # numpy / torch scalars
        return value.item()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def read_jsonl_log(path: str | Path) -> list[dict[str, Any]]:
    """Every record in a tracker log, skipping a torn last line left by a killed writer."""
    records = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return records


class NullTracker:
    """Drops everything: for the non-zero ranks of a multi-process launch."""

    def log(self, metrics: dict[str, float], step: int) -> None:
        pass

    def log_table(self, key: str, columns: list[str], rows: list[list[Any]]) -> None:
        pass

    def log_image(self, key: str, path: str | Path) -> None:
        pass

    def close(self) -> None:
        pass
