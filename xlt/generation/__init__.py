"""Generation backends shared by RL rollouts and evaluation.

`HFGenerator` (HF `generate`, CPU/GPU) and `VLLMGenerator` (GPU; import it from
`xlt.generation.vllm`, which loads vLLM lazily) both implement
`generate(prompts, params) -> [prompt][sample]` of `Completion`s.
"""

from xlt.generation.hf import HFGenerator
from xlt.generation.text import (
    CHAT_INSTRUCTION,
    FENCE_TAGS,
    MULTIPLE_STOP_SEQUENCES,
    chat_problem_prompt,
    chat_prompt,
    extract_code,
    fence_prefill,
    find_stop,
    stop_sequences,
    truncate_at_stop,
)
from xlt.generation.types import Completion, Generator, SamplingParams

__all__ = [
    "CHAT_INSTRUCTION",
    "chat_problem_prompt",
    "FENCE_TAGS",
    "MULTIPLE_STOP_SEQUENCES",
    "Completion",
    "Generator",
    "HFGenerator",
    "SamplingParams",
    "chat_prompt",
    "extract_code",
    "fence_prefill",
    "find_stop",
    "stop_sequences",
    "truncate_at_stop",
]
