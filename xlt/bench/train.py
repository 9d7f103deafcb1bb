"""SFT throughput: xlt's DeepSpeed loop against a plain `transformers.Trainer`, in one run.

    python -m xlt.bench.train                          # CPU defaults (a few minutes on 2 cores)
    python -m xlt.bench.train --steps 40 --repeats 3 --parallel zero3

Both sides train the same tiny Llama (same seed, so the same initial weights) on the same
pre-tokenized SFT examples (completion-only labels, right padding to the longest in the batch)
with the same batch size, AdamW settings and LR schedule, fp32 on CPU:
- baseline: `transformers.Trainer` with a collator that pads exactly like xlt's;
- xlt: `CausalLMTrainer` (DeepSpeed engine, `--parallel` plan, default ZeRO-0) as the SFT stage
  runs it, with length-grouped batches (its default: less compute on padding);
- xlt_unsorted: the same loop with `length_grouped=False` (random batches, like the baseline's
  sampler), which shows how much of the ratio the loop itself accounts for.
Each measurement runs in a fresh child process, so its peak resident memory (ru_maxrss) is its
own; sides alternate for `--repeats` rounds and the best of each is kept. Throughput counts
non-pad tokens from the end of step `--warmup` to the end of the last step, per wall-clock
second and per second of the process's CPU time: with one thread the two agree on an idle
machine, and the CPU-time figure stays steady when other jobs share the cores (wall time then
measures the load as much as the code). Prints both ratios xlt/baseline and peak memory.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import resource
import tempfile
import time

SIDES = ("baseline", "xlt", "xlt_unsorted")


def _records(num_examples: int, seed: int) -> list[dict]:
    """Code-like SFT pairs of varied length (so padding happens, as in real SFT batches)."""
    rng = random.Random(seed)
    names = ["total", "count", "value", "items", "result", "index", "left", "right"]
    records = []
    for i in range(num_examples):
        body = [f"    {rng.choice(names)} = {rng.choice(names)} + {rng.randint(0, 99)}"
                for _ in range(rng.randint(2, 14))]  # fmt: skip
        prompt = (
            f"# task {i}: combine the values\ndef solve_{i}({', '.join(rng.sample(names, 3))}):\n"
        )
        records.append({"prompt": prompt, "response": "\n".join(body) + "\n    return total\n"})
    return records


def _setting(args):
    """Tokenizer, model and examples: identical in every child (all seeded)."""
    from xlt.models import build_tiny_model, build_tokenizer
    from xlt.train.data import build_sft_examples

    records = _records(args.num_examples, seed=0)
    tokenizer = build_tokenizer([r["prompt"] + r["response"] for r in records], args.vocab_size)
    model = build_tiny_model(
        tokenizer, args.hidden_size, args.num_layers, args.num_heads, 4 * args.hidden_size,
        max_seq_len=args.seq_len, seed=0,
    )  # fmt: skip
    examples, _ = build_sft_examples(records, tokenizer, args.seq_len)
    return tokenizer, model, examples


class _StepClock:
    """Wall-clock and process CPU time at the end of each optimizer step."""

    def __init__(self):
        self.ends: list[tuple[float, float]] = []

    def log(self, metrics, step):  # xlt's Tracker.log
        self.ends.append((time.perf_counter(), time.process_time()))


def _run_xlt(
    args, tokenizer, model, examples, length_grouped: bool
) -> tuple[list[float], list[int]]:
    from xlt.train.config import ParallelPlan, TrainConfig
    from xlt.train.loop import CausalLMTrainer

    clock = _StepClock()
    settings = TrainConfig(
        max_steps=args.steps, batch_size=args.batch_size, micro_batch_size=args.batch_size,
        seq_len=args.seq_len, lr=args.lr, warmup_steps=2, min_lr_ratio=0.0,
        grad_clip=1.0, save_every=0, length_grouped=length_grouped,
    )  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        trainer = CausalLMTrainer(
            model, examples, ParallelPlan.preset(args.parallel), settings,
            ckpt_dir=tmp, tracker=clock, pad_id=tokenizer.pad_token_id,
        )  # fmt: skip
        trainer.setup()
        trainer.train()
        order = trainer.order
        tokens = [
            sum(len(examples[i].input_ids) for i in order.indices(step, 0))
            for step in range(args.steps)
        ]
        trainer.cleanup()
    return clock.ends, tokens


def _run_baseline(args, tokenizer, model, examples) -> tuple[list[float], list[int]]:
    from transformers import Trainer, TrainerCallback, TrainingArguments

    from xlt.train.data import collate

    tokens: list[int] = []

    def collator(batch):
        tokens.append(sum(len(ex.input_ids) for ex in batch))
        out = collate(batch, tokenizer.pad_token_id)
        return {k: v for k, v in out.items() if v is not None}

    clock = _StepClock()

    class StepEnd(TrainerCallback):
        def on_step_end(self, _args, state, control, **kwargs):
            clock.log({}, state.global_step)

    with tempfile.TemporaryDirectory() as tmp:
        training_args = TrainingArguments(
            output_dir=tmp, per_device_train_batch_size=args.batch_size, max_steps=args.steps,
            learning_rate=args.lr, lr_scheduler_type="cosine", warmup_steps=2,
            adam_beta1=0.9, adam_beta2=0.95, adam_epsilon=1e-8, weight_decay=0.0,
            max_grad_norm=1.0, optim="adamw_torch", use_cpu=True, report_to=[],
            save_strategy="no", logging_strategy="no", disable_tqdm=True,
            dataloader_num_workers=0, remove_unused_columns=False, seed=0,
        )  # fmt: skip
        trainer = Trainer(
            model=model, args=training_args, train_dataset=examples,
            data_collator=collator, callbacks=[StepEnd()],
        )  # fmt: skip
        trainer.train()
    return clock.ends, tokens


def _measure(side: str, args, queue) -> None:
    """Child process: train one side, report tokens/s and this process's peak RSS."""
    import torch

    torch.set_num_threads(args.threads)
    tokenizer, model, examples = _setting(args)
    if side == "baseline":
        ends, tokens = _run_baseline(args, tokenizer, model, examples)
    else:
        ends, tokens = _run_xlt(args, tokenizer, model, examples, side == "xlt")
    assert len(ends) == args.steps and len(tokens) >= args.steps, (len(ends), len(tokens))
    timed_tokens = sum(tokens[args.warmup : args.steps])
    wall_s = ends[-1][0] - ends[args.warmup - 1][0]
    cpu_s = ends[-1][1] - ends[args.warmup - 1][1]
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB
    queue.put(
        {
            "side": side,
            "tokens_per_s": timed_tokens / wall_s,
            "tokens_per_cpu_s": timed_tokens / cpu_s,
            "peak_mib": peak_mib,
        }
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=5, help="steps excluded from timing")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--num-examples", type=int, default=512)
    parser.add_argument("--seq-len", type=int, default=256)
    parser.add_argument("--vocab-size", type=int, default=512)
    parser.add_argument("--hidden-size", type=int, default=128)
    parser.add_argument("--num-layers", type=int, default=4)
    parser.add_argument("--num-heads", type=int, default=4)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--parallel", default="single", help="xlt side: single|zero2|zero3")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--threads", type=int, default=torch_threads_default())
    args = parser.parse_args(argv)
    if not 0 < args.warmup < args.steps:
        raise ValueError(f"--warmup={args.warmup} must lie in (0, --steps={args.steps})")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("DS_ACCELERATOR", "cpu")

    context = multiprocessing.get_context("spawn")
    best: dict[str, dict] = {}
    for round_index in range(args.repeats):
        for side in SIDES if round_index % 2 == 0 else SIDES[::-1]:
            queue = context.Queue()
            child = context.Process(target=_measure, args=(side, args, queue))
            child.start()
            result = queue.get()
            child.join()
            print(f"round {round_index + 1} {side:12s} {result['tokens_per_s']:9.0f} tokens/s  "
                  f"{result['tokens_per_cpu_s']:9.0f} tokens/cpu-s  "
                  f"peak {result['peak_mib']:7.0f} MiB", flush=True)  # fmt: skip
            for key in ("tokens_per_s", "tokens_per_cpu_s", "peak_mib"):
                best.setdefault(side, {})
                pick = min if key == "peak_mib" else max
                best[side][key] = pick(best[side].get(key, result[key]), result[key])

    model_desc = f"hidden {args.hidden_size}, {args.num_layers} layers, vocab {args.vocab_size}"
    print(f"\nSFT, tiny Llama ({model_desc}), batch {args.batch_size}, {args.steps} steps "
          f"({args.warmup} untimed), {args.threads} threads, xlt plan: {args.parallel}")  # fmt: skip
    for side in SIDES:
        r = best[side]
        print(f"{side:12s} {r['tokens_per_s']:9.0f} tokens/s  {r['tokens_per_cpu_s']:9.0f} "
              f"tokens/cpu-s   peak RSS {r['peak_mib']:7.0f} MiB")  # fmt: skip
    for key, unit in (("tokens_per_s", "wall"), ("tokens_per_cpu_s", "CPU time")):
        base = best["baseline"][key]
        print(f"ratio xlt / transformers.Trainer ({unit}): {best['xlt'][key] / base:.3f}   "
              f"xlt_unsorted: {best['xlt_unsorted'][key] / base:.3f}")  # fmt: skip
    print("target: ratio >= 1.0")


def torch_threads_default() -> int:
    return 1  # one thread per side: steadier timings on a CPU shared with other processes


if __name__ == "__main__":
    main()
