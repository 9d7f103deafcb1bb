"""xlt.spec's helpers called directly (the field helper runs at import time, where
`make mutate`'s forked test processes cannot see a mutation: these tests call it)."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path

from xlt.spec import digest, flatten, key_dict, outside_key


def test_outside_key_is_a_field_with_its_default_and_extra_options():
    made = outside_key(3, metadata={"unit": "s"}, compare=False)
    assert made.default == 3 and made.compare is False
    assert dict(made.metadata) == {"unit": "s", "outside_key": True}
    plain = outside_key(None)
    assert plain.default is None and dict(plain.metadata) == {"outside_key": True}
    listed = outside_key(default_factory=list)
    assert listed.default is dataclasses.MISSING and listed.default_factory() == []


def test_key_dict_drops_outside_key_fields_recursively():
    @dataclasses.dataclass(frozen=True)
    class Inner:
        lr: float = 0.1
        workers: int = outside_key(4)

    @dataclasses.dataclass(frozen=True)
    class Outer:
        inner: Inner = Inner()
        layers: tuple = (Inner(),)
        by_name: dict = dataclasses.field(default_factory=lambda: {1: Inner()})
        cache_dir: str | None = outside_key(None)

    assert key_dict(Outer()) == {"inner": {"lr": 0.1}, "layers": [{"lr": 0.1}],
                                 "by_name": {"1": {"lr": 0.1}}}  # fmt: skip
    assert key_dict(Outer) is Outer  # a class is not an instance: left as it is


def test_digest_is_a_short_sha256_of_sorted_json():
    payload = {"b": 1, "a": [1, 2]}
    full = hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()
    assert digest(payload) == full[:16] and digest(payload, 8) == full[:8]
    assert digest({"a": [1, 2], "b": 1}) == digest(payload)  # dict order does not matter
    assert digest({"p": Path("x/y")}) == digest({"p": "x/y"})  # non-JSON values as text


def test_flatten_joins_nested_keys_with_dots():
    assert flatten({"rl": {"lr": 1, "kl": {"coef": 2}}, "seed": 0}) == {
        "rl.lr": 1, "rl.kl.coef": 2, "seed": 0
    }  # fmt: skip
    assert flatten(5, "x") == {"x": 5}
