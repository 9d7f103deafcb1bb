"""vLLM rollouts colocated with the trainer (GPU only; `vllm` is imported lazily).

Each training rank owns one in-process vLLM engine on its own GPU (vLLM's
`external_launcher` executor: the ranks `torchrun`/`deepspeed` started are vLLM's
ranks). Between rollouts the engine sleeps (`sleep(level=1)` frees its KV cache and
offloads weights to CPU) so the optimizer step has the memory; after every update the
trainer wakes it and pushes the new weights with `push_weights`, which gathers ZeRO-3
partitions on all ranks together, one module at a time to bound peak memory.

Install: `pip install -e .[gpu]` on a GPU machine (vLLM pins its own CUDA torch).
Not tested on this project's CPU CI; `tests/generation/test_vllm.py` (marked `gpu`)
checks that vLLM's log-probs match the trainer's after a weight push.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator

import torch

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


class VLLMGenerator:
    """`generate(prompts, params) -> [prompt][sample]` on an in-process vLLM engine.

    `model_path`: an HF checkpoint folder or Hub id (the SFT model) that vLLM loads first;
    later weights arrive by `push_weights`. Log-probs are vLLM's `processed_logprobs`
    (temperature applied), which equal the trainer's `log_softmax(logits / T)` when
    `top_p == 1`.
    """

    def __init__(
        self,
        model_path: str,
        *,
        dtype: str = "bfloat16",
        gpu_memory_utilization: float = 0.3,
        max_model_len: int = 4096,
        seed: int = 0,
        enable_sleep_mode: bool = True,
        colocated: bool = True,
    ):
        vllm = _import_vllm()
        if colocated:
            # Keep the engine in this process so the trainer can reach its model to load
            # weights, and reuse the launcher's process group (one engine per rank).
            os.environ.setdefault("VLLM_ENABLE_V1_MULTIPROCESSING", "0")
        self._vllm = vllm
        self.llm = vllm.LLM(
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
        self.asleep = False

    def generate(self, prompts: list[str], params: SamplingParams) -> list[list[Completion]]:
        if self.asleep:
            raise RuntimeError("VLLMGenerator.generate called while asleep; call wake_up() first")
        sampling = self._vllm.SamplingParams(
            n=params.n,
            max_tokens=params.max_new_tokens,
            temperature=params.temperature,
            top_p=params.top_p,
            top_k=-1,
            stop=list(params.stop) or None,
            seed=params.seed,
            logprobs=0 if params.logprobs else None,  # 0: only the sampled token's
        )
        outputs = self.llm.generate(prompts, sampling, use_tqdm=False)
        return [[_completion(sample, params.logprobs) for sample in out.outputs] for out in outputs]

    def sleep(self) -> None:
        """Free the KV cache and offload weights so training has the GPU memory."""
        self.llm.sleep(level=1)
        self.asleep = True

    def wake_up(self) -> None:
        self.llm.wake_up()
        self.asleep = False

    def load_weights(self, named_tensors: Iterable[tuple[str, torch.Tensor]]) -> None:
        """Copy HF-named tensors into vLLM's model (vLLM maps HF names to its fused layers)."""
        model = self.llm.llm_engine.model_executor.driver_worker.worker.model_runner.model
        model.load_weights(weights=named_tensors)
        self.llm.reset_prefix_cache()  # cached prefixes were computed with the old weights

    def push_weights(self, model: torch.nn.Module) -> None:
        """Load a (possibly ZeRO-3 partitioned) trainer model's current weights into vLLM.

        Every rank must call this together: under ZeRO-3 each module's parameters are
        gathered collectively before being copied.
        """
        self.load_weights(gathered_named_parameters(model))


def gathered_named_parameters(model: torch.nn.Module) -> Iterator[tuple[str, torch.Tensor]]:
    """HF-named full parameters, module by module; gathers ZeRO-3 shards on all ranks."""
    zero3 = any(hasattr(p, "ds_id") for p in model.parameters())
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
