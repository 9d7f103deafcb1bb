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
    """
    analyses = {label: read_analysis(path) for label, path in sources.items()}
    paths = plot_analyses(analyses, out_dir)
    if tracker is not None:
        for name, path in paths.items():
            tracker.log_image(f"{key_prefix}/{name}", path)
    return paths


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
