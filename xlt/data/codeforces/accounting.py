"""Counting what happened to every input row, so nothing is dropped silently.

Every row read from a source ends up either used or counted under a reason
(`missing_tests`, `unknown_language`, `undecodable_text`, ...), with the first few
row ids kept as examples. The totals go into `manifest.json` and the tracker.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

MAX_EXAMPLES = 5  # row ids kept per (table, reason): enough to find the rows, bounded in memory


@dataclass
class Accounting:
    """Per-table counts of rows read, rows used and rows set aside by reason."""

    read: Counter = field(default_factory=Counter)  # table -> rows read
    used: Counter = field(default_factory=Counter)  # table -> rows kept
    dropped: Counter = field(default_factory=Counter)  # (table, reason) -> rows
    examples: dict[tuple[str, str], list[str]] = field(default_factory=dict)

    def count_read(self, table: str) -> None:
        self.read[table] += 1

    def count_used(self, table: str) -> None:
        self.used[table] += 1

    def drop(self, table: str, reason: str, row_id: str = "", detail: str = "") -> None:
        self.dropped[table, reason] += 1
        kept = self.examples.setdefault((table, reason), [])
        if len(kept) < MAX_EXAMPLES:
            kept.append(f"{row_id}: {detail}" if detail else row_id)

    def dropped_in(self, table: str) -> dict[str, int]:
        return {reason: n for (name, reason), n in sorted(self.dropped.items()) if name == table}

    def metrics(self) -> dict[str, float]:
        """Slash-keyed counts for the tracker: data/<table>/read, .../used, .../dropped/<reason>."""
        out: dict[str, float] = {}
        for table in sorted(set(self.read) | set(self.used)):
            out[f"data/{table}/read"] = float(self.read[table])
            out[f"data/{table}/used"] = float(self.used[table])
        for (table, reason), n in sorted(self.dropped.items()):
            out[f"data/{table}/dropped/{reason}"] = float(n)
        return out

    def to_dict(self) -> dict[str, Any]:
        tables = sorted(set(self.read) | set(self.used) | {t for t, _ in self.dropped})
        return {
            table: {
                "read": self.read[table],
                "used": self.used[table],
                "dropped": self.dropped_in(table),
                "examples": {
                    reason: list(self.examples.get((table, reason), []))
                    for reason in self.dropped_in(table)
                },
            }
            for table in tables
        }
