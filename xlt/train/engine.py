"""DeepSpeed engine set-up: a parallelization choice rendered into a DeepSpeed config dict.

Reuse (SFT, pretraining and the RL trainers all go through here):

    from xlt.train.engine import ParallelPlan, setup_engine, optimizer_step

    plan = ParallelPlan.preset("zero3")              # single | zero2 | zero3 | zero3_offload
    engine = setup_engine(model, plan, lr=1e-5, micro_batch_size=2, grad_accum_steps=4,
                          warmup_steps=10, total_steps=100)
    for micro_batch in ...:
        loss = ...                                   # computed with engine(...) / engine.module
        engine.backward(loss)
        if engine.is_gradient_accumulation_boundary():
            grad_norm = optimizer_step(engine)       # clips, steps optimizer + LR schedule
        else:
            engine.step()                            # DeepSpeed needs step() after every backward

One process with no launcher sets up its own single-rank distributed environment
(`ensure_distributed_env`); `torchrun` or `deepspeed` provide it for several processes.
Precision: bf16 on CUDA, fp32 on CPU. The optimizer is a torch AdamW handed to DeepSpeed, so no
DeepSpeed op is JIT-compiled on CPU. With optimizer offload on a GPU machine DeepSpeed's
`DeepSpeedCPUAdam` is used instead (torch AdamW over CPU states is several times slower there);
on CPU-only machines the torch AdamW steps the offloaded states (`zero_force_ds_cpu_optimizer`
off), which skips compiling `cpu_adam`.
"""

from __future__ import annotations

import contextlib
import os
import socket
from typing import Any

import torch

from xlt.train.config import ParallelPlan  # the `parallelization` config group
from xlt.train.schedule import warmup_cosine_lambda


def ensure_distributed_env() -> None:
    """Give a launcher-less process the env vars of a one-rank job (DeepSpeed needs them).

    Under `torchrun`/`deepspeed` the launcher has set RANK etc. and nothing changes.
    """
    if "RANK" in os.environ and "WORLD_SIZE" in os.environ:
        return
    os.environ.update(
        RANK="0", LOCAL_RANK="0", WORLD_SIZE="1", MASTER_ADDR="127.0.0.1", MASTER_PORT=_free_port()
    )


def world_size() -> int:
    """Ranks in the job: from the initialised process group, else from the launcher's env."""
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return torch.distributed.get_world_size()
    return int(os.environ.get("WORLD_SIZE", "1"))


def rank() -> int:
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return torch.distributed.get_rank()
    return int(os.environ.get("RANK", "0"))


def check_batch_layout(global_batch_size: int, micro_batch_size: int, num_ranks: int) -> int:
    """Gradient-accumulation steps that make micro_batch x ranks x steps = global batch.

    Raises ValueError naming the fix when the global batch does not split evenly across ranks.
    """
    per_step = micro_batch_size * num_ranks
    if global_batch_size % per_step:
        raise ValueError(
            f"global batch {global_batch_size} does not divide into micro_batch_size "
            f"{micro_batch_size} x {num_ranks} ranks = {per_step} per accumulation step; set the "
            f"global batch to a multiple of {per_step} (e.g. {max(per_step, global_batch_size // per_step * per_step)}) "
            "or change micro_batch_size / the number of processes"
        )
    return global_batch_size // per_step


def deepspeed_config(
    plan: ParallelPlan, *, micro_batch_size: int, grad_accum_steps: int, grad_clip: float
) -> dict[str, Any]:
    """The DeepSpeed config dict for `plan` (no optimizer/scheduler blocks: torch objects are
    handed to `deepspeed.initialize`, which avoids JIT-compiling DeepSpeed's fused optimizers)."""
    zero: dict[str, Any] = {"stage": plan.zero_stage}
    if plan.zero_stage >= 2:
        zero.update(overlap_comm=False, contiguous_gradients=True, reduce_scatter=True)
    if plan.zero_stage == 3:
        # Full-model gathers at save time are done by xlt.models.save_model instead.
        zero.update(stage3_gather_16bit_weights_on_model_save=False)
    if plan.offload_optimizer:
        zero["offload_optimizer"] = {"device": "cpu", "pin_memory": torch.cuda.is_available()}
    if plan.offload_params:
        zero["offload_param"] = {"device": "cpu", "pin_memory": torch.cuda.is_available()}
    config: dict[str, Any] = {
        "train_micro_batch_size_per_gpu": micro_batch_size,
        "gradient_accumulation_steps": grad_accum_steps,
        "train_batch_size": micro_batch_size * grad_accum_steps * world_size(),
        "gradient_clipping": grad_clip,
        "zero_optimization": zero,
        "bf16": {"enabled": plan.use_bf16},
        "steps_per_print": 10**9,  # xlt logs through its own Tracker
        "wall_clock_breakdown": False,
    }
    if plan.offload_optimizer and not torch.cuda.is_available():
        config["zero_force_ds_cpu_optimizer"] = False  # allow the torch AdamW on offloaded states
    return config


