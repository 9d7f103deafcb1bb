"""Evaluation: pass@k, scoring completions, the evaluation routine, the transfer matrix.

- `passk`: the unbiased pass@k estimator and bootstrap intervals (pure functions);
- `scoring`: completions (completion or chat format) -> programs -> execution -> per-problem results;
- `evaluate`: generate n samples per problem with a generation backend, score, resume;
- `results`: the on-disk layout of an evaluation row (`row.json` + `results/<lang>.jsonl`);
- `rows`: which matrix row an evaluation is; `matrix` + `heatmap`: the matrix and its PNG;
- `score`: the scoring CLI (`python -m xlt.eval.score`). The report is `python -m xlt.report`.
See docs/evaluation.md.
"""

from xlt.eval.passk import bootstrap_ci, mean_pass_at_k, paired_bootstrap_ci, pass_at_k

__all__ = ["bootstrap_ci", "mean_pass_at_k", "paired_bootstrap_ci", "pass_at_k"]
