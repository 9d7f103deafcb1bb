"""The transfer matrix from what is on disk: CSV, Markdown, heatmap PNG (and a W&B table).

    python -m xlt.report multirun/2026-01-01/12-00-00        # a sweep
    python -m xlt.report outputs/2026-01-01/12-00-00 --k 10  # one run
    python -m xlt.report DIR --wandb                         # also mirror to W&B (offline)

Finds, under DIR (following links):
- run folders (`config.json` = the resolved config): their rows are the ones the
  config implies (pre-RL, and post-RL when RL is on); `run.json` points at the
  evaluation folders (`artifacts.eval_pre_rl`, `artifacts.eval_post_rl`). A run
  without `run.json` (still running, or failed) yields missing rows;
- evaluation folders (`row.json` + `results/`, see `xlt.eval.results`) not
  reached through a run.

Writes `DIR/report/` (or `--out`): `matrix.csv` (long format, one line per row x
language x subset, with the per-problem files behind each cell), `matrix.md`,
`heatmap.png` (common task subset), `heatmap_full.png`, and, when a sweep has the
same RL after Parallel-SFT and after another mixture, `contrast.csv`: the
difference of their RL deltas per language (`xlt.eval.contrast`), with bootstrap and
Holm-adjusted p-values, and a "Pre-specified endpoints" section of `matrix.md`: the
primary endpoint, its equivalence test and a power calculation (`xlt.eval.endpoints`).
Intervals resample suites, then seeds and problems (`xlt.eval.stats`). Every number is
recomputed from per-problem files: rerun it after a missing run finishes and
the cell fills.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from xlt.eval.contrast import Contrast, mixture_contrasts
from xlt.eval.endpoints import (
    ALPHA,
    PRIMARY,
    TARGET_POWER,
    EndpointResult,
    Secondary,
    primary_endpoint,
    secondary_endpoints,
)
from xlt.eval.heatmap import plot_matrix
from xlt.eval.matrix import Cell, Matrix, RowSource, build_matrix
from xlt.eval.results import ROW_FILE, read_row
from xlt.eval.rows import ROWS_FILE, RowId, expected_stages, row_id_from_config

SKIP_DIRS = {"wandb", ".hydra", "results", "report", "checkpoints", "__pycache__"}


def _resolve(path: str, run_dir: Path) -> Path | None:
    """An artifact path as a run recorded it: absolute, or relative to where it was launched."""
    candidate = Path(path)
    if candidate.is_absolute():
        return candidate if candidate.exists() else None
    for base in [Path.cwd(), run_dir, *run_dir.resolve().parents]:
        if (base / candidate).exists():
            return base / candidate
    return None


def _is_run_config(path: Path) -> dict | None:
    try:
        config = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return None
    return config if isinstance(config, dict) and {"sft", "rl", "model"} <= set(config) else None


def _run_rows(run_dir: Path, config: dict) -> dict[str, RowId]:
    """The rows a run makes: from its `rows.json`, or for runs older than that file, from
    its config (without settings hashes)."""
    rows_file = run_dir / ROWS_FILE
    if rows_file.is_file():
        return {
            stage: RowId.from_dict(row) for stage, row in json.loads(rows_file.read_text()).items()
        }
    return {stage: row_id_from_config(config, stage) for stage in expected_stages(config)}


def _run_sources(run_dir: Path, config: dict) -> list[RowSource]:
    run_file = run_dir / "run.json"
    run = json.loads(run_file.read_text()) if run_file.is_file() else None
    sources = []
    for stage, row in _run_rows(run_dir, config).items():
        if run is None:
            sources.append(RowSource(row, run_dir, missing="run not finished (no run.json)"))
            continue
        recorded = run.get("artifacts", {}).get(f"eval_{stage}")
        eval_dir = _resolve(recorded, run_dir) if recorded else None
        if eval_dir is None or not (eval_dir / ROW_FILE).is_file():
            where = recorded or f"no eval_{stage} in run.json"
            sources.append(RowSource(row, run_dir, missing=f"evaluation missing ({where})"))
            continue
        record = read_row(eval_dir / ROW_FILE)
        sources.append(RowSource(row, run_dir, eval_dir, record["languages"]))
    return sources


def find_sources(root: str | Path) -> list[RowSource]:
    """Every row evaluation under `root`, present or expected; one per (setting, seed)."""
    root = Path(root)
    if not root.is_dir():
        raise ValueError(f"{root}: not a folder (give a run or multirun sweep folder)")
    run_dirs, row_files = [], []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS)
        folder = Path(dirpath)
        if "config.json" in filenames and (config := _is_run_config(folder / "config.json")):
            run_dirs.append((folder, config))
        if ROW_FILE in filenames:
            row_files.append(folder / ROW_FILE)
    sources = [source for folder, config in run_dirs for source in _run_sources(folder, config)]
    reached = {source.eval_dir.resolve() for source in sources if source.eval_dir}
    for path in row_files:
        if path.parent.resolve() not in reached:
            record = read_row(path)
            row = RowId.from_dict(record["row"])
            sources.append(RowSource(row, path, path.parent, record["languages"]))
    return _label_variants(_deduplicate(sources))


def _deduplicate(sources: list[RowSource]) -> list[RowSource]:
    """Runs of a sweep share the pre-RL evaluation: keep one source per (setting, seed,
    suite), preferring one that exists over one that is missing."""
    chosen: dict[tuple, RowSource] = {}
    for source in sources:
        key = (source.row.setting_key, source.row.seed, source.row.data_seed)
        if key not in chosen or (chosen[key].missing and not source.missing):
            chosen[key] = source
    return list(chosen.values())


MAX_VARIANT_SETTINGS = 3  # settings named in a label; more are counted


def _label_variants(sources: list[RowSource]) -> list[RowSource]:
    """Rows that would share a label but differ in a setting (e.g. two RL learning rates)
    stay separate rows; each gets the differing settings in its label, e.g. "[rl.lr=0.0001]"."""
    settings_by_label: dict[str, dict[tuple, dict]] = {}
    for source in sources:
        by_key = settings_by_label.setdefault(source.row.label, {})
        by_key.setdefault(source.row.setting_key, source.row.settings)
    variants: dict[tuple, str] = {}
    for by_key in settings_by_label.values():
        if len(by_key) < 2:
            continue
        names = sorted(set().union(*by_key.values()))
        differ = [n for n in names if len({json.dumps(s.get(n)) for s in by_key.values()}) > 1]
        for setting_key, settings in by_key.items():
            named = [f"{n}={settings.get(n)}" for n in differ[:MAX_VARIANT_SETTINGS]]
            if len(differ) > MAX_VARIANT_SETTINGS:
                named.append(f"+{len(differ) - MAX_VARIANT_SETTINGS} more")
            # Rows from before settings were recorded differ only in their (empty) settings.
            variants[setting_key] = ", ".join(named) or f"settings {setting_key[-1] or '?'}"
    return [
        replace(s, row=s.row.with_variant(variants[s.row.setting_key]))
        if s.row.setting_key in variants
        else s
        for s in sources
    ]


# --- writers ---------------------------------------------------------------------

CSV_COLUMNS = [
    "row", "stage", "sft_mixture", "sft_language", "rl_algorithm", "rl_source", "oracle",
    "language", "subset", "k", "value", "ci_low", "ci_high", "delta", "delta_ci_low",
    "delta_ci_high", "num_tasks", "num_seeds", "num_suites", "missing", "sources",
]  # fmt: skip


def table_rows(matrix: Matrix) -> list[list]:
    out = []
    for row in matrix.rows:
        for language in matrix.languages:
            cell = matrix.cell(row, language)
            ci, dci = cell.ci or (None, None), cell.delta_ci or (None, None)
            out.append(
                [row.label, row.stage, row.sft_mixture, row.sft_language, row.rl_algorithm,
                 row.rl_source, row.oracle, language, matrix.subset, matrix.k, cell.value, *ci,
                 cell.delta, *dci, cell.num_tasks, cell.num_seeds, cell.num_suites, cell.missing,
                 ";".join(cell.sources)]
            )  # fmt: skip
    return out


def write_csv(matrices: Sequence[Matrix], path: Path) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(CSV_COLUMNS)
        for matrix in matrices:
            writer.writerows(table_rows(matrix))


CONTRAST_COLUMNS = ["rl", "reference", "other", "language", "delta_delta", "ci_low", "ci_high",
                    "num_tasks", "p_value", "p_holm"]  # fmt: skip


def write_contrast_csv(contrasts: Sequence[Contrast], path: Path) -> None:
    """One line per contrast; p_holm: Holm-adjusted over every contrast with a p-value."""
    holm_by_id = {id(s.contrast): s.p_holm for s in secondary_endpoints(contrasts)}
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(CONTRAST_COLUMNS)
        for c in contrasts:
            low, high = c.ci or (None, None)
            writer.writerow([c.rl, c.reference, c.other, c.language, c.value, low, high,
                             c.num_tasks, c.p_value, holm_by_id.get(id(c))])  # fmt: skip


def _signed_points(value: float, ci: tuple[float, float]) -> str:
    """A change in points with its interval: "+4.2 [-1.0, +9.6]"."""
    low, high = ci
    return f"{100 * value:+.1f} [{100 * low:+.1f}, {100 * high:+.1f}]"


def _cell_text(row: RowId, language: str, cell: Cell) -> str:
    if cell.value is None:
        return "missing"
    text = f"{100 * cell.value:.1f} [{100 * cell.ci[0]:.1f}, {100 * cell.ci[1]:.1f}]"
    if cell.delta is not None:
        text += f"<br>Δ {_signed_points(cell.delta, cell.delta_ci)}"
    return f"**{text}**" if row.stage == "post_rl" and row.rl_source == language else text


def _markdown_table(matrix: Matrix) -> list[str]:
    lines = ["| row | " + " | ".join(matrix.languages) + " |"]
    lines.append("|---|" + "---|" * len(matrix.languages))
    for row in matrix.rows:
        cells = [_cell_text(row, lang, matrix.cell(row, lang)) for lang in matrix.languages]
        lines.append(f"| {row.label} | " + " | ".join(cells) + " |")
    return lines


def write_markdown(
    common: Matrix,
    full: Matrix,
    sources: list[RowSource],
    root: Path,
    path: Path,
    contrasts: Sequence[Contrast] = (),
    primary: Sequence[EndpointResult] = (),
) -> None:
    metric = f"pass@{common.k}"
    lines = [
        f"# Transfer matrix: {metric} (%) for `{root}`",
        "",
        f"Cells: {metric} in percent [95% bootstrap interval]; Δ: change against the pre-RL row",
        "of the same SFT setting, in points, paired over the same seeds and problems. **Bold**: the",
        "RL source language. Seeds of a setting are pooled per problem; runs on different micro",
        "suites (`data.seed`) add their problems side by side. Intervals resample suites, then",
        "seeds and problems within a suite (one suite: seeds and problems; one seed: problems).",
        "",
        f"## On the {common.num_common_tasks} tasks present in every column",
        "",
        "![heatmap](heatmap.png)",
        "",
        *_markdown_table(common),
        "",
        *_contrast_section(contrasts, common.languages),
        *_endpoint_section(primary, contrasts),
        "## Each language on its full problem set",
        "",
        *_markdown_table(full),
        "",
    ]
    missing = [
        (row.label, lang, common.cell(row, lang).missing)
        for row in common.rows
        for lang in common.languages
        if common.cell(row, lang).missing
    ]
    if missing:
        lines += ["## Missing cells", ""]
        lines += [f"- {label} / {lang}: {why}" for label, lang, why in missing]
        lines += [""]
    lines += ["## Sources (per-problem results behind each row)", ""]
    for source in sorted(sources, key=lambda s: (s.row.label, s.row.seed, str(s.row.data_seed))):
        where = source.eval_dir or source.origin
        state = f" (missing: {source.missing})" if source.missing else ""
        suite = "" if source.row.data_seed is None else f", data.seed {source.row.data_seed}"
        lines.append(f"- {source.row.label}, seed {source.row.seed}{suite}: `{where}`{state}")
    path.write_text("\n".join(lines) + "\n")


def _contrast_section(contrasts: Sequence[Contrast], languages: list[str]) -> list[str]:
    if not contrasts:
        return []
    return [
        "## Does RL transfer better after Parallel-SFT?",
        "",
        "ΔΔ = (Δ after Parallel-SFT) − (Δ after the other mixture), same RL, in points, paired",
        "over the seeds and problems all four rows share, [95% bootstrap interval, unadjusted:",
        "see the endpoints below]. > 0: RL helped that language more (or hurt it less) after",
        "Parallel-SFT. **Bold**: the RL source language.",
        "",
        *_contrast_table(contrasts, languages),
        "",
    ]


def _contrast_table(contrasts: Sequence[Contrast], languages: list[str]) -> list[str]:
    """One line per (RL, reference vs other mixture), one column per language."""
    table: dict[tuple[str, str, str, str], dict[str, Contrast]] = {}
    for c in contrasts:
        table.setdefault((c.rl, c.source, c.reference, c.other), {})[c.language] = c
    lines = ["| RL | SFT compared | " + " | ".join(languages) + " |"]
    lines.append("|---|---|" + "---|" * len(languages))
    for (rl, source, reference, other), by_language in table.items():
        texts = []
        for language in languages:
            c = by_language.get(language)
            if c is None or c.value is None:
                texts.append("missing")
            else:
                text = _signed_points(c.value, c.ci)
                texts.append(f"**{text}**" if language == source else text)
        lines.append(f"| {rl} | {reference} vs {other} | " + " | ".join(texts) + " |")
    return lines


def _points(value: float) -> str:
    return f"{100 * value:+.1f}"


def _primary_lines(result: EndpointResult) -> list[str]:
    head = f"**Primary** ({result.spec.name}; targets {', '.join(result.targets)}):"
    if result.value is None:
        return [f"{head} missing ({result.missing}).", ""]
    low90, high90 = result.ci90
    verdict = (
        f"equivalent to 0 within ±{100 * result.bound:.1f} points (TOST, 5%)"
        if result.equivalent
        else f"not shown equivalent to 0 within ±{100 * result.bound:.1f} points"
    )
    lines = [
        f"{head} {_signed_points(result.value, result.ci)} points, p = {result.p_value:.3g};",
        f"90% interval [{_points(low90)}, {_points(high90)}]: {verdict}. {result.num_suites}"
        f" suite(s), {result.num_seeds} seed(s), {result.num_tasks} problems.",
        "",
    ]
    c = result.components
    if c is not None:
        suite = "n/a" if c.suite is None else f"{1e4 * c.suite:.2f}"
        needed = (
            f"{result.seeds_for_power} seeds per setting"
            if result.seeds_for_power is not None
            else "not reachable with seeds alone (add suites or problems)"
        )
        lines += [
            f"Power: variance components of the per-problem ΔΔ (points²): suite {suite}, seed "
            f"{1e4 * c.seed:.2f}, problem {1e4 * c.problem:.2f}, seed × problem "
            f"{1e4 * c.residual:.2f}. For {100 * TARGET_POWER:.0f}% power to detect "
            f"±{100 * result.bound:.1f} points at {100 * ALPHA:.0f}% (two-sided) with "
            f"{result.num_suites} suite(s) of {result.num_tasks // max(result.num_suites, 1)} "
            f"problems: {needed}.",
            "",
        ]
    lines += [f"Note: {note}." for note in result.notes] + ([""] if result.notes else [])
    return lines


def _secondary_table(secondary: Sequence[Secondary]) -> list[str]:
    lines = [
        "| RL | SFT compared | language | ΔΔ [95%] | p | p (Holm) |",
        "|---|---|---|---|---|---|",
    ]
    for s in secondary:
        c = s.contrast
        text = f"{_signed_points(c.value, c.ci)} | {c.p_value:.3g} | {s.p_holm:.3g}"
        if s.p_holm <= ALPHA:
            text = f"**{_signed_points(c.value, c.ci)}** | {c.p_value:.3g} | **{s.p_holm:.3g}**"
        lines.append(f"| {c.rl} | {c.reference} vs {c.other} | {c.language} | {text} |")
    return lines


def _endpoint_section(
    primary: Sequence[EndpointResult], contrasts: Sequence[Contrast]
) -> list[str]:
    if not contrasts:
        return []
    lines = [
        "## Pre-specified endpoints",
        "",
        "Fixed before the sweep (`xlt.eval.endpoints`): one primary endpoint, every per-language",
        "ΔΔ as a secondary endpoint with Holm-adjusted p-values (family-wise 5%), and an",
        "equivalence bound so that a null result can be stated as one.",
        "",
    ]
    if not primary:
        lines += [
            f"**Primary** ({PRIMARY.name}): not in this folder (it needs "
            f"{PRIMARY.rl_algorithm.upper()} {PRIMARY.rl_source} after {PRIMARY.reference} and "
            f"after {PRIMARY.other} SFT).",
            "",
        ]
    for result in primary:
        lines += _primary_lines(result)
    secondary = secondary_endpoints(contrasts)
    if secondary:
        lines += [
            f"**Secondary** ({len(secondary)} ΔΔ; bold: Holm-adjusted p ≤ {ALPHA:g}):",
            "",
            *_secondary_table(secondary),
            "",
        ]
    return lines


def make_report(
    root: str | Path, out: str | Path | None = None, *, k: int = 1, num_bootstrap: int = 1000
) -> dict[str, Path]:
    root = Path(root)
    sources = find_sources(root)
    if not sources:
        raise ValueError(f"{root}: no runs (config.json) or evaluations (row.json) found under it")
    out = Path(out) if out is not None else root / "report"
    out.mkdir(parents=True, exist_ok=True)
    common = build_matrix(sources, k=k, subset="common", num_bootstrap=num_bootstrap)
    full = build_matrix(sources, k=k, subset="full", num_bootstrap=num_bootstrap)
    paths = {"csv": out / "matrix.csv", "markdown": out / "matrix.md"}
    write_csv([common, full], paths["csv"])
    contrasts = mixture_contrasts(common, num_bootstrap=num_bootstrap)
    if contrasts:
        paths["contrast"] = out / "contrast.csv"
        write_contrast_csv(contrasts, paths["contrast"])
    primary = primary_endpoint(common, num_bootstrap=num_bootstrap) if contrasts else []
    write_markdown(common, full, sources, root, paths["markdown"], contrasts, primary)
    title = "/".join(root.resolve().parts[-2:])
    paths["heatmap"] = plot_matrix(common, out / "heatmap.png", title=title)
    paths["heatmap_full"] = plot_matrix(full, out / "heatmap_full.png", title=title)
    return paths


def log_report(paths: dict[str, Path], tracker) -> None:
    """Mirror the matrix (as a table) and the heatmap (as an image) to a tracker."""
    with paths["csv"].open() as handle:
        rows = list(csv.reader(handle))
    tracker.log_table("transfer/matrix", rows[0], rows[1:])
    tracker.log_image("transfer/heatmap", paths["heatmap"])


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m xlt.report", description=__doc__.split("\n")[0]
    )
    parser.add_argument("dir", help="a run folder or a multirun sweep folder")
    parser.add_argument("--out", default=None, help="default: DIR/report")
    parser.add_argument("--k", type=int, default=1, help="the pass@k in the cells")
    parser.add_argument("--bootstrap", type=int, default=1000, help="bootstrap resamples")
    parser.add_argument("--wandb", action="store_true", help="log the table and heatmap to W&B")
    parser.add_argument("--wandb-project", default="xlt")
    parser.add_argument("--wandb-mode", default="offline", choices=["offline", "online"])
    args = parser.parse_args(argv)
    try:
        paths = make_report(args.dir, args.out, k=args.k, num_bootstrap=args.bootstrap)
    except ValueError as error:
        print(f"xlt.report: error: {error}", file=sys.stderr)
        return 2
    for kind, path in paths.items():
        print(f"{kind}: {path}")
    if args.wandb:
        from xlt.tracking.wandb import WandbTracker

        group = Path(args.dir).resolve().name
        tracker = WandbTracker(project=args.wandb_project, mode=args.wandb_mode, group=group,
                               job_type="report", dir=paths["csv"].parent)  # fmt: skip
        try:
            log_report(paths, tracker)
        finally:
            tracker.close()
        print(f"wandb: {tracker.run_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
