"""Representation analysis: are parallel programs close by what they compute or by language?

For a checkpoint and a set of parallel programs (the same problems in several
languages), pool each layer's hidden states per program and measure, per layer:
cross-language retrieval accuracy, matched vs unmatched cosine similarity, and
silhouette by problem vs by language. See docs/analysis.md.

- `programs`: parallel programs from a parallel.jsonl artifact or benchmark solutions
- `hidden_states`: batched per-layer pooled hidden states (CPU or one GPU)
- `metrics`: pure metric functions on embedding arrays
- `analyze`: one checkpoint -> analysis.json (+ tracker metrics)
- `plots`: one PNG per metric, layer on the x axis, one line per checkpoint
- `compare` (import it from `xlt.analysis.compare`; it is also `python -m xlt.analysis.compare`):
  the checkpoint comparison from analysis.json files or run folders
"""

from xlt.analysis.analyze import (
    LAYER_METRICS,
    analyze_programs,
    read_analysis,
    tracker_metrics,
    write_analysis,
)
from xlt.analysis.hidden_states import PooledStates, pooled_hidden_states
from xlt.analysis.plots import plot_analyses
from xlt.analysis.programs import (
    ParallelProgram,
    benchmark_programs,
    programs_from_problems,
    read_parallel_jsonl,
    select_programs,
)

__all__ = [
    "LAYER_METRICS",
    "ParallelProgram",
    "PooledStates",
    "analyze_programs",
    "benchmark_programs",
    "plot_analyses",
    "pooled_hidden_states",
    "programs_from_problems",
    "read_analysis",
    "read_parallel_jsonl",
    "select_programs",
    "tracker_metrics",
    "write_analysis",
]
