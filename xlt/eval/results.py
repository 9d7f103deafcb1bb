"""The on-disk layout of an evaluation row, and its summary (pass@k per language).

One evaluation (one checkpoint on one benchmark) fills a folder:

    <eval dir>/
      row.json               # which row of the matrix this is, and pass@k per language
      results/<lang>.jsonl   # one line per problem: n, c, status counts, every sample

`row.json` (schema 1):

    {"schema": 1,
     "row": {"stage": "pre_rl" | "post_rl", "sft_mixture", "sft_language", "rl_algorithm",
             "rl_source", "oracle", "seed", "model", "scale"},   # see xlt.eval.rows
     "label": "SFT parallel + GRPO py",
     "benchmark": "multipl-e", "num_samples": 10, "k": [1, 10],
     "languages": {"py": {"pass@1": 0.31, "pass@10": 0.52, "num_problems": 161,
                          "num_expected": 161, "num_samples": 1610, "num_correct": 500,
                          "status_counts": {"ok": 500, ...}, "missing": null}},
     "common": {"num_tasks": 150, "languages": {"py": {"pass@1": 0.30, ...}}},
     "results_dir": "results"}

A language is `missing` (with the reason) when its toolchain was absent or its
results cover fewer problems than expected; its pass@k is then null, never 0.
`xlt.report` rebuilds every number from the per-problem files, so a cell always
traces back to `results/<lang>.jsonl`.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from xlt.eval.passk import feasible_ks, mean_pass_at_k
from xlt.execution.types import OK, TOOLCHAIN_MISSING

SCHEMA = 1
ROW_FILE = "row.json"
RESULTS_DIR = "results"
STDERR_CHARS = 400  # enough to see why a sample failed; full logs would dwarf the results


@dataclass
class SampleResult:
    completion: str
    status: str
    exit_code: int | None = None
    stderr: str = ""
    extracted_program: str = ""  # the whole program that ran (empty in older files)


@dataclass
class ProblemResult:
    name: str
    task: str
    language: str
    samples: list[SampleResult] = field(default_factory=list)

    @property
    def n(self) -> int:
        return len(self.samples)

    @property
    def c(self) -> int:
        return sum(sample.status == OK for sample in self.samples)

    @property
    def toolchain_missing(self) -> bool:
        return any(sample.status == TOOLCHAIN_MISSING for sample in self.samples)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "task": self.task,
            "language": self.language,
            "n": self.n,
            "c": self.c,
            "statuses": dict(Counter(sample.status for sample in self.samples)),
            "samples": [asdict(sample) for sample in self.samples],
        }

    @classmethod
    def from_dict(cls, record: dict[str, Any]) -> ProblemResult:
        samples = [SampleResult(**sample) for sample in record.get("samples", [])]
        return cls(record["name"], record["task"], record["language"], samples)


def results_path(eval_dir: str | Path, language: str) -> Path:
    return Path(eval_dir) / RESULTS_DIR / f"{language}.jsonl"


def append_results(path: str | Path, results: Iterable[ProblemResult]) -> None:
    """Append and flush: a killed evaluation keeps every problem it finished."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as handle:
        for result in results:
            handle.write(json.dumps(result.to_dict()) + "\n")
        handle.flush()


def read_results(path: str | Path) -> list[ProblemResult]:
    """The problems in a results file, last record per name winning; a torn last line is skipped."""
    path = Path(path)
    if not path.is_file():
        return []
    by_name: dict[str, ProblemResult] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue  # the line a killed writer left half-written
        by_name[record["name"]] = ProblemResult.from_dict(record)
    return list(by_name.values())


def language_summary(
    results: Sequence[ProblemResult], ks: Sequence[int], num_expected: int | None = None
) -> dict[str, Any]:
    """pass@k and counts of one language; pass@k is None when the language is missing."""
    expected = len(results) if num_expected is None else num_expected
    statuses = Counter(sample.status for result in results for sample in result.samples)
    summary: dict[str, Any] = {
        "num_problems": len(results),
        "num_expected": expected,
        "num_samples": sum(result.n for result in results),
        "num_correct": sum(result.c for result in results),
        "status_counts": dict(statuses),
        "missing": None,
    }
    if statuses[TOOLCHAIN_MISSING]:
        summary["missing"] = "toolchain_missing"
    elif not results:
        summary["missing"] = "no results"
    elif len(results) < expected:
        summary["missing"] = f"partial: {len(results)} of {expected} problems"
    counts = [(result.n, result.c) for result in results]
    for k in ks:
        ok = summary["missing"] is None and k in feasible_ks(counts, [k])
        summary[f"pass@{k}"] = mean_pass_at_k(counts, k) if ok else None
    return summary


def common_tasks(results_by_language: dict[str, Sequence[ProblemResult]]) -> set[str]:
    """Tasks present in every language given (the comparable columns of the matrix)."""
    task_sets = [{result.task for result in results} for results in results_by_language.values()]
    return set.intersection(*task_sets) if task_sets else set()


def summarize(
    results_by_language: dict[str, Sequence[ProblemResult]],
    ks: Sequence[int],
    num_expected: dict[str, int] | None = None,
) -> dict[str, Any]:
    """Per-language summaries on each language's full set, and on the common task subset."""
    num_expected = num_expected or {}
    languages = {
        language: language_summary(results, ks, num_expected.get(language))
        for language, results in results_by_language.items()
    }
    present = {
        language: results
        for language, results in results_by_language.items()
        if languages[language]["missing"] is None
    }
    tasks = common_tasks(present)
    common = {
        language: language_summary([r for r in results if r.task in tasks], ks)
        for language, results in present.items()
    }
    return {
        "languages": languages,
        "common": {"num_tasks": len(tasks), "languages": common if tasks else {}},
    }


def write_row(
    eval_dir: str | Path, row: dict[str, Any], label: str, summary: dict[str, Any], **info: Any
) -> Path:
    """Write `row.json` next to `results/`; `info` adds benchmark, num_samples, k, ..."""
    record = {
        "schema": SCHEMA,
        "row": row,
        "label": label,
        **info,
        **summary,
        "results_dir": RESULTS_DIR,
    }
    path = Path(eval_dir) / ROW_FILE
    path.write_text(json.dumps(record, indent=2))
    return path


def read_row(path: str | Path) -> dict[str, Any]:
    record = json.loads(Path(path).read_text(encoding="utf-8"))
    if record.get("schema") != SCHEMA:
        raise ValueError(f"{path}: row schema {record.get('schema')!r}, expected {SCHEMA}")
    return record
