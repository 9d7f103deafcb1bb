"""What a generation backend takes and returns; shared by RL rollouts and evaluation."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

FinishReason = Literal["stop", "length"]


@dataclass(frozen=True)
class SamplingParams:
    """How to sample. `temperature=0` means greedy (then `top_p` and `seed` are unused).

    `stop`: strings that end a completion; the text is cut before the first one, while
    `token_ids` keep the tokens up to and including the one that completed it (what
    vLLM does), so an RL update also teaches the model to stop.
    `logprobs`: also return each sampled token's log-probability (RL needs it; evaluation
    does not, and it costs one `(batch, vocab)` float tensor per generated token in HF).
    """

    max_new_tokens: int = 256
    temperature: float = 1.0
    top_p: float = 1.0
    n: int = 1
    stop: tuple[str, ...] = ()
    seed: int = 0
    logprobs: bool = False

    def __post_init__(self) -> None:
        if self.max_new_tokens < 1:
            raise ValueError(f"max_new_tokens must be >= 1, got {self.max_new_tokens}")
        if self.temperature < 0:
            raise ValueError(f"temperature must be >= 0 (0 = greedy), got {self.temperature}")
        if not 0 < self.top_p <= 1:
            raise ValueError(f"top_p must be in (0, 1], got {self.top_p}")
        if self.n < 1:
            raise ValueError(f"n (samples per prompt) must be >= 1, got {self.n}")
        if self.temperature == 0 and self.n > 1:
            raise ValueError(
                "greedy decoding (temperature=0) with n > 1 repeats one sample; use n=1"
            )
        if any(not s for s in self.stop):
            raise ValueError("stop sequences must be non-empty strings")


@dataclass(frozen=True)
class Completion:
    """One sample for one prompt.

    `text`: decoded, cut before the first stop sequence. `token_ids`: the generated tokens
    (without prompt or padding), up to and including the one that hit a stop sequence or EOS.
    `logprobs`: one float per token in `token_ids`, `log_softmax(logits / T)` at the sampled
    token with T the temperature (1 when greedy) and no top-p renormalisation; None unless
    `SamplingParams.logprobs`. `finish_reason`: "stop" (EOS or a stop sequence) or "length".
    """

    text: str
    token_ids: tuple[int, ...]
    logprobs: tuple[float, ...] | None
    finish_reason: FinishReason


class Generator(Protocol):
    def generate(self, prompts: list[str], params: SamplingParams) -> list[list[Completion]]:
        """`[prompt][sample]`: `params.n` completions for each prompt, in prompt order."""
        ...
