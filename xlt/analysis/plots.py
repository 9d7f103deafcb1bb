"""Plots of the per-layer metrics: layer on the x axis, one line per checkpoint, one PNG per metric.

    paths = plot_analyses({"base": a0, "parallel SFT": a1}, out_dir)   # analysis dicts
    paths["retrieval_acc"]  -> out_dir/retrieval_acc.png; paths["overview"] -> all panels

`xlt.analysis.compare` is the command line front end (several analysis.json
files or run folders in, PNGs and W&B images out).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only; never needs a display
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402


@dataclass(frozen=True)
class MetricStyle:
    title: str
    reading: str  # one line that says how to read the plot
    # Fixed y range where the scale has an absolute meaning (accuracy); elsewhere the
    # axis fits the data, since real differences between checkpoints are often small.
    ylim: tuple[float, float] | None = None
    reference: float | None = None  # a horizontal guide (0 for signed scores)


METRIC_STYLES: dict[str, MetricStyle] = {
    "retrieval_acc": MetricStyle(
        "Cross-language retrieval accuracy",
        "share of programs whose nearest program in another language solves the same problem "
        "(dashed: chance; dotted: TF-IDF bag of tokens of the same texts)",
        ylim=(0.0, 1.0),
    ),
    "cosine_matched": MetricStyle(
        "Cosine similarity of parallel programs",
        "mean cosine between the same problem's programs in two languages",
    ),
    "cosine_unmatched": MetricStyle(
        "Cosine similarity of unrelated programs",
        "mean cosine between different problems' programs in two languages",
    ),
    "cosine_gap": MetricStyle(
        "Cosine gap: parallel minus unrelated",
        "above 0: programs solving the same problem are closer than unrelated ones",
        reference=0.0,
    ),
    "silhouette_problem": MetricStyle(
        "Silhouette by problem",
        "1: programs cluster tightly by problem; 0 or below: no problem clusters",
        reference=0.0,
    ),
    "silhouette_language": MetricStyle(
        "Silhouette by language",
        "1: programs cluster tightly by language; 0 or below: no language clusters",
        reference=0.0,
    ),
    "function_vs_language": MetricStyle(
        "Function vs language clustering",
        "silhouette by problem minus silhouette by language; above 0: organised by function",
        reference=0.0,
    ),
}


LINESTYLES = ("-", "--", "-.", ":")
MARKERS = ("o", "s", "^", "D", "v", "P")


def plot_analyses(
    analyses: Mapping[str, dict[str, Any]],
    out_dir: str | Path,
    *,
    metrics: tuple[str, ...] = tuple(METRIC_STYLES),
) -> dict[str, Path]:
    """One PNG per metric plus `overview.png` (every metric in one grid); returns name -> path."""
    if not analyses:
        raise ValueError("nothing to plot: pass at least one labelled analysis")
    unknown = sorted(set(metrics) - METRIC_STYLES.keys())
    if unknown:
        raise ValueError(f"no plot style for {unknown}; known metrics: {', '.join(METRIC_STYLES)}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {}
    for metric in metrics:
        fig, ax = plt.subplots(figsize=(8, 4.8))
        _draw(ax, analyses, metric, legend=True)
        ax.set_title(f"{METRIC_STYLES[metric].title}\n", fontsize=13)
        ax.text(0.5, 1.02, METRIC_STYLES[metric].reading, transform=ax.transAxes, ha="center",
                va="bottom", fontsize=8.5, color="0.3", wrap=True)  # fmt: skip
        fig.text(0.01, 0.01, _footnote(analyses), fontsize=7.5, color="0.4")
        fig.tight_layout(rect=(0, 0.03, 1, 1))
        paths[metric] = out_dir / f"{metric}.png"
        fig.savefig(paths[metric], dpi=130)
        plt.close(fig)
    paths["overview"] = _overview(analyses, metrics, out_dir / "overview.png")
    return paths


def _overview(analyses: Mapping[str, dict[str, Any]], metrics: tuple[str, ...], path: Path) -> Path:
    columns = 2 if len(metrics) > 1 else 1
    rows = -(-len(metrics) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(6.2 * columns, 3.4 * rows), squeeze=False)
    for ax, metric in zip(axes.flat, metrics, strict=False):
        _draw(ax, analyses, metric, legend=False)
        ax.set_title(METRIC_STYLES[metric].title, fontsize=11)
    for ax in list(axes.flat)[len(metrics) :]:
        ax.axis("off")
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower right", fontsize=9, frameon=True,
               bbox_to_anchor=(0.98, 0.04) if len(metrics) % 2 else (0.5, 0.0))  # fmt: skip
    fig.suptitle("Representation analysis by layer", fontsize=14)
    fig.text(0.01, 0.005, _footnote(analyses), fontsize=7.5, color="0.4")
    fig.tight_layout(rect=(0, 0.02, 1, 0.98))
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _draw(ax, analyses: Mapping[str, dict[str, Any]], metric: str, *, legend: bool) -> None:
    style = METRIC_STYLES[metric]
    colors = plt.get_cmap("tab10").colors
    chances, lexical = set(), set()
    for index, (label, analysis) in enumerate(analyses.items()):
        layers = [entry["layer"] for entry in analysis["layers"]]
        values = [_nan_if_none(entry.get(metric)) for entry in analysis["layers"]]
        # Checkpoints often coincide (an RL run that barely moved the weights): each
        # later line is thinner, dashed differently and marked differently, so a line
        # drawn over another still shows both.
        ax.plot(
            layers,
            values,
            color=colors[index % len(colors)],
            linestyle=LINESTYLES[index % len(LINESTYLES)],
            linewidth=max(3.0 - 0.6 * index, 1.2),
            marker=MARKERS[index % len(MARKERS)],
            markersize=max(7.0 - 1.2 * index, 3.5),
            label=label,
        )
        if metric == "retrieval_acc":
            chances.update(
                round(_nan_if_none(e.get("retrieval_chance")), 6) for e in analysis["layers"]
            )
        if (analysis.get("lexical") or {}).get(metric) is not None:
            lexical.add(round(analysis["lexical"][metric], 6))
    for value in sorted(lexical):  # the same texts give one line, other texts another
        ax.axhline(value, color="0.2", linestyle=":", linewidth=1.5)
        ax.annotate("TF-IDF", (0.005, value), xycoords=("axes fraction", "data"), ha="left",
                    va="bottom", fontsize=8, color="0.2")  # fmt: skip
    for chance in sorted(chances):
        ax.axhline(chance, color="0.45", linestyle="--", linewidth=1)
    if chances:
        ax.annotate("chance", (0.995, max(chances)), xycoords=("axes fraction", "data"), ha="right",
                    va="bottom", fontsize=8, color="0.35")  # fmt: skip
    if style.reference is not None:
        ax.axhline(style.reference, color="0.75", linewidth=1, zorder=0)
    if style.ylim is not None:
        low, high = style.ylim
        pad = 0.03 * (high - low)
        ax.set_ylim(low - pad, high + pad)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("layer (0 = token embeddings)")
    ax.set_ylabel(metric)
    ax.grid(alpha=0.3)
    if legend:
        ax.legend(fontsize=9, loc="best", frameon=True)


def _footnote(analyses: Mapping[str, dict[str, Any]]) -> str:
    first = next(iter(analyses.values()))
    source = f"{first['source']}: " if first.get("source") else ""
    return (
        f"{source}{first['num_tasks']} problems in {', '.join(first['languages'])}; "
        f"{first['num_programs']} programs; pooling={first['pooling']}"
        + ("; centred" if first.get("center") else "")
    )


def _nan_if_none(value: float | None) -> float:
    return float("nan") if value is None else value
