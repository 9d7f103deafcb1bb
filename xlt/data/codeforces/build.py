"""The paper-scale data build: CodeForces tables in, the data stage's artifact files out.

    manifest = build(params, out_dir, run_jobs=execute, translator=None, progress=True)

Streams, in this order, with memory bounded by the number of problems (never by rows):
1. benchmark references for decontamination (MultiPL-E, HumanEval-X, MBXP prompts);
2. evaluation problems (the `test` split) -> `eval.jsonl` in every language; their
   statements become references too, so no training problem duplicates one;
3. training problems -> checked, decontaminated, spilled to SQLite;
4. submissions -> checked, language-normalised, capped per (problem, language), spilled;
5. problems in batches: harvested programs verified in `io` mode, missing languages
   translated and verified -> `parallel.jsonl` (all languages, for analysis),
   `sft.jsonl` (trainable languages only, grouped by task in a seeded order: the pool
   the mixture stage draws from, through `xlt.data.mixtures`),
   `rl.jsonl` / `rl_oracle.jsonl` (trainable / held-out languages, time limits scaled).
Every row not used is counted by reason (`manifest.json` -> accounting).
"""

from __future__ import annotations

import json
import logging
import random
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm import tqdm

from xlt.data.codeforces import schema
from xlt.data.codeforces.accounting import Accounting
from xlt.data.codeforces.decontam import Decontaminator
from xlt.data.codeforces.languages import normalize_language
from xlt.data.codeforces.load import TableSource, iter_table
from xlt.data.codeforces.parallel import (
    ParallelStats,
    RunJobs,
    Translator,
    Verified,
    default_run_jobs,
    harvest,
    translate_and_verify,
    translation_requests,
)
from xlt.data.codeforces.problems import (
    DEFAULT_TIME_FACTORS,
    CFProblem,
    fenced,
    from_row,
    render_prompt,
    to_xlt_problem,
)
from xlt.data.codeforces.store import SpillStore

log = logging.getLogger(__name__)

ARTIFACT_FILES = ("sft.jsonl", "rl.jsonl", "eval.jsonl", "parallel.jsonl", "manifest.json")


@dataclass(frozen=True)
class BuildParams:
    """Everything the build reads: plain values, no config objects."""

    train_problems: TableSource
    submissions: TableSource
    eval_problems: TableSource | None
    languages: tuple[str, ...]  # languages of parallel programs, RL and eval problems
    held_out: tuple[str, ...]  # never in sft.jsonl or rl.jsonl
    max_candidates: int = 3  # submissions kept per (problem, language) for verification
    per_language: int = 1  # verified programs kept per (problem, language)
    translate_to: tuple[str, ...] = ()  # languages to fill by translation (MultiPL-T)
    pivot_order: tuple[str, ...] = ("py", "cpp", "java")  # preferred translation sources
    time_factors: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_TIME_FACTORS))
    ngram_n: int = 13
    benchmark_files: tuple[Path, ...] = ()
    max_problems: int | None = None  # training problems used (smoke runs); None: all
    max_rating: int | None = None  # drop harder problems (RL needs reachable reward)
    rl_verified_only: bool = True  # RL problems need >= 1 verified program (sane tests)
    batch_problems: int = 64  # problems verified per execution batch
    seed: int = 0  # the order of tasks in sft.jsonl (the mixture stage takes from the front)

    def __post_init__(self) -> None:
        if self.max_candidates < self.per_language or self.per_language < 1:
            raise ValueError(
                f"need 1 <= per_language ({self.per_language}) <= max_candidates "
                f"({self.max_candidates})"
            )
        unknown = sorted(set(self.held_out) - set(self.languages))
        if unknown:
            raise ValueError(f"held-out languages {unknown} are not in languages {self.languages}")
        missing = sorted(set(self.translate_to) - set(self.languages))
        if missing:
            raise ValueError(f"translate_to has {missing}, which are not in languages")


def _write(handle, record: dict[str, Any]) -> None:
    handle.write(json.dumps(record, ensure_ascii=False) + "\n")


def _progress(iterable, desc: str, enabled: bool, total: int | None = None):
    return tqdm(iterable, desc=desc, total=total, disable=not enabled, mininterval=2.0, unit="row")


def _load_references(params: BuildParams) -> Decontaminator:
    decontaminator = Decontaminator(n=params.ngram_n)
    for path in params.benchmark_files:
        decontaminator.add_benchmark_file(Path(path))
    return decontaminator


