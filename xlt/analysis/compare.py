"""Compare checkpoints' representation analyses: one PNG per metric, layer on the x axis.

    python -m xlt.analysis.compare OUT_DIR base=artifacts/analyze/<key> "parallel SFT"=path/analysis.json
    python -m xlt.analysis.compare OUT_DIR multirun/2026-11-25/12-00-00   # every run below it

A source is `label=path` (an analysis.json or the analyze stage folder holding one)
or a run/sweep folder: every `run.json` below it contributes its `analysis_base`,
`analysis_sft` and `analysis_rl` artifacts, labelled from the run's setting
("base", "parallel SFT", "parallel SFT + RL (py)"); an artifact shared by several
runs (the base model) is drawn once.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping
from pathlib import Path

from xlt.analysis.analyze import read_analysis
from xlt.analysis.plots import plot_analyses

ROLE_PREFIX = "analysis_"


def compare_checkpoints(
    sources: Mapping[str, str | Path],
    out_dir: str | Path,
    *,
    tracker=None,
    key_prefix: str = "analysis/compare",
) -> dict[str, Path]:
    """Plot the analyses at `sources` (label -> analysis.json or its folder) into `out_dir`.

    With a tracker, every PNG is also logged as an image under `<key_prefix>/<metric>`.
    `summary.md` beside them: each checkpoint's retrieval next to the lexical baseline.
    """
    analyses = {label: read_analysis(path) for label, path in sources.items()}
    paths = plot_analyses(analyses, out_dir)
    if tracker is not None:
        for name, path in paths.items():
            tracker.log_image(f"{key_prefix}/{name}", path)
    paths["summary"] = Path(out_dir) / "summary.md"
    paths["summary"].write_text("\n".join(summary_table(analyses)) + "\n")
    return paths


def summary_table(analyses: Mapping[str, dict]) -> list[str]:
    """Markdown: each checkpoint's retrieval (last and best layer) beside the lexical baseline
    (TF-IDF of the same texts) and chance; a checkpoint below its baseline shows "below"."""
    lines = [
        "| checkpoint | retrieval, last layer | best layer | TF-IDF baseline | chance |",
        "|---|---|---|---|---|",
    ]
    for label, analysis in analyses.items():
        layers = [e for e in analysis["layers"] if e.get("retrieval_acc") is not None]
        if not layers:
            lines.append(f"| {label} | n/a | n/a | n/a | n/a |")
            continue
        last, best = layers[-1], max(layers, key=lambda e: e["retrieval_acc"])
        baseline = (analysis.get("lexical") or {}).get("retrieval_acc")
        lexical = "not computed" if baseline is None else f"{baseline:.3f}"
        if baseline is not None and best["retrieval_acc"] < baseline:
            lexical += " (every layer below)"
        lines.append(
            f"| {label} | {last['retrieval_acc']:.3f} | {best['retrieval_acc']:.3f} "
            f"(layer {best['layer']}) | {lexical} | {last['retrieval_chance']:.3f} |"
        )
    return lines


def discover_runs(folder: str | Path) -> dict[str, Path]:
    """label -> analyze-stage folder for every run.json under `folder` (itself included)."""
    found: dict[str, Path] = {}
    seen: set[Path] = set()
    for run_json in sorted(Path(folder).rglob("run.json")):
        record = json.loads(run_json.read_text())
        setting = record.get("setting", {})
        for role, path in record.get("artifacts", {}).items():
            if not role.startswith(ROLE_PREFIX) or Path(path) in seen:
                continue
            seen.add(Path(path))
            label = checkpoint_label(role.removeprefix(ROLE_PREFIX), setting)
            if label in found:  # e.g. seeds of one setting
                label = f"{label} seed {setting.get('seed')}"
            found[label] = Path(path)
    if not found:
        raise ValueError(
            f"no run.json with analysis artifacts under {folder}; run with analysis enabled"
        )
    return found


def checkpoint_label(role: str, setting: Mapping) -> str:
    """A readable legend label from a checkpoint's role (base/sft/rl) and its run's setting."""
    mixture = setting.get("sft_mixture")
    sft = f"{mixture} SFT" if mixture and mixture != "none" else ""
    if role == "base":
        return "base"
    if role == "sft":
        return sft or "SFT"
    source = setting.get("rl_source_language")
    rl = f"RL ({source})" if source else "RL"
    return f"{sft} + {rl}" if sft else rl


def parse_sources(arguments: list[str]) -> dict[str, Path]:
    sources: dict[str, Path] = {}
    for argument in arguments:
        if "=" in argument:
            label, path = argument.split("=", 1)
            sources[label] = Path(path)
        else:
            sources.update(discover_runs(argument))
    return sources


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("out_dir", type=Path, help="folder for the PNGs")
    parser.add_argument(
        "sources", nargs="+", help="label=path/to/analysis.json, or a run/sweep folder"
    )
    args = parser.parse_args(argv)
    paths = compare_checkpoints(parse_sources(args.sources), args.out_dir)
    for name, path in paths.items():
        print(f"{name}: {path}")


if __name__ == "__main__":
    main()
