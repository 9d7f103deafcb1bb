"""One checkpoint's representation analysis: hidden states -> per-layer metrics -> analysis.json.

    from xlt.analysis import analyze_programs, benchmark_programs, select_programs
    programs = select_programs(benchmark_programs("humaneval-x"), max_tasks=100)
    analysis = analyze_programs(model, tokenizer, programs, pooling="mean", batch_size=16)
    write_analysis(analysis, out / "analysis.json")

The analysis is a JSON-able dict (schema below); `tracker_metrics` flattens it to
slash-separated keys `analysis/<checkpoint>/layer<i>/<metric>` for a tracker.

    {"schema": 1, "checkpoint": "sft", "pooling": "mean", "center": false,
     "num_layers": 3,              # hidden-state layers, embeddings included
     "languages": [...], "num_tasks": 164, "num_programs": 984,
     "programs_per_language": {"py": 164, ...},
     "num_truncated": 0, "num_tokens_mean": 180.2,
     "throughput": {"elapsed_s": ..., "programs_per_s": ..., "tokens_per_s": ...},
     "layers": [{"layer": 0, "retrieval_acc": ..., "retrieval_chance": ...,
                 "cosine_matched": ..., "cosine_unmatched": ..., "cosine_gap": ...,
                 "silhouette_problem": ..., "silhouette_language": ...,
                 "function_vs_language": ..., "retrieval_acc_by_pair": {"py_to_go": ...},
                 "cosine_matched_by_pair": {...}, "cosine_unmatched_by_pair": {...}}, ...],
     "lexical": {"retrieval_acc": ..., ...}}  # the same metrics on TF-IDF vectors of the
                                              # same texts (xlt.analysis.lexical)

NaN (a metric undefined for the data, e.g. no shared problem) is stored as null.
The analyze stage adds "source" ("data", "humaneval-x:solution", ...) and "model"
(the checkpoint's path or Hub name).
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from xlt.analysis.hidden_states import pooled_hidden_states
from xlt.analysis.lexical import lexical_metrics
from xlt.analysis.metrics import center_rows, representation_metrics
from xlt.analysis.programs import ParallelProgram

SCHEMA_VERSION = 1

# Scalar per-layer metrics, in the order plots and logs show them.
LAYER_METRICS = (
    "retrieval_acc",
    "cosine_matched",
    "cosine_unmatched",
    "cosine_gap",
    "silhouette_problem",
    "silhouette_language",
    "function_vs_language",
)


def analyze_programs(
    model,
    tokenizer,
    programs: Sequence[ParallelProgram],
    *,
    pooling: str = "mean",
    batch_size: int = 16,
    max_tokens: int | None = None,
    center: bool = False,
    checkpoint: str = "",
    embeddings_path: str | Path | None = None,
) -> dict[str, Any]:
    """Pool every layer over every program and compute the metrics of `xlt.analysis.metrics`.

    center: subtract each layer's mean embedding (over all programs) before the
    metrics. Large LLMs' hidden states share a big common direction that pushes every
    cosine towards 1; centring removes it and leaves retrieval rankings comparable
    across layers. Off by default, so cosines are the raw ones.
    embeddings_path: also save the pooled states as a .npz (states_LND, tasks, languages).
    """
    texts = [p.program for p in programs]
    tasks = [p.task for p in programs]
    languages = [p.language for p in programs]
    pooled = pooled_hidden_states(
        model, tokenizer, texts, pooling=pooling, batch_size=batch_size, max_tokens=max_tokens
    )
    states_LND = pooled.states_LND
    if embeddings_path is not None:
        np.savez_compressed(
            embeddings_path,
            states_LND=pooled.states_LND,
            tasks=np.array(tasks),
            languages=np.array(languages),
        )
    layers = []
    for layer, states_ND in enumerate(states_LND):
        if center:
            states_ND = center_rows(states_ND)
        layers.append({"layer": layer, **representation_metrics(states_ND, tasks, languages)})
    return _json_safe(
        {
            "schema": SCHEMA_VERSION,
            "checkpoint": checkpoint,
            "pooling": pooling,
            "center": center,
            "num_layers": len(layers),
            "languages": sorted(set(languages)),
            "num_tasks": len(set(tasks)),
            "num_programs": len(programs),
            "programs_per_language": dict(sorted(Counter(languages).items())),
            "num_truncated": pooled.num_truncated,
            "num_tokens_mean": float(pooled.num_tokens_N.mean()),
            "throughput": {
                "elapsed_s": pooled.elapsed_s,
                "programs_per_s": pooled.programs_per_s,
                "tokens_per_s": pooled.tokens_per_s,
            },
            "layers": layers,
            # What a bag of tokens of the same texts scores: the bar a checkpoint must clear.
            "lexical": lexical_metrics(texts, tasks, languages),
        }
    )


def tracker_metrics(analysis: dict[str, Any], checkpoint: str | None = None) -> dict[str, float]:
    """`analysis/<checkpoint>/layer<i>/<metric>` (and `.../retrieval_acc/<a>_to_<b>`) -> value.

    Undefined values (null) are left out. Without a checkpoint name the keys are
    `analysis/layer<i>/<metric>`.
    """
    name = checkpoint if checkpoint is not None else analysis.get("checkpoint", "")
    prefix = f"analysis/{name}/" if name else "analysis/"
    metrics: dict[str, float] = {}
    for entry in analysis["layers"]:
        layer_prefix = f"{prefix}layer{entry['layer']}/"
        for key in (*LAYER_METRICS, "retrieval_chance"):
            if entry.get(key) is not None:
                metrics[layer_prefix + key] = entry[key]
        for pair, value in entry.get("retrieval_acc_by_pair", {}).items():
            if value is not None:
                metrics[f"{layer_prefix}retrieval_acc/{pair}"] = value
    for key, value in (analysis.get("lexical") or {}).items():
        if key in (*LAYER_METRICS, "retrieval_chance") and value is not None:
            metrics[f"{prefix}lexical/{key}"] = value
    metrics[prefix + "programs_per_s"] = analysis["throughput"]["programs_per_s"]
    return metrics


def write_analysis(analysis: dict[str, Any], path: str | Path) -> Path:
    path = Path(path)
    path.write_text(json.dumps(_json_safe(analysis), indent=2, allow_nan=False) + "\n")
    return path


def read_analysis(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    if path.is_dir():
        path = path / "analysis.json"
    analysis = json.loads(path.read_text())
    if analysis.get("schema") != SCHEMA_VERSION:
        raise ValueError(
            f"{path}: analysis schema {analysis.get('schema')!r}, expected {SCHEMA_VERSION}"
        )
    return analysis


def _json_safe(value: Any) -> Any:
    """NaN/inf -> None, numpy scalars -> Python numbers, recursively."""
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
