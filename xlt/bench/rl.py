"""One RL step's time split (generation, reward, update) at micro scale.

    python -m xlt.bench.rl                       # GRPO, py, micro-scale model, 3 timed steps
    python -m xlt.bench.rl --algorithm ppo --language lua --model artifacts/sft/<key>/model

The problems are the micro suite's RL split in `--language`; the model is `--model` (an HF
folder, e.g. an SFT checkpoint) or, by default, a micro-scale Llama (conf/model/tiny_llama:
64 wide, 2 layers) with random weights, whose answers run their full `max_new_tokens` and
fail: the worst case for generation, a realistic one for execution (every program runs).
The step shape is conf/rl's micro default (8 prompts x 8 samples, 96 new tokens). The
execution cache is a fresh empty folder, so every program really runs. The first step is
a warm-up (DeepSpeed and the executor pool start) and is not counted.

Prints each timed step's split and the mean reward fraction `reward_s / step_s`, the
figure the RL issue bounds at 25% on the CPU machine.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

os.environ.setdefault("DS_ACCELERATOR", "cpu")
os.environ.setdefault("HF_HUB_OFFLINE", "1")


class _Silent:
    def log(self, metrics, step):
        pass

    def close(self):
        pass


def _model_and_tokenizer(model_dir: str | None, problems):
    from xlt.models import build_tiny_model, build_tokenizer, load_model, load_tokenizer

    if model_dir:
        return load_model(model_dir), load_tokenizer(model_dir)
    texts = [p.prompt + (p.solution or "") for p in problems]
    tokenizer = build_tokenizer(texts * 4, vocab_size=512)
    model = build_tiny_model(tokenizer, 64, 2, 4, 256, max_seq_len=512, seed=0)
    return model, tokenizer


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--algorithm", choices=("grpo", "ppo"), default="grpo")
    parser.add_argument("--language", default="py")
    parser.add_argument("--model", default=None, help="HF folder; default: a random micro model")
    parser.add_argument("--steps", type=int, default=3, help="timed steps (after one warm-up)")
    parser.add_argument("--prompts", type=int, default=8)
    parser.add_argument("--group-size", type=int, default=8)
    parser.add_argument("--max-new-tokens", type=int, default=96)
    parser.add_argument("--workers", type=int, default=0, help="execution workers; 0: per core")
    args = parser.parse_args(argv)

    from xlt.config import ExecutionConfig
    from xlt.data.micro import build_suite, render_problem
    from xlt.generation.config import RolloutConfig
    from xlt.rl.config import RLConfig
    from xlt.rl.rollout import load_value_model
    from xlt.rl.trainer import RLTrainer
    from xlt.train.engine import ParallelPlan

    suite = build_suite(num_tasks=600, split_fractions=(0.6, 0.2, 0.2), seed=0)
    problems = [render_problem(task, args.language) for task in suite.split("rl")]
    model, tokenizer = _model_and_tokenizer(args.model, problems)
    with tempfile.TemporaryDirectory() as tmp:
        value_model = None
        if args.algorithm == "ppo":
            model.save_pretrained(Path(tmp) / "init")
            value_model = load_value_model(Path(tmp) / "init")
        rl = RLConfig(
            algorithm=args.algorithm, source_language=args.language, steps=1 + args.steps,
            prompts_per_step=args.prompts, group_size=args.group_size, micro_batch_size=16,
            lr=5e-4, kl_coef=0.0, max_new_tokens=args.max_new_tokens, save_every=0,
        )  # fmt: skip
        execution = ExecutionConfig(workers=args.workers, cache_dir=str(Path(tmp) / "exec-cache"))
        trainer = RLTrainer(
            model, tokenizer, problems, rl, RolloutConfig(), execution,
            ParallelPlan.preset("single"), chat=False, seed=0, ckpt_dir=Path(tmp) / "ckpt",
            tracker=_Silent(), value_model=value_model,
        )  # fmt: skip
        try:
            trainer.setup()
            history = trainer.train()
        finally:
            trainer.cleanup()

    keys = ("time/generate_s", "time/reward_s", "time/update_s", "time/step_s")
    print(f"{args.algorithm}, {args.language}, {args.prompts}x{args.group_size} samples, "
          f"{args.max_new_tokens} new tokens, model {args.model or 'random micro'}")  # fmt: skip
    print("step  " + "  ".join(f"{k.split('/')[1]:>11}" for k in keys) + "  reward_frac  len  ok")
    for i, m in enumerate(history):
        tag = "warm" if i == 0 else f"{i:4d}"
        print(f"{tag}  " + "  ".join(f"{m[k]:11.3f}" for k in keys)
              + f"  {m['time/reward_frac']:11.3f}  {m['rl/response_len']:3.0f}"
              + f"  {m[f'exec/{args.language}/ok_frac']:.2f}")  # fmt: skip
    timed = history[1:]
    mean = {k: sum(m[k] for m in timed) / len(timed) for k in keys}
    print(
        f"mean over {len(timed)} steps: generate {mean['time/generate_s']:.3f} s, reward "
        f"{mean['time/reward_s']:.3f} s, update {mean['time/update_s']:.3f} s; "
        f"reward / step = {mean['time/reward_s'] / mean['time/step_s']:.3f}"
    )


if __name__ == "__main__":
    main()
