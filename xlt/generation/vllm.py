"""vLLM generation (GPU only; `vllm` is imported lazily), as a colocated RL rollout engine
and for evaluation.

RL: each training rank owns one in-process vLLM engine on its own GPU (vLLM's
`external_launcher` executor: the ranks `torchrun` started are vLLM's ranks). Between
rollouts the engine sleeps at level 2 (weights and KV cache discarded: no pinned CPU copy
of the weights, which the next push would overwrite anyway). Before each rollout,
`wake_and_push(model)` follows TRL's and verl's order: wake the weights only, push the
trainer's weights into them, `torch.cuda.empty_cache()` to return the gather buffers, then
wake the KV cache. Weights go through vLLM's public `LLM.collective_rpc("reload_weights")`
as a stream, gathered from ZeRO-3 shards one module at a time on all ranks together; an
error on one rank is raised on every rank (see `push_weights`) instead of leaving the others
blocked in the next gather.

Prompts are sent as token ids encoded by `xlt.generation.hf.encode_prompt`, the encoder
the trainer scores with (a rendered chat template already starts with BOS; vLLM given the
text would add a second one). Each prompt gets its own seed (`request_seeds`): vLLM gives
sample j of a request the seed `seed + j`, so one seed for every prompt made sample j of
every prompt (and of every rank with the same seed) share a random stream. Prompts that
leave fewer than `max_new_tokens` positions under `max_model_len` are not sent (vLLM would
reject the whole batch): they get empty completions with finish reason "length" and are
counted in `num_dropped_prompts`.

Install: `pip install -e .[gpu]` on a GPU machine (vLLM pins its own CUDA torch).
Not run on this project's CPU CI; the call order, seeds, token ids and error handling are
tested with a fake engine (`tests/generation/test_vllm.py`), and that file's `gpu` test
checks that vLLM's log-probs match the trainer's after a weight push.
"""

from __future__ import annotations

import gc
import hashlib
import os
from collections.abc import Callable, Iterator

import torch

from xlt.generation.hf import encode_prompt
from xlt.generation.types import Completion, SamplingParams


def _import_vllm():
    try:
        import vllm
    except ImportError as error:  # the CPU install never has it
        raise ImportError(
            "rollout backend 'vllm' needs a GPU install: `pip install -e .[gpu]`; "
            "on CPU use the 'hf' backend"
        ) from error
    return vllm


def request_seeds(seed: int, num_prompts: int) -> list[int]:
    """One seed per prompt, a hash of (seed, prompt index) in [0, 2^62): vLLM seeds sample j
    of a request with `seed + j`, so hashed seeds keep every (prompt, sample) stream apart,
    where consecutive ones (seed + i) would overlap from the second sample on."""
    return [
        int.from_bytes(hashlib.blake2b(f"{seed}/{i}".encode(), digest_size=8).digest()) >> 2
        for i in range(num_prompts)
    ]


def fits(num_prompt_tokens: int, max_new_tokens: int, max_model_len: int) -> bool:
    """Whether a prompt leaves room for a full-length answer within the engine's context."""
    return num_prompt_tokens + max_new_tokens <= max_model_len


