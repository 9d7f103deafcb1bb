"""Throughput of the representation analysis for a tiny model: programs per second.

    python -m xlt.bench.analysis                       # micro-scale tiny model, HumanEval-X, CPU
    python -m xlt.bench.analysis --num-tasks 40 --repeats 3 --device cuda

Measures, in one run on the same programs and model:
- baseline: one program per forward pass, in input order (what a naive loop does);
- batched: `--batch-size` programs per pass, length-sorted (what the stage does);
- the metric computation for every layer (retrieval, cosines, silhouettes).
Prints programs/s and tokens/s for each, and the batched/baseline speed-up. The best of
`--repeats` timings is reported, since other processes share the CPU.
The model is the micro scale's default architecture (conf/model/tiny_llama.yaml),
randomly initialised: throughput does not depend on the weights' values.
"""

from __future__ import annotations

import argparse
import os
import time

import torch

from xlt.analysis import benchmark_programs, pooled_hidden_states, select_programs
from xlt.analysis.metrics import representation_metrics
from xlt.config import ModelConfig
from xlt.models import build_tiny_model, build_tokenizer


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--benchmark", default="humaneval-x", choices=("humaneval-x", "mbxp"))
    parser.add_argument("--num-tasks", type=int, default=60, help="problems (x every language)")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    programs = select_programs(benchmark_programs(args.benchmark), max_tasks=args.num_tasks)
    texts = [p.program for p in programs]
    arch = ModelConfig()  # the micro scale's tiny Llama
    tokenizer = build_tokenizer(texts, vocab_size=arch.vocab_size)
    model = build_tiny_model(
        tokenizer,
        hidden_size=arch.hidden_size,
        num_layers=arch.num_layers,
        num_heads=arch.num_heads,
        intermediate_size=arch.intermediate_size,
        max_seq_len=arch.max_seq_len,
        seed=0,
    ).to(args.device)
    print(
        f"{len(texts)} programs ({args.num_tasks} {args.benchmark} problems x "
        f"{len({p.language for p in programs})} languages); tiny Llama hidden={arch.hidden_size} "
        f"layers={arch.num_layers}; device={args.device}; torch threads={torch.get_num_threads()}"
    )

    def best(batch_size: int, sort_by_length: bool):
        runs = [
            pooled_hidden_states(
                model, tokenizer, texts, batch_size=batch_size, sort_by_length=sort_by_length
            )
            for _ in range(args.repeats)
        ]
        return min(runs, key=lambda r: r.elapsed_s)

    baseline = best(batch_size=1, sort_by_length=False)
    batched = best(batch_size=args.batch_size, sort_by_length=True)
    tasks = [p.task for p in programs]
    languages = [p.language for p in programs]
    metric_times = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        for states_ND in batched.states_LND:
            representation_metrics(states_ND, tasks, languages)
        metric_times.append(time.perf_counter() - start)

    for name, result in (
        ("baseline (batch 1, input order)", baseline),
        (f"batched ({args.batch_size}, sorted)", batched),
    ):
        print(
            f"{name:34s} {result.programs_per_s:9.1f} programs/s {result.tokens_per_s:11.0f} tokens/s "
            f"({result.elapsed_s:.2f} s, {result.num_truncated} truncated)"
        )
    print(f"speed-up batched / baseline: {batched.programs_per_s / baseline.programs_per_s:.2f}x")
    num_layers = batched.states_LND.shape[0]
    print(
        f"metrics for {num_layers} layers: {min(metric_times):.3f} s "
        f"({len(texts) / min(metric_times):.0f} programs/s)"
    )
    total_s = batched.elapsed_s + min(metric_times)
    print(f"end to end (batched states + metrics): {len(texts) / total_s:.1f} programs/s")


if __name__ == "__main__":
    main()
