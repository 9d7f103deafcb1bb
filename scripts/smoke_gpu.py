"""Device smoke run: xlt's own SFT loop and RL trainer on one GPU, offline, in minutes.

    python scripts/smoke_gpu.py                 # one GPU: ~0.5B Llama, ZeRO-3 bf16
    python scripts/smoke_gpu.py --cpu --tiny    # the same path on CPU with a tiny model
    python scripts/smoke_gpu.py --vllm          # cluster node with vLLM: vLLM rollouts (not
                                                # run on the lent GPU box, which has no vLLM)

Run it through `scripts/smoke_gpu.sh` (`make smoke-gpu`), which installs the carried wheels
and then runs the `gpu`-marked tests too. What it does, with no network:
1. A Llama-3-style tokenizer trained offline (BOS `<|begin_of_text|>`, EOS `<|eot_id|>`, the
   Llama-3 chat template) and a random-initialised Llama from a `LlamaConfig` (~0.5B
   parameters on GPU: 20 layers x 1536, GQA 12/4 heads).
2. SFT for 10 steps through `xlt.train.loop.CausalLMTrainer`: ZeRO-3, bf16 on GPU, gradient
   checkpointing; prints the loss of each step (it must fall), step times, peak GPU memory.
3. 2 GRPO steps through `xlt.rl.trainer.RLTrainer` with HF rollouts (or vLLM with `--vllm`)
   on Python problems of both kinds: `io` (tests/fixtures/codeforces) and `tests` (the
   generated micro suite); prints reward, step time, peak memory.
Exit status 1 if the loss did not fall or a step failed.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import warnings
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run from a checkout without installing xlt
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
warnings.filterwarnings("ignore", category=FutureWarning)  # torch/transformers deprecations

# Sizes. GPU: ~0.5B parameters, sequences long enough to exercise checkpointing and chunked
# log-probs. Tiny (CPU): shrunk for seconds, same code path.
SIZES = {
    "gpu": dict(hidden=1536, layers=20, heads=12, kv_heads=4, ffn=4096, vocab=4096,
                seq_len=512, sft_micro=4, sft_batch=16, new_tokens=128),
    "tiny": dict(hidden=64, layers=2, heads=4, kv_heads=2, ffn=128, vocab=512,
                 seq_len=256, sft_micro=4, sft_batch=8, new_tokens=24),
}  # fmt: skip


class TimedTracker:
    """Keeps each logged step's metrics and wall time (for step times)."""

    def __init__(self):
        self.records: list[tuple[int, dict, float]] = []

    def log(self, metrics, step):
        self.records.append((step, dict(metrics), time.perf_counter()))

    def close(self):
        pass


def problems_and_sft_records(num_micro_tasks: int):
    """Python problems in both modes, and SFT records (prompt, known-good answer) for them."""
    from xlt.data.codeforces.problems import fenced, from_row, to_xlt_problem
    from xlt.data.micro import build_suite, render_problem

    fixtures = REPO / "tests" / "fixtures" / "codeforces"
    io_problems = {}
    for row in _rows(fixtures / "problems_train.jsonl"):
        try:
            problem = from_row(row)
        except (KeyError, TypeError, ValueError):  # "2 seconds" as a time limit, ...
            continue
        if problem.cases and row.get("executable") and row.get("input_mode") == "stdio":
            io_problems[row["id"]] = to_xlt_problem(problem, "py", {})
    solutions = _rows(fixtures / "submissions.jsonl")
    records = [
        {"prompt": io_problems[s["problem_id"]].prompt, "response": fenced(s["source"], "py")}
        for s in solutions
        if s.get("problem_id") in io_problems and isinstance(s.get("source"), str)
        and str(s.get("programmingLanguage")).startswith("Python") and s.get("verdict") == "OK"
    ]  # fmt: skip
    suite = build_suite(num_tasks=num_micro_tasks, split_fractions=(0.6, 0.2, 0.2), seed=0)
    tests_problems = [render_problem(task, "py") for task in suite.split("rl")]
    records += [{"prompt": p.prompt, "response": p.solution} for p in tests_problems]
    return list(io_problems.values()) + tests_problems, records