def _problem_rows(source: TableSource, table: str, accounting: Accounting, progress: bool):
    """Valid problems of a table as CFProblems; the rest counted under `table`."""
    for row in _progress(iter_table(source, accounting, table), table, progress):
        problem_error = schema.check_problem_row(row)
        if problem_error:
            accounting.drop(table, problem_error[0], str(row.get("id", "?")), problem_error[1])
            continue
        yield from_row(row)


def _stream_eval(params, accounting, decontaminator, out: Path, progress: bool) -> set[str]:
    """Write eval.jsonl; return the eval problems' ids and aliases."""
    eval_ids: set[str] = set()
    with (out / "eval.jsonl").open("w", encoding="utf-8") as handle:
        if params.eval_problems is None:
            return eval_ids
        for problem in _problem_rows(params.eval_problems, "eval_problems", accounting, progress):
            accounting.count_used("eval_problems")
            eval_ids.update((problem.id, *problem.aliases))
            decontaminator.add_reference(
                f"codeforces-eval:{problem.id}", problem.statement, "codeforces-eval"
            )
            for language in params.languages:
                _write(handle, to_xlt_problem(problem, language, params.time_factors).to_dict())
    return eval_ids


def _stream_train(params, accounting, decontaminator, eval_ids, store, progress) -> None:
    table = "train_problems"
    used = 0
    for problem in _problem_rows(params.train_problems, table, accounting, progress):
        if params.max_rating is not None and (problem.rating or 0) > params.max_rating:
            accounting.drop(table, "over_max_rating", problem.id, f"rating {problem.rating}")
            continue
        if eval_ids & {problem.id, *problem.aliases}:
            accounting.drop(table, "same_as_eval_problem", problem.id)
            continue
        drop = decontaminator.check(problem.id, (problem.title, problem.statement))
        if drop:
            accounting.drop(
                table, "decontaminated", problem.id, f"{drop['reason']}: {drop['matched']}"
            )
            continue
        if params.max_problems is not None and used >= params.max_problems:
            accounting.drop(table, "over_max_problems", problem.id)  # usable, but over the cap
            continue
        store.add_problem(problem)
        accounting.count_used(table)
        used += 1


def _stream_submissions(params, accounting, store, progress) -> None:
    table = "submissions"
    wanted = set(params.languages)
    for row in _progress(iter_table(params.submissions, accounting, table), table, progress):
        row_id = str(row.get("submission_id", "?"))
        error = schema.check_submission_row(row)
        if error:
            accounting.drop(table, error[0], row_id, error[1])
            continue
        language, why = normalize_language(row["programmingLanguage"])
        if language is None:
            accounting.drop(table, why, row_id, row["programmingLanguage"])
            continue
        if language not in wanted:
            accounting.drop(table, "language_not_selected", row_id, language)
            continue
        problem_id = store.resolve(schema.submission_problem_id(row))
        if problem_id is None:  # not a training problem (eval split, decontaminated, unknown)
            accounting.drop(table, "problem_not_in_training_set", row_id)
            continue
        if not store.add_candidate(problem_id, language, row_id, row["source"]):
            accounting.drop(table, "over_candidate_cap", row_id)
            continue
        accounting.count_used(table)


