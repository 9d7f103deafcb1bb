"""The transfer matrix as an annotated heatmap PNG.

Left panel: pass@k in percent (sequential colours), each cell annotated with its
value and the half-width of its 95% bootstrap interval. Right panel: the change
RL caused, in points, against the pre-RL row of the same SFT setting (a
diverging map centred on 0: blue = gain, red = loss), annotated with the delta
and its interval. Missing cells are hatched grey and say "missing"; the RL
source language of each post-RL row is outlined.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; never a display
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.colors import TwoSlopeNorm  # noqa: E402
from matplotlib.patches import Rectangle  # noqa: E402

from xlt.eval.matrix import Matrix  # noqa: E402

MISSING_COLOUR = "#d9d9d9"
REFERENCE_COLOUR = "#f2f2f2"


def _text_colour(rgba) -> str:
    red, green, blue = rgba[:3]
    return "black" if 0.299 * red + 0.587 * green + 0.114 * blue > 0.55 else "white"


def _mark_missing(ax, col: int, row: int, text: str = "missing") -> None:
    """Hatched grey for a missing cell; plain pale grey for a reference (pre-RL) cell."""
    missing = text == "missing"
    patch = Rectangle(
        (col - 0.5, row - 0.5), 1, 1, linewidth=0, edgecolor="#a0a0a0",
        facecolor=MISSING_COLOUR if missing else REFERENCE_COLOUR, hatch="//" if missing else None,
    )  # fmt: skip
    ax.add_patch(patch)
    ax.text(col, row, text, ha="center", va="center", fontsize=8, color="#505050", style="italic")


def _panel(ax, grid_RL, cmap, norm, annotate, matrix: Matrix, missing_text):
    shown = np.ma.masked_invalid(grid_RL)
    image = ax.imshow(shown, cmap=cmap, norm=norm, aspect="auto")
    for r, row in enumerate(matrix.rows):
        for c, language in enumerate(matrix.languages):
            cell = matrix.cell(row, language)
            if np.isnan(grid_RL[r, c]):
                _mark_missing(ax, c, r, missing_text(row, cell))
                continue
            colour = _text_colour(image.cmap(image.norm(grid_RL[r, c])))
            main, detail = annotate(cell)
            ax.text(
                c,
                r - 0.12,
                main,
                ha="center",
                va="center",
                fontsize=10,
                fontweight="bold",
                color=colour,
            )
            ax.text(c, r + 0.22, detail, ha="center", va="center", fontsize=7, color=colour)
            if row.stage == "post_rl" and row.rl_source == language:
                ax.add_patch(
                    Rectangle(
                        (c - 0.48, r - 0.48), 0.96, 0.96, fill=False, edgecolor="black", linewidth=2
                    )
                )
    ax.set_xticks(range(len(matrix.languages)), matrix.languages, fontsize=10)
    ax.xaxis.tick_top()
    ax.set_yticks(range(len(matrix.rows)), [row.label for row in matrix.rows], fontsize=9)
    ax.set_xticks(np.arange(-0.5, len(matrix.languages)), minor=True)
    ax.set_yticks(np.arange(-0.5, len(matrix.rows)), minor=True)
    ax.grid(which="minor", color="white", linewidth=2)
    ax.tick_params(which="minor", length=0)
    for r in range(1, len(matrix.rows)):  # a rule between SFT settings
        if matrix.rows[r].sft_key != matrix.rows[r - 1].sft_key:
            ax.axhline(r - 0.5, color="black", linewidth=1.5)
    return image


def plot_matrix(matrix: Matrix, path: str | Path, *, title: str = "") -> Path:
    """Write the heatmap PNG for `matrix`; returns its path."""
    num_rows, num_cols = len(matrix.rows), len(matrix.languages)
    values_RL = np.full((num_rows, num_cols), np.nan)
    deltas_RL = np.full((num_rows, num_cols), np.nan)
    for r, row in enumerate(matrix.rows):
        for c, language in enumerate(matrix.languages):
            cell = matrix.cell(row, language)
            if cell.value is not None:
                values_RL[r, c] = 100 * cell.value
            if cell.delta is not None:
                deltas_RL[r, c] = 100 * cell.delta
    has_deltas = not np.all(np.isnan(deltas_RL))
    width = 2.2 + 1.05 * num_cols * (2 if has_deltas else 1) + (1.5 if has_deltas else 0.8)
    fig, axes = plt.subplots(
        1, 2 if has_deltas else 1, figsize=(width, 1.6 + 0.62 * num_rows), squeeze=False,
        gridspec_kw={"wspace": 0.3},
    )  # fmt: skip
    metric = f"pass@{matrix.k}"

    def value_text(cell):
        low, high = cell.ci
        return f"{100 * cell.value:.1f}", f"±{50 * (high - low):.1f}"

    top = np.nanmax(values_RL) if not np.all(np.isnan(values_RL)) else 100
    image = _panel(
        axes[0, 0], values_RL, plt.get_cmap("YlGnBu"), plt.Normalize(0, max(top, 10.0)),
        value_text, matrix, lambda row, cell: "missing",
    )  # fmt: skip
    fig.colorbar(image, ax=axes[0, 0], fraction=0.04, pad=0.02).set_label(f"{metric} (%)")
    axes[0, 0].set_title(f"{metric} (%), ± half 95% CI", fontsize=11, pad=28)

    if has_deltas:

        def delta_text(cell):
            low, high = cell.delta_ci
            return f"{100 * cell.delta:+.1f}", f"[{100 * low:+.1f}, {100 * high:+.1f}]"

        def delta_missing(row, cell):
            return "reference" if row.stage == "pre_rl" and cell.value is not None else "missing"

        span = max(float(np.nanmax(np.abs(deltas_RL))), 1.0)
        image = _panel(
            axes[0, 1], deltas_RL, plt.get_cmap("RdBu"), TwoSlopeNorm(0.0, -span, span),
            delta_text, matrix, delta_missing,
        )  # fmt: skip
        axes[0, 1].set_yticks([])
        fig.colorbar(image, ax=axes[0, 1], fraction=0.04, pad=0.02).set_label("Δ points vs pre-RL")
        axes[0, 1].set_title("Δ vs pre-RL row of the same SFT (points)", fontsize=11, pad=28)

    subset = (
        f"{matrix.num_common_tasks} tasks common to all columns"
        if matrix.subset == "common"
        else "each language's full set"
    )
    caption = f"{title + ': ' if title else ''}{subset}; black box = RL source language"
    fig.suptitle(caption, fontsize=10, y=0.02, va="bottom")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=130, bbox_inches="tight")
    plt.close(fig)
    return path