def _rows(path: Path) -> list[dict]:
    """The well-formed rows of a fixture that also holds broken ones (for the loader's tests):
    xlt's own loader needs `datasets`, which the GPU box lacks."""
    rows = []
    for line in path.read_bytes().splitlines():
        try:
            row = json.loads(line.decode("utf-8"))
        except ValueError:  # truncated JSON, Latin-1 bytes
            continue
        if isinstance(row, dict):
            rows.append(row)
    return rows


def build_model(size: dict, tokenizer):
    from transformers import LlamaConfig, LlamaForCausalLM

    config = LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=size["hidden"], intermediate_size=size["ffn"],
        num_hidden_layers=size["layers"], num_attention_heads=size["heads"],
        num_key_value_heads=size["kv_heads"], max_position_embeddings=2048,
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id, tie_word_embeddings=False,
    )  # fmt: skip
    import torch

    torch.manual_seed(0)
    return LlamaForCausalLM(config)


def peak_gib() -> str:
    import torch

    if not torch.cuda.is_available():
        return "n/a (CPU)"
    return f"{torch.cuda.max_memory_allocated() / 2**30:.2f} GiB"


def reset_peak() -> None:
    import torch

    if torch.cuda.is_available():
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()


def run_sft(size, tokenizer, records, out: Path) -> dict[int, float]:
    from xlt.train.config import SFTConfig
    from xlt.train.data import build_sft_examples
    from xlt.train.engine import ParallelPlan
    from xlt.train.loop import CausalLMTrainer

    model = build_model(size, tokenizer)
    print(f"model: {sum(p.numel() for p in model.parameters()) / 1e6:.1f}M parameters, "
          f"vocab {len(tokenizer)}")  # fmt: skip
    model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    examples, counts = build_sft_examples(records * 8, tokenizer, size["seq_len"], chat=True)
    print(f"sft examples: {counts}")
    settings = SFTConfig(
        max_steps=10, batch_size=size["sft_batch"], micro_batch_size=size["sft_micro"],
        seq_len=size["seq_len"], lr=3e-4, warmup_steps=0, min_lr_ratio=1.0, save_every=0,
        gradient_checkpointing=True,
    )  # fmt: skip
    tracker = TimedTracker()
    trainer = CausalLMTrainer(
        model, examples, ParallelPlan.preset("zero3"), settings, seed=0, ckpt_dir=out / "sft-ckpt",
        tracker=tracker, pad_id=tokenizer.pad_token_id,
    )  # fmt: skip
    reset_peak()
    trainer.setup()
    print(f"sft engine: ZeRO-{trainer.engine.zero_optimization_stage()}, "
          f"bf16={trainer.engine.bfloat16_enabled()}, gradient checkpointing on")  # fmt: skip
    started = time.perf_counter()
    try:
        losses = trainer.train()
        from xlt.models import save_model

        save_model(trainer.engine, tokenizer, out / "sft-model")
    finally:
        trainer.cleanup()
    previous = started
    for step, metrics, at in tracker.records:
        print(f"sft step {step:2d}  loss {metrics['train/loss']:.4f}  "
              f"step {at - previous:6.2f} s  {metrics['train/tokens_per_s']:8.0f} tok/s")  # fmt: skip
        previous = at
    print(f"sft peak GPU memory: {peak_gib()}")
    return losses


