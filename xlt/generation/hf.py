"""Batched sampling with Hugging Face `generate` (CPU or GPU, any HF causal LM).

The RL rollout backend on CPU and the evaluation backend everywhere vLLM is absent.
Under DeepSpeed ZeRO-3 pass the engine's module and `synced_gpus=True` when more than
one rank generates (every rank must keep stepping until all are done).

    gen = HFGenerator(model, tokenizer, batch_size=32)
    [[c]] = gen.generate(["def f():\\n"], SamplingParams(max_new_tokens=32, stop=("\\ndef",)))
"""

from __future__ import annotations

import torch
from transformers import GenerationConfig

from xlt.generation.text import find_stop
from xlt.generation.types import Completion, SamplingParams


def adds_special_tokens(tokenizer, prompts: list[str]) -> bool:
    """Whether to let the tokenizer add BOS as in training: not when the prompts carry it
    already (a rendered chat template does)."""
    bos = tokenizer.bos_token
    return not (bos is not None and all(p.startswith(bos) for p in prompts))


def encode_prompt(tokenizer, prompt: str) -> list[int]:
    """The prompt's token ids exactly as `HFGenerator` (and vLLM) feed them to the model."""
    return tokenizer(prompt, add_special_tokens=adds_special_tokens(tokenizer, [prompt]))[
        "input_ids"
    ]


class HFGenerator:
    """`generate(prompts, params) -> [prompt][sample]` over a `PreTrainedModel`.

    `batch_size` bounds the sequences (prompts x samples) in one `generate` call. Sampling
    is seeded per call from `params.seed` inside a forked RNG, so it neither reads nor
    disturbs the caller's global RNG state.
    """

    def __init__(self, model, tokenizer, *, batch_size: int = 32, synced_gpus: bool = False):
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.model = model
        self.tokenizer = tokenizer
        self.batch_size = batch_size
        self.synced_gpus = synced_gpus
        self.pad_token_id = (
            tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
        )
        if self.pad_token_id is None:
            raise ValueError("the tokenizer has neither a pad nor an EOS token; set one of them")
        # Llama-3.1-Instruct's tokenizer says <|eot_id|>; its generation_config adds
        # <|end_of_text|> and <|eom_id|>: a sample ends at any of them, as vLLM ends it.
        configured = model.generation_config.eos_token_id
        configured = configured if isinstance(configured, list) else [configured]
        self.eos_token_ids = ({tokenizer.eos_token_id} | set(configured)) - {None}

    def generate(self, prompts: list[str], params: SamplingParams) -> list[list[Completion]]:
        prompts_per_call = max(1, self.batch_size // params.n)
        results: list[list[Completion]] = []
        was_training = self.model.training
        self.model.eval()
        try:
            for chunk_index, start in enumerate(range(0, len(prompts), prompts_per_call)):
                chunk = prompts[start : start + prompts_per_call]
                results.extend(self._generate_chunk(chunk, params, seed=params.seed + chunk_index))
        finally:
            self.model.train(was_training)
        return results

    def _generate_chunk(
        self, prompts: list[str], params: SamplingParams, seed: int
    ) -> list[list[Completion]]:
        device = self.model.device
        encoded = self.tokenizer(
            prompts,
            return_tensors="pt",
            padding=True,
            padding_side="left",  # generation appends on the right; per call, not saved
            add_special_tokens=adds_special_tokens(self.tokenizer, prompts),
        ).to(device)
        greedy = params.temperature == 0
        config = GenerationConfig(
            max_new_tokens=params.max_new_tokens,
            do_sample=not greedy,
            temperature=None if greedy else params.temperature,
            top_p=None if greedy else params.top_p,
            top_k=None,  # the library default (50) would silently truncate the distribution
            num_return_sequences=params.n,
            stop_strings=list(params.stop) or None,
            pad_token_id=self.pad_token_id,
            eos_token_id=sorted(self.eos_token_ids) or None,
            return_dict_in_generate=True,
            output_logits=params.logprobs,
        )
        devices = [device] if device.type == "cuda" else []
        with torch.random.fork_rng(devices=devices), torch.no_grad():
            torch.manual_seed(seed)
            output = self.model.generate(
                **encoded,
                generation_config=config,
                tokenizer=self.tokenizer,  # needed by stop_strings
                synced_gpus=self.synced_gpus,
            )
        new_tokens_NT = output.sequences[:, encoded["input_ids"].shape[1] :].cpu()
        logprobs_NT = None
        if params.logprobs:
            temperature = 1.0 if greedy else params.temperature
            steps = [
                torch.log_softmax(logits_N_V.float() / temperature, dim=-1)
                .gather(1, new_tokens_NT[:, t : t + 1].to(logits_N_V.device))
                .squeeze(1)
                .cpu()
                for t, logits_N_V in enumerate(output.logits)
            ]
            logprobs_NT = torch.stack(steps, dim=1)
        completions = [
            self._completion(
                new_tokens_NT[i], None if logprobs_NT is None else logprobs_NT[i], params
            )
            for i in range(new_tokens_NT.shape[0])
        ]
        # generate returns the n samples of each prompt next to each other
        return [completions[i : i + params.n] for i in range(0, len(completions), params.n)]

    def _completion(
        self, tokens_T: torch.Tensor, logprobs_T: torch.Tensor | None, params: SamplingParams
    ) -> Completion:
        ids = tokens_T.tolist()
        length, finish_reason = len(ids), "length"
        eos_positions = [i for i, token in enumerate(ids) if token in self.eos_token_ids]
        if eos_positions:
            length, finish_reason = eos_positions[0] + 1, "stop"
        text = self._decode(ids[:length])
        stop_at = find_stop(text, params.stop)
        if stop_at is not None:
            length, finish_reason = self._tokens_until_stop(ids[:length], params.stop), "stop"
            text = text[:stop_at]
        return Completion(
            text=text,
            token_ids=tuple(ids[:length]),
            logprobs=None if logprobs_T is None else tuple(logprobs_T[:length].tolist()),
            finish_reason=finish_reason,
        )

    def _tokens_until_stop(self, ids: list[int], stops: tuple[str, ...]) -> int:
        """Fewest leading tokens whose text contains a stop sequence (monotone: binary search)."""
        low, high = 1, len(ids)
        while low < high:
            mid = (low + high) // 2
            if find_stop(self._decode(ids[:mid]), stops) is None:
                low = mid + 1
            else:
                high = mid
        return low

    def _decode(self, ids: list[int]) -> str:
        return self.tokenizer.decode(ids, skip_special_tokens=True)
