"""The `model` config group: which model the study trains (`xlt.models` loads or builds it)."""

from __future__ import annotations

from dataclasses import dataclass

from xlt.checks import check_positive


@dataclass(frozen=True)
class ModelConfig:
    """A Hub/local checkpoint (`path`), or a tiny Llama built from scratch (`path: null`)."""

    name: str = "tiny-llama"
    path: str | None = None  # Hub name or local folder; None: build from scratch (micro scale)
    revision: str | None = None  # pin a commit of the Hub repo for reproducible runs
    chat: bool = False  # instruct model: prompts go through its chat template
    # Architecture of a model built from scratch (ignored when `path` is set).
    vocab_size: int = 512
    hidden_size: int = 64
    num_layers: int = 2
    num_heads: int = 4
    intermediate_size: int = 256
    max_seq_len: int = 512

    def __post_init__(self) -> None:
        for key in ("vocab_size", "hidden_size", "num_layers", "num_heads", "max_seq_len"):
            check_positive(getattr(self, key), f"model.{key}")
        if self.hidden_size % self.num_heads:
            raise ValueError(
                f"model.hidden_size={self.hidden_size} must be divisible by "
                f"model.num_heads={self.num_heads}"
            )

    @property
    def source(self) -> tuple[str, str | None] | None:
        """(Hub name or folder, revision) of a given model; None for one built from scratch."""
        return None if self.path is None else (self.path, self.revision)