class VLLMGenerator:
    """`generate(prompts, params) -> [prompt][sample]` on a vLLM `LLM` (see module docstring).

    Build it with `VLLMGenerator.load(...)`; the constructor takes an engine object, so tests
    can pass a fake that records calls. Log-probs are vLLM's `processed_logprobs`
    (temperature applied), which equal the trainer's `log_softmax(logits / T)` when
    `top_p == 1`.
    """

    def __init__(self, llm, tokenizer, *, max_model_len: int, sleep_mode: bool):
        self.llm, self.tokenizer = llm, tokenizer
        self.max_model_len, self.sleep_mode = max_model_len, sleep_mode
        self.asleep = False
        self.num_dropped_prompts = 0  # prompts too long to be sent, since construction

    @classmethod
    def load(
        cls,
        model_path: str,
        tokenizer,
        *,
        dtype: str = "bfloat16",
        gpu_memory_utilization: float = 0.3,
        max_model_len: int = 4096,
        seed: int = 0,
        enable_sleep_mode: bool = True,
        colocated: bool = True,
    ) -> VLLMGenerator:
        """An engine over `model_path` (an HF folder: the SFT model; later weights are pushed).

        `colocated`: one engine per rank inside a `torchrun` job (vLLM's `external_launcher`
        puts it on the rank's LOCAL_RANK device); False: a standalone engine on GPU 0.
        With `enable_sleep_mode` the engine goes to sleep at once: the trainer's first
        `wake_and_push` fills it.
        """
        vllm = _import_vllm()
        if colocated:
            # in-process engine: the trainer's weights reach it without serialisation, and
            # vLLM reuses the launcher's ranks (one engine per rank)
            os.environ.setdefault("VLLM_ENABLE_V1_MULTIPROCESSING", "0")
        llm = vllm.LLM(
            model=model_path,
            dtype=dtype,
            gpu_memory_utilization=gpu_memory_utilization,
            max_model_len=max_model_len,
            seed=seed,
            enable_sleep_mode=enable_sleep_mode,
            distributed_executor_backend="external_launcher" if colocated else None,
            tensor_parallel_size=1,
            logprobs_mode="processed_logprobs",
        )
        generator = cls(llm, tokenizer, max_model_len=max_model_len, sleep_mode=enable_sleep_mode)
        generator.sleep()
        return generator

    # ------------------------------------------------------------------ generation

    def generate(self, prompts: list[str], params: SamplingParams) -> list[list[Completion]]:
        if self.asleep:
            raise RuntimeError("VLLMGenerator.generate called while asleep; wake it first")
        prompt_ids = [encode_prompt(self.tokenizer, p) for p in prompts]
        sent = [
            i
            for i, ids in enumerate(prompt_ids)
            if fits(len(ids), params.max_new_tokens, self.max_model_len)
        ]
        self.num_dropped_prompts += len(prompts) - len(sent)
        seeds = request_seeds(params.seed, len(prompts))
        outputs = iter(
            self.llm.generate(
                [{"prompt_token_ids": prompt_ids[i]} for i in sent],
                [self._sampling(params, seeds[i]) for i in sent],
                use_tqdm=False,
            )
            if sent
            else []
        )
        dropped = [Completion("", (), () if params.logprobs else None, "length")] * params.n
        sent_set = set(sent)
        return [
            [_completion(s, params.logprobs) for s in next(outputs).outputs]
            if i in sent_set
            else list(dropped)
            for i in range(len(prompts))
        ]

    def _sampling(self, params: SamplingParams, seed: int):
        return _import_vllm().SamplingParams(
            n=params.n,
            max_tokens=params.max_new_tokens,
            temperature=params.temperature,
            top_p=params.top_p,
            top_k=-1,
            stop=list(params.stop) or None,
            seed=seed,
            logprobs=0 if params.logprobs else None,  # 0: only the sampled token's
        )

    # ------------------------------------------------------------------ sleep, weights

    def sleep(self) -> None:
        """Level 2: discard weights and KV cache (the next push rewrites every weight)."""
        if self.sleep_mode:
            self.llm.sleep(level=2)
            self.asleep = True

    def wake_and_push(self, model: torch.nn.Module) -> None:
        """Upstream's order: weights awake, push, free the gather buffers, KV cache awake, then
        forget cached prefixes (computed with the old weights). Every rank must call it
        together (ZeRO-3 gathers are collective)."""
        if self.sleep_mode:
            self.llm.wake_up(tags=["weights"])
        self.push_weights(model)
        torch.cuda.empty_cache()  # before the KV cache claims its share (no-op without CUDA)
        if self.sleep_mode:
            self.llm.wake_up(tags=["kv_cache"])
        self.llm.reset_prefix_cache()  # cached prefixes were computed with the old weights
        self.asleep = False

    def push_weights(
        self, model: torch.nn.Module, any_rank_failed: Callable[[bool], bool] | None = None
    ) -> None:
        """Load a (possibly ZeRO-3 partitioned) trainer model's weights into vLLM.

        The weights stream module by module into vLLM's `reload_weights`. If loading raises
        here, this rank still takes part in the remaining gathers (the other ranks are in
        them), then every rank learns of the failure through one all-reduce and raises.
        """
        stream = gathered_named_parameters(model)
        error: Exception | None = None
        try:
            self.llm.collective_rpc(
                "reload_weights",
                kwargs={"weights_iterator": stream, "is_checkpoint_format": True},
            )
        except Exception as caught:  # re-raised below, on every rank
            error = caught
        for _ in stream:  # whatever vLLM did not consume: finish the collective gathers
            pass
        if (any_rank_failed or _any_rank_failed)(error is not None):
            raise RuntimeError(
                "pushing the trainer's weights into vLLM failed"
                + (f" on this rank: {error!r}" if error else " on another rank")
            ) from error

    def shutdown(self) -> None:
        """Stop the engine and free its GPU memory (before evaluation starts its own)."""
        self.llm.llm_engine.engine_core.shutdown()
        self.llm = None
        gc.collect()
        torch.cuda.empty_cache()


def gathered_named_parameters(model: torch.nn.Module) -> Iterator[tuple[str, torch.Tensor]]:
    """HF-named full parameters, module by module; gathers ZeRO-3 shards on all ranks."""
    zero3 = any(hasattr(p, "ds_id") for p in model.parameters())  # deepspeed's own test
    for module_name, module in model.named_modules():
        params = list(module.named_parameters(recurse=False))
        if not params:
            continue
        if zero3:
            import deepspeed

            context = deepspeed.zero.GatheredParameters([p for _, p in params], modifier_rank=None)
        else:
            context = torch.no_grad()
        with context:
            for name, param in params:
                full_name = f"{module_name}.{name}" if module_name else name
                yield full_name, param.data.detach()


def _any_rank_failed(failed_here: bool) -> bool:
    dist = torch.distributed
    if not (dist.is_available() and dist.is_initialized()):
        return failed_here
    device = (
        torch.device("cuda", torch.cuda.current_device()) if torch.cuda.is_available() else None
    )
    flag = torch.tensor([int(failed_here)], device=device)
    dist.all_reduce(flag, op=dist.ReduceOp.MAX)
    return bool(flag.item())


def _completion(sample, with_logprobs: bool) -> Completion:
    logprobs = None
    if with_logprobs:
        logprobs = tuple(
            step[token].logprob
            for step, token in zip(sample.logprobs, sample.token_ids, strict=True)
        )
    return Completion(
        text=sample.text,
        token_ids=tuple(sample.token_ids),
        logprobs=logprobs,
        finish_reason="length" if sample.finish_reason == "length" else "stop",
    )
