"""The `tracking` config group: the JSONL log and its optional W&B mirror (`xlt.tracking`)."""

from __future__ import annotations

from dataclasses import dataclass

from xlt.checks import check_choice


@dataclass(frozen=True)
class TrackingConfig:
    backend: str = "jsonl"  # jsonl | wandb (the JSONL log is always written)
    project: str = "xlt"
    entity: str | None = None
    mode: str = "offline"  # offline | online
    # W&B group; unset: a sweep's runs share `<experiment>_<date>_<time>`, a single run its
    # experiment's name (xlt.tracking.run_group)
    group: str | None = None

    def __post_init__(self) -> None:
        check_choice(self.backend, ("jsonl", "wandb"), "tracking.backend")
        check_choice(self.mode, ("offline", "online"), "tracking.mode")
