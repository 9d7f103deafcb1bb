"""Stage specs: the frozen dataclass that is a stage's whole input, and what of it is hashed.

A stage function sees only its spec (plus its input folders and seed), and the pipeline
keys the stage's artifact by a hash of that spec, so a stage cannot read a setting that
its cache key misses. A few settings change how fast or where a stage runs but never what
it computes (worker counts, cache folders, checkpoint cadence); they are declared with
`outside_key()` and left out of the hash, so changing them reuses finished work.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from typing import Any

_OUTSIDE_KEY = "outside_key"


def outside_key(default: Any = dataclasses.MISSING, **kwargs) -> Any:
    """A dataclass field that changes speed or storage only, never a stage's output."""
    metadata = {**kwargs.pop("metadata", {}), _OUTSIDE_KEY: True}
    return dataclasses.field(default=default, metadata=metadata, **kwargs)


def key_dict(value: Any) -> Any:
    """`value` as JSON-able data, dataclasses recursively, without their `outside_key` fields."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: key_dict(getattr(value, f.name))
            for f in dataclasses.fields(value)
            if not f.metadata.get(_OUTSIDE_KEY)
        }
    if isinstance(value, dict):
        return {str(k): key_dict(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [key_dict(v) for v in value]
    return value


def digest(payload: Any, length: int = 16) -> str:
    """A short, stable hash of JSON-able data (dict order does not matter)."""
    blob = json.dumps(payload, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:length]


def flatten(payload: Any, prefix: str = "") -> dict[str, Any]:
    """Nested dicts as one level of dotted keys: {"rl": {"lr": 1}} -> {"rl.lr": 1}."""
    if not isinstance(payload, dict):
        return {prefix: payload}
    flat: dict[str, Any] = {}
    for key, value in payload.items():
        flat.update(flatten(value, f"{prefix}.{key}" if prefix else str(key)))
    return flat
