"""An on-disk spill store (SQLite) so the data stage's memory does not grow with its input.

The problems table with its official tests is several GB and the submissions table
millions of rows; joining them in memory would not fit. Problems and candidate programs
are written here as they stream in; what stays in memory is one counter per
(problem, language) and the alias map (both bounded by the number of problems, not rows).
Verification then walks the problems in batches and reads back only that batch.
"""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

from xlt.data.codeforces.problems import CFProblem

_SCHEMA = """
CREATE TABLE IF NOT EXISTS problems (id TEXT PRIMARY KEY, record TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS candidates (
    problem_id TEXT NOT NULL, language TEXT NOT NULL, submission_id TEXT NOT NULL,
    source TEXT NOT NULL, PRIMARY KEY (problem_id, language, submission_id));
"""
COMMIT_EVERY = (
    2000  # rows per transaction: large enough to be fast, small enough to bound the journal
)


class SpillStore:
    """Problems and capped candidate programs on disk; counters and aliases in memory."""

    def __init__(self, path: Path, max_candidates: int):
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists():
            path.unlink()  # a leftover from an interrupted run: start clean
        self._db = sqlite3.connect(str(path))
        self._db.executescript(_SCHEMA)
        self.max_candidates = max_candidates
        self._aliases: dict[str, str] = {}  # alias id -> canonical problem id
        self._candidates: Counter = Counter()  # (problem id, language) -> candidates stored
        self._pending = 0

    def _tick(self) -> None:
        self._pending += 1
        if self._pending >= COMMIT_EVERY:
            self._db.commit()
            self._pending = 0

    def add_problem(self, problem: CFProblem) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO problems VALUES (?, ?)",
            (problem.id, json.dumps(problem.to_dict())),
        )
        self._aliases[problem.id] = problem.id
        for alias in problem.aliases:
            self._aliases.setdefault(alias, problem.id)
        self._tick()

    def resolve(self, problem_id: str) -> str | None:
        """The canonical id of a problem we hold, through its aliases, else None."""
        return self._aliases.get(problem_id)

    def add_candidate(
        self, problem_id: str, language: str, submission_id: str, source: str
    ) -> bool:
        """Store a candidate unless (problem, language) already has `max_candidates`; True if stored."""
        key = (problem_id, language)
        if self._candidates[key] >= self.max_candidates:
            return False
        cursor = self._db.execute(
            "INSERT OR IGNORE INTO candidates VALUES (?, ?, ?, ?)",
            (problem_id, language, submission_id, source),
        )
        if cursor.rowcount:
            self._candidates[key] += 1
            self._tick()
        return bool(cursor.rowcount)

    def problem_ids(self) -> list[str]:
        self._db.commit()
        return [row[0] for row in self._db.execute("SELECT id FROM problems ORDER BY id")]

    def problems(self, ids: list[str]) -> Iterator[CFProblem]:
        for problem_id in ids:
            row = self._db.execute("SELECT record FROM problems WHERE id = ?", (problem_id,))
            yield CFProblem.from_dict(json.loads(row.fetchone()[0]))

    def candidates(self, problem_id: str) -> list[tuple[str, str, str]]:
        """(language, submission id, source) of a problem, in insertion order."""
        return list(
            self._db.execute(
                "SELECT language, submission_id, source FROM candidates WHERE problem_id = ? "
                "ORDER BY rowid",
                (problem_id,),
            )
        )

    def close(self) -> None:
        self._db.commit()
        self._db.close()