def run_grpo(size, problems, out: Path, vllm: bool) -> list[dict]:
    from xlt.config import ExecutionConfig
    from xlt.generation.config import RolloutConfig
    from xlt.models import load_model, load_tokenizer
    from xlt.rl.config import RLConfig
    from xlt.rl.trainer import RLTrainer
    from xlt.train.engine import ParallelPlan, deepspeed_config, zero3_model_context

    model_dir = out / "sft-model"
    rl = RLConfig(
        algorithm="grpo", steps=2, prompts_per_step=4, group_size=4, micro_batch_size=8,
        lr=1e-6, kl_coef=0.0, max_new_tokens=size["new_tokens"], gradient_checkpointing=True,
        logprob_chunk_tokens=256, save_every=0,
    )  # fmt: skip
    rollout = (
        RolloutConfig(backend="vllm", gpu_memory_utilization=0.3, max_model_len=2048)
        if vllm
        else RolloutConfig(backend="hf", batch_size=16, max_model_len=2048)
    )
    plan = ParallelPlan.preset("zero3")
    ds_config = deepspeed_config(plan, micro_batch_size=8, grad_accum_steps=1, grad_clip=1.0)
    with zero3_model_context(ds_config):
        policy = load_model(model_dir)
    tracker = TimedTracker()
    trainer = RLTrainer(
        policy, load_tokenizer(model_dir), problems, rl, rollout,
        ExecutionConfig(workers=4, timeout_s=5.0, cache_dir=str(out / "exec-cache")), plan,
        chat=True, seed=0, ckpt_dir=out / "rl-ckpt", tracker=tracker,
        vllm_model_path=str(model_dir),
    )  # fmt: skip
    reset_peak()
    try:
        trainer.setup()
        history = trainer.train()
    finally:
        trainer.cleanup()
    modes = sorted({p.mode for p in trainer.problems})
    print(f"grpo: {len(trainer.problems)} problems (modes {modes}), "
          f"{rl.prompts_per_step} prompts x {rl.group_size} samples per step, "
          f"rollouts by {rollout.backend}")  # fmt: skip
    for step, m in enumerate(history, start=1):
        print(f"grpo step {step}  reward {m['rl/reward_mean']:.3f}  len {m['rl/response_len']:.0f}"
              f"  step {m['time/step_s']:.2f} s (generate {m['time/generate_s']:.2f}, reward "
              f"{m['time/reward_s']:.2f}, update {m['time/update_s']:.2f})  "
              f"|logp_rollout - logp_trainer| {m['rl/rollout_logp_abs_diff']:.2e}")  # fmt: skip
    print(f"grpo peak GPU memory: {peak_gib()}")
    return history


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cpu", action="store_true", help="run on CPU (no CUDA needed)")
    parser.add_argument("--tiny", action="store_true", help="a tiny model instead of ~0.5B")
    parser.add_argument("--vllm", action="store_true", help="vLLM rollouts (needs vllm)")
    parser.add_argument("--out", default=None, help="work folder (default: a temporary one)")
    args = parser.parse_args(argv)
    if args.cpu:
        os.environ["CUDA_VISIBLE_DEVICES"] = ""  # before torch initialises CUDA
        os.environ.setdefault("DS_ACCELERATOR", "cpu")
    import torch
    import transformers

    if not args.cpu and not torch.cuda.is_available():
        print("no CUDA device: run with --cpu --tiny", file=sys.stderr)
        return 2
    device = torch.cuda.get_device_name() if torch.cuda.is_available() else "CPU"
    import deepspeed

    print(f"device: {device}; torch {torch.__version__}, transformers {transformers.__version__}"
          f", deepspeed {deepspeed.__version__}, python {sys.version.split()[0]}")  # fmt: skip
    size = SIZES["tiny" if args.tiny else "gpu"]
    from xlt.models import build_llama3_style_tokenizer

    started = time.perf_counter()
    problems, records = problems_and_sft_records(num_micro_tasks=60)
    texts = [r["prompt"] + r["response"] for r in records]
    tokenizer = build_llama3_style_tokenizer(texts * 4, vocab_size=size["vocab"])
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(args.out or tmp)
        losses = run_sft(size, tokenizer, records, out)
        history = run_grpo(size, problems, out, args.vllm)
    first, last = losses[1], losses[max(losses)]
    falling = last < first
    print(f"sft loss {first:.4f} -> {last:.4f} ({'falls' if falling else 'DOES NOT FALL'}); "
          f"{len(history)} GRPO steps; total {time.perf_counter() - started:.0f} s")  # fmt: skip
    print("SMOKE OK" if falling and len(history) == 2 else "SMOKE FAILED")
    return 0 if falling and len(history) == 2 else 1


if __name__ == "__main__":
    sys.exit(main())
