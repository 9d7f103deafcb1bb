"""Small validation helpers shared by the config dataclasses: each raises ValueError naming
the key and the fix, so a bad setting fails at the entry point before any work."""

from __future__ import annotations

import os


def check_choice(value: object, choices: tuple, key: str) -> None:
    if value not in choices:
        raise ValueError(f"{key}={value!r} is not one of {list(choices)}; pick one of those")


def check_positive(value: float, key: str) -> None:
    if value <= 0:
        raise ValueError(f"{key}={value} must be > 0")


def check_languages(codes: list[str], key: str) -> None:
    from xlt.languages import check_language

    for code in codes:
        check_language(code, key)


def launch_world_size() -> int:
    """Ranks of this launch (torchrun/deepspeed set WORLD_SIZE); 1 for a plain process."""
    return int(os.environ.get("WORLD_SIZE", "1"))