def setup_engine(
    model: torch.nn.Module,
    plan: ParallelPlan,
    *,
    lr: float,
    micro_batch_size: int,
    grad_accum_steps: int = 1,
    warmup_steps: int = 0,
    total_steps: int,
    min_lr_ratio: float = 0.1,
    weight_decay: float = 0.0,
    betas: tuple[float, float] = (0.9, 0.95),
    grad_clip: float = 1.0,
):
    """Wrap `model` in a DeepSpeed engine with torch AdamW and a warmup + cosine LR schedule.

    Returns the `DeepSpeedEngine` (its `.module` is the model, `.optimizer`, `.lr_scheduler`).
    Under ZeRO-3 a model built outside `deepspeed.zero.Init` is partitioned here; on CPU the model
    stays fp32. Call it on every rank with the same model weights.
    """
    ensure_distributed_env()
    import deepspeed  # imported lazily: it probes accelerators on import (seconds)

    config = deepspeed_config(
        plan,
        micro_batch_size=micro_batch_size,
        grad_accum_steps=grad_accum_steps,
        grad_clip=grad_clip,
    )
    decay, no_decay = _split_decay(model)
    groups = [
        {"params": decay, "weight_decay": weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]
    if plan.offload_optimizer and torch.cuda.is_available():
        from deepspeed.ops.adam import DeepSpeedCPUAdam

        optimizer = DeepSpeedCPUAdam(groups, lr=lr, betas=betas, eps=1e-8, adamw_mode=True)
    else:
        # foreach=False on CPU: one kernel per tensor, the same arithmetic whatever the sharding,
        # which keeps ZeRO-0 and ZeRO-3 losses together; fused on CUDA for speed.
        on_cuda = torch.cuda.is_available()
        optimizer = torch.optim.AdamW(
            groups, lr=lr, betas=betas, eps=1e-8, foreach=False, fused=on_cuda
        )
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, warmup_cosine_lambda(warmup_steps, total_steps, min_lr_ratio)
    )
    engine, _, _, _ = deepspeed.initialize(
        model=model, optimizer=optimizer, lr_scheduler=schedule, config=config
    )
    if plan.zero_stage == 0 and world_size() == 1:
        # One rank has nothing to average; DeepSpeed would still flatten, all-reduce and copy
        # back every gradient each step (~5% of a tiny model's step on CPU).
        engine.enable_backward_allreduce = False
    return engine


def optimizer_step(engine) -> float:
    """At a gradient-accumulation boundary: clip, step optimizer and LR schedule; return the
    global gradient 2-norm before clipping.

    DeepSpeed reports the norm itself for ZeRO >= 1 and bf16; plain fp32 ZeRO-0 clips without
    keeping it, so it is computed here from the (already all-reduced) gradients.
    """
    assert engine.is_gradient_accumulation_boundary(), "call optimizer_step at a boundary only"
    own_norm = None
    if engine.zero_optimization_stage() == 0 and not engine.bfloat16_enabled():
        grads = [p.grad for p in engine.module.parameters() if p.grad is not None]
        own_norm = float(torch.linalg.vector_norm(torch.stack([g.norm() for g in grads])))
    engine.step()
    norm = own_norm if own_norm is not None else engine.get_global_grad_norm()
    return float(norm)


@contextlib.contextmanager
def zero3_model_context(ds_config: dict[str, Any]):
    """Load a Hub model straight into ZeRO-3 shards (for models too big for one device).

    Inside it `xlt.models.load_model` (transformers `from_pretrained`) sees a live
    `HfDeepSpeedConfig` and builds the model under `deepspeed.zero.Init`, each rank keeping its
    shard only. Outside ZeRO-3 it does nothing. Tiny models need none of this: `setup_engine`
    partitions a fully built model.
    """
    if ds_config["zero_optimization"]["stage"] != 3:
        yield None
        return
    ensure_distributed_env()
    # zero.Init shards over the process group it finds; without one it takes world size 1
    # and DeepSpeed's batch check fails on every multi-rank launch (seen in the rehearsal).
    import deepspeed

    deepspeed.init_distributed()
    from transformers.integrations import HfDeepSpeedConfig

    hf_config = HfDeepSpeedConfig(ds_config)  # transformers keeps a weak reference: hold it here
    yield hf_config


def _split_decay(model: torch.nn.Module) -> tuple[list, list]:
    """Weight decay on matrices only; norms and biases (1-d) are not decayed."""
    decay, no_decay = [], []
    for param in model.parameters():
        if not param.requires_grad:
            continue
        # ZeRO-3 partitioned params are 1-d locally; ds_shape keeps the real shape.
        shape = getattr(param, "ds_shape", param.shape)
        (decay if len(shape) >= 2 else no_decay).append(param)
    return decay, no_decay


def _free_port() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return str(sock.getsockname()[1])