def build(
    params: BuildParams,
    out: Path,
    *,
    run_jobs: RunJobs | None = None,
    translator: Translator | None = None,
    count_tokens: Callable[[str], int] | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Write the artifact files into `out`; return the manifest (also written)."""
    if params.translate_to and translator is None:
        raise ValueError("translate_to is set but no translator was given")
    run_jobs = run_jobs or default_run_jobs
    out.mkdir(parents=True, exist_ok=True)
    accounting = Accounting()
    stats = ParallelStats.empty()

    # ---- references, evaluation problems, training problems, submissions
    decontaminator = _load_references(params)
    eval_ids = _stream_eval(params, accounting, decontaminator, out, progress)
    store = SpillStore(out / "work" / "spill.sqlite", params.max_candidates)
    try:
        _stream_train(params, accounting, decontaminator, eval_ids, store, progress)
        _stream_submissions(params, accounting, store, progress)
        # ---- verification and translation, a batch of problems at a time
        # A seeded task order: the mixture stage takes whole tasks from the front of sft.jsonl.
        ids = store.problem_ids()
        random.Random(params.seed).shuffle(ids)
        counts = _verify_all(params, store, ids, out, run_jobs, translator, stats, count_tokens,
                             progress)  # fmt: skip
    finally:
        store.close()
    (out / "work" / "spill.sqlite").unlink(missing_ok=True)

    # ---- manifest
    manifest = _manifest(params, counts, len(ids), accounting, stats, decontaminator)
    (out / "decontamination.json").write_text(json.dumps(decontaminator.report(), indent=1))
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1, ensure_ascii=False))
    return manifest


def _verify_all(params, store, ids, out, run_jobs, translator, stats, count_tokens, progress):
    """Verify (and translate) every problem's candidates in batches; write the JSONL files.
    Returns the counts of what was written."""
    counts = {"parallel": 0, "sft": 0, "rl": 0, "rl_oracle": 0, "tokens": {}}
    with ExitStack() as files:
        handles = {
            name: files.enter_context((out / f"{name}.jsonl").open("w", encoding="utf-8"))
            for name in ("parallel", "provenance", "sft", "rl", "rl_oracle")
        }
        bar = tqdm(total=len(ids), desc="verify", disable=not progress, mininterval=2.0)
        for start in range(0, len(ids), params.batch_problems):
            batch = [
                (p, store.candidates(p.id))
                for p in store.problems(ids[start : start + params.batch_problems])
            ]
            verified = harvest(
                batch,
                per_language=params.per_language,
                factors=params.time_factors,
                run_jobs=run_jobs,
                stats=stats,
            )
            if params.translate_to:
                verified += _translations(params, batch, verified, translator, run_jobs, stats)
            _write_batch(batch, verified, params, handles, counts, stats, count_tokens)
            bar.update(len(batch))
        bar.close()
    return counts


def _translations(params, batch, verified, translator, run_jobs, stats) -> list[Verified]:
    """Verified translations of a batch's verified programs into `params.translate_to`."""
    requests = [
        request
        for problem, _ in batch
        for request in translation_requests(
            problem,
            [v for v in verified if v.problem_id == problem.id],
            params.translate_to,
            params.pivot_order,
        )
    ]
    return translate_and_verify(
        requests,
        translator=translator,
        factors=params.time_factors,
        run_jobs=run_jobs,
        stats=stats,
    )


def _manifest(params, counts, num_problems, accounting, stats, decontaminator) -> dict[str, Any]:
    return {
        "kind": "codeforces",
        "files": list(ARTIFACT_FILES)
        + ["provenance.jsonl", "rl_oracle.jsonl", "decontamination.json"],
        "sources": {
            "train_problems": params.train_problems.describe(),
            "eval_problems": params.eval_problems.describe() if params.eval_problems else None,
            "submissions": params.submissions.describe(),
        },
        "languages": list(params.languages),
        "held_out": list(params.held_out),
        "counts": counts,
        "num_training_problems": num_problems,
        "accounting": accounting.to_dict(),
        "parallel": stats.metrics(num_problems),
        "decontamination": {k: v for k, v in decontaminator.report().items() if k != "drops"},
        "metrics": {**accounting.metrics(), **stats.metrics(num_problems)},
    }


def _write_batch(batch, verified: list[Verified], params, handles, counts, stats, count_tokens):
    by_problem: dict[str, list[Verified]] = {}
    for item in verified:
        by_problem.setdefault(item.problem_id, []).append(item)
    for problem, _ in batch:
        items = by_problem.get(problem.id, [])
        for language in {item.language for item in items}:
            stats.covered[language] += 1
        for item in items:
            _write(
                handles["parallel"],
                {"task": problem.task, "language": item.language, "program": item.program},
            )
            _write(
                handles["provenance"],
                {
                    "task": problem.task,
                    "language": item.language,
                    "origin": item.origin,
                    "ref": item.ref,
                },
            )
            counts["parallel"] += 1
            if item.language in params.held_out:
                continue
            example = _sft_example(problem, item)
            _write(handles["sft"], example)
            counts["sft"] += 1
            if count_tokens is not None:
                tokens = counts["tokens"]
                tokens[item.language] = tokens.get(item.language, 0) + count_tokens(
                    example["prompt"] + example["response"]
                )
        if params.rl_verified_only and not items:
            continue
        for language in params.languages:
            name = "rl_oracle" if language in params.held_out else "rl"
            _write(handles[name], to_xlt_problem(problem, language, params.time_factors).to_dict())
            counts[name] += 1


def _sft_example(problem: CFProblem, item: Verified) -> dict[str, str]:
    """An SFT example in the agreed schema: the statement asks, a verified program answers."""
    return {
        "prompt": render_prompt(problem, item.language),
        "response": fenced(item.program, item.language),
        "language": item.language,
        "task": problem.task,
        "source": f"codeforces/{item.origin}",
    }
