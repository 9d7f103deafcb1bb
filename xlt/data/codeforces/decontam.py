"""Decontamination: keep evaluation benchmarks out of SFT and RL data.

A training problem is dropped when
- its statement shares a word n-gram (default 13 words, the GPT-3 paper's choice) with a
  benchmark prompt (MultiPL-E / HumanEval / HumanEval-X / MBXP), or with a held-out
  evaluation problem; or
- its title or statement names a HumanEval/MultiPL-E problem: a distinctive entry point
  such as `has_close_elements` appears as a whole word. Short, common names (`add`,
  `fib`) are not distinctive and would drop innocent problems, so only names with an
  underscore are matched. Programs are not name-matched: a CodeForces solution may
  well define its own `min_cost`.
Every drop is recorded with what it matched, and written to `decontamination.json`.

References are loaded from benchmark JSONL(.gz) files (the formats of
`../shared/benchmarks/`): `prompt`, `text` and `description` fields give text; MultiPL-E
`name` ("HumanEval_0_has_close_elements") gives the names.
"""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_WORD = re.compile(r"[a-z0-9]+")
_MULTIPLE_NAME = re.compile(r"^HumanEval_\d+_(\w+)$")
MAX_RECORDED_DROPS = 10_000  # the report lists at most this many drops (counts stay exact)


def ngrams(text: str, n: int) -> set[int]:
    """Hashes of the word n-grams of `text` (lower-cased alphanumeric words)."""
    words = _WORD.findall(text.lower())
    return {hash(" ".join(words[i : i + n])) for i in range(len(words) - n + 1)}


@dataclass
class Decontaminator:
    """Reference n-grams and names, and the record of what was dropped."""

    n: int = 13
    _ngram_owner: dict[int, str] = field(default_factory=dict)  # n-gram hash -> reference id
    _names: dict[str, str] = field(default_factory=dict)  # distinctive name -> reference id
    _name_pattern: re.Pattern | None = None
    drops: list[dict[str, Any]] = field(default_factory=list)
    drop_counts: dict[str, int] = field(default_factory=dict)
    references: dict[str, int] = field(default_factory=dict)  # source -> reference texts

    def add_reference(self, ref_id: str, text: str, source: str) -> None:
        for gram in ngrams(text, self.n):
            self._ngram_owner.setdefault(gram, ref_id)
        self.references[source] = self.references.get(source, 0) + 1

    def add_name(self, name: str, ref_id: str) -> None:
        if "_" in name.strip("_"):
            self._names.setdefault(name, ref_id)
            self._name_pattern = None

    def add_benchmark_file(self, path: Path) -> None:
        """Texts and names of every row of a benchmark JSONL(.gz) file."""
        opener = gzip.open if path.name.endswith(".gz") else open
        with opener(path, "rt", encoding="utf-8") as handle:
            for line in handle:
                row = json.loads(line)
                ref_id = str(row.get("name") or row.get("task_id") or "?")
                ref = f"{path.name}:{ref_id}"
                for key in ("prompt", "text", "description"):
                    if isinstance(row.get(key), str):
                        self.add_reference(ref, row[key], source=path.name)
                match = _MULTIPLE_NAME.match(str(row.get("name", "")))
                if match:
                    self.add_name(match.group(1), ref)

    def _names_regex(self) -> re.Pattern | None:
        if self._name_pattern is None and self._names:
            alternatives = "|".join(sorted(map(re.escape, self._names), key=len, reverse=True))
            self._name_pattern = re.compile(rf"\b({alternatives})\b")
        return self._name_pattern

    def match(self, text: str) -> tuple[str, str] | None:
        """(kind, what matched) if `text` overlaps a reference, else None."""
        for gram in ngrams(text, self.n):
            if gram in self._ngram_owner:
                return "ngram_overlap", self._ngram_owner[gram]
        pattern = self._names_regex()
        if pattern:
            found = pattern.search(text)
            if found:
                return "benchmark_name", f"{found.group(1)} ({self._names[found.group(1)]})"
        return None

    def check(self, item_id: str, texts: Iterable[str]) -> dict[str, str] | None:
        """None if the item is clean; otherwise the drop, which is also recorded."""
        for text in texts:
            hit = self.match(text)
            if hit:
                drop = {"id": item_id, "reason": hit[0], "matched": hit[1]}
                self.drop_counts[hit[0]] = self.drop_counts.get(hit[0], 0) + 1
                if len(self.drops) < MAX_RECORDED_DROPS:
                    self.drops.append(drop)
                return drop
        return None

    def report(self) -> dict[str, Any]:
        return {
            "ngram_n": self.n,
            "reference_texts": dict(sorted(self.references.items())),
            "reference_ngrams": len(self._ngram_owner),
            "distinctive_names": len(self._names),
            "dropped": dict(sorted(self.drop_counts.items())),
            "drops": self.drops,
        }


def benchmark_files(root: Path, patterns: Iterable[str]) -> list[Path]:
    """The benchmark files under `root` matching any glob pattern, or a ValueError naming the fix."""
    files = sorted({p for pattern in patterns for p in root.glob(pattern)})
    if not files:
        raise ValueError(
            f"decontamination found no benchmark files under {root} for {list(patterns)}; "
            "set data.decontamination_benchmarks (globs relative to XLT_BENCHMARKS) or XLT_BENCHMARKS"
        )
    return files
