"""The micro world's programs: a small typed language of compositions, independent of any syntax.

A `Program` is one pipeline over a collection (or one scalar expression):

    for each element e of the input:  [keep e only if PRED(e)]  [e = MAP(e)]  then REDUCE

with reducers `list` (collect), `join` (concatenate into a string), `sum`, `count`,
`any`, `all`, plus the scalar forms `value` (return MAP(x), up to two maps) and
`test` (return PRED(x)). Every primitive is an `Op` from the `OPS` table, which
holds its types, its reference semantics (Python), the phrase that describes it
and the slug that names it. Languages only render these programs
(`xlt.data.micro.render`); what a program computes is decided here, so test
expectations come from `evaluate`, never from running one language's code.

`enumerate_programs()` lists the whole space in a fixed order; the suite samples
and splits it (`xlt.data.micro.suite`).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

# Value types, as written in a program's signature.
INT, BOOL, STR, CHAR, LIST_INT, LIST_STR = "int", "bool", "str", "char", "list[int]", "list[str]"

VOWELS = "aeiou"


@dataclass(frozen=True)
class OpSpec:
    """A primitive: a predicate (returns bool) or a map, over one element type."""

    kind: str
    in_type: str
    out_type: str  # BOOL for predicates
    fn: Callable[[Any, Any], Any]  # reference semantics: fn(value, arg)
    phrase: str  # description; "{k}" is the argument
    slug: str  # function-name fragment; "{k}" is the argument
    args: tuple = (None,)  # the arguments the space enumerates

    @property
    def is_pred(self) -> bool:
        return self.out_type == BOOL


_SMALL = (0, 1, 2, 3, 4, 5, 6, 7)
_OPS = (
    # integer predicates
    OpSpec("gt", INT, BOOL, lambda v, k: v > k, "greater than {k}", "above_{k}", _SMALL),
    OpSpec("lt", INT, BOOL, lambda v, k: v < k, "less than {k}", "below_{k}", _SMALL),
    OpSpec("even", INT, BOOL, lambda v, k: v % 2 == 0, "even", "even"),
    OpSpec("odd", INT, BOOL, lambda v, k: v % 2 != 0, "odd", "odd"),
    OpSpec("div", INT, BOOL, lambda v, k: v % k == 0, "divisible by {k}", "div_{k}", (3, 4, 5)),
    # integer maps
    OpSpec("add", INT, INT, lambda v, k: v + k, "plus {k}", "plus_{k}", (1, 2, 3, 4, 5, 10)),
    OpSpec("sub", INT, INT, lambda v, k: v - k, "minus {k}", "minus_{k}", (1, 2, 3, 4, 5, 10)),
    OpSpec("mul", INT, INT, lambda v, k: v * k, "times {k}", "times_{k}", (2, 3, 4, 5, 10)),
    OpSpec("square", INT, INT, lambda v, k: v * v, "squared", "squared"),
    OpSpec("neg", INT, INT, lambda v, k: -v, "negated", "negated"),
    # character predicates and maps (a map of a character gives a string)
    OpSpec("vowel", CHAR, BOOL, lambda v, k: v in VOWELS, 'in "aeiou"', "vowel"),
    OpSpec("not_vowel", CHAR, BOOL, lambda v, k: v not in VOWELS, 'not in "aeiou"', "not_vowel"),
    OpSpec("digit", CHAR, BOOL, lambda v, k: "0" <= v <= "9", 'between "0" and "9"', "digit"),
    OpSpec("not_digit", CHAR, BOOL, lambda v, k: not "0" <= v <= "9", 'not between "0" and "9"', "not_digit"),
    OpSpec("is_char", CHAR, BOOL, lambda v, k: v == k, 'equal to "{k}"', "is_{k}", tuple("aeo")),
    OpSpec("upper", CHAR, STR, lambda v, k: v.upper(), "in upper case", "upper"),
    OpSpec("twice", CHAR, STR, lambda v, k: v + v, "doubled", "doubled"),
    # string predicates and maps
    OpSpec("len_gt", STR, BOOL, lambda v, k: len(v) > k, "longer than {k}", "longer_{k}", (1, 2, 3, 4, 5)),
    OpSpec("len_lt", STR, BOOL, lambda v, k: len(v) < k, "shorter than {k}", "shorter_{k}", (2, 3, 4, 5, 6)),
    OpSpec("len_eq", STR, BOOL, lambda v, k: len(v) == k, "of length {k}", "length_{k}", (2, 3, 4, 5)),
    OpSpec("len", STR, INT, lambda v, k: len(v), "replaced by its length", "lengths"),
    OpSpec("concat_self", STR, STR, lambda v, k: v + v, "doubled", "doubled"),
    OpSpec("exclaim", STR, STR, lambda v, k: v + "!", 'followed by "!"', "exclaimed"),
)  # fmt: skip
OPS: dict[str, OpSpec] = {spec.kind: spec for spec in _OPS}


@dataclass(frozen=True)
class Op:
    kind: str
    arg: int | str | None = None

    @property
    def spec(self) -> OpSpec:
        return OPS[self.kind]

    def __call__(self, value: Any) -> Any:
        return self.spec.fn(value, self.arg)

    @property
    def phrase(self) -> str:
        return self.spec.phrase.format(k=self.arg)

    @property
    def slug(self) -> str:
        return self.spec.slug.format(k=self.arg)


@dataclass(frozen=True)
class Domain:
    """What a program iterates over: its parameter, element variable and types."""

    name: str
    param: str  # parameter name in every language
    elem: str  # element variable name in every language
    param_type: str
    elem_type: str
    noun: str  # "numbers in xs"
    noun_one: str  # "number in xs"
    slug: str


DOMAINS: dict[str, Domain] = {
    d.name: d
    for d in (
        Domain("ints", "xs", "x", LIST_INT, INT, "numbers in xs", "number in xs", "nums"),
        Domain("chars", "s", "c", STR, CHAR, "characters of s", "character of s", "chars"),
        Domain("strs", "strs", "w", LIST_STR, STR, "strings in strs", "string in strs", "strs"),
        Domain("int", "x", "x", INT, INT, "x", "x", "int"),
    )
}

# reducer -> (domains it applies to, predicate: "required" | "optional" | "none", max maps)
REDUCERS: dict[str, tuple[tuple[str, ...], str, int]] = {
    "list": (("ints", "strs"), "optional", 1),
    "join": (("chars", "strs"), "optional", 1),
    "sum": (("ints", "strs"), "optional", 1),
    "count": (("ints", "chars", "strs"), "required", 0),
    "any": (("ints", "chars", "strs"), "required", 0),
    "all": (("ints", "chars", "strs"), "required", 0),
    "value": (("int",), "none", 2),
    "test": (("int",), "required", 0),
}


@dataclass(frozen=True)
class Program:
    domain: str
    reducer: str
    pred: Op | None = None
    maps: tuple[Op, ...] = ()

    # ---- types

    @property
    def dom(self) -> Domain:
        return DOMAINS[self.domain]

    @property
    def item_type(self) -> str:
        """The type of one element after the maps."""
        return self.maps[-1].spec.out_type if self.maps else self.dom.elem_type

    @property
    def return_type(self) -> str:
        if self.reducer in ("count", "sum"):
            return INT
        if self.reducer in ("any", "all", "test"):
            return BOOL
        if self.reducer == "join":
            return STR
        if self.reducer == "list":
            return LIST_INT if self.item_type == INT else LIST_STR
        return INT  # value

    @property
    def family(self) -> str:
        return f"{self.domain}/{self.reducer}"

    @property
    def primitives(self) -> tuple[str, ...]:
        ops = ((self.pred,) if self.pred else ()) + self.maps
        return (self.reducer,) + tuple(f"{op.kind}:{op.arg}" for op in ops)

    # ---- identity

    @property
    def name(self) -> str:
        """A function name that spells the composition; unique over the space."""
        parts = [self.reducer, self.dom.slug]
        if self.pred:
            parts.append(self.pred.slug)
        parts += [op.slug for op in self.maps]
        return "_".join(parts)

    # ---- meaning

    def __call__(self, value: Any) -> Any:
        if self.reducer == "value":
            for op in self.maps:
                value = op(value)
            return value
        if self.reducer == "test":
            return self.pred(value)
        items = [e for e in value if self.pred is None or self.pred(e)]
        for op in self.maps:
            items = [op(e) for e in items]
        return _REDUCE[self.reducer](items, self.pred, value)

    def description(self) -> str:
        dom, reducer = self.dom, self.reducer
        if reducer == "value":
            return "Return x " + ", then ".join(op.phrase for op in self.maps) + "."
        if reducer == "test":
            return f"Return true if x is {self.pred.phrase}."
        if reducer == "count":
            return f"Return how many {dom.noun} are {self.pred.phrase}."
        if reducer in ("any", "all"):
            quantifier = "any" if reducer == "any" else "every"
            return f"Return true if {quantifier} {dom.noun_one} is {self.pred.phrase}."
        text = {"list": "Return the ", "join": "Return the ", "sum": "Return the sum of the "}[
            reducer
        ]
        if reducer == "sum" and self.maps and self.maps[0].kind == "len":
            text, maps = "Return the total length of the ", ()
        else:
            maps = self.maps
        text += dom.noun
        if self.pred:
            text += f" that are {self.pred.phrase}"
        if maps:
            text += ", each " + maps[0].phrase
        if reducer == "join":
            text += ", joined into one string"
        return text + "."


_REDUCE: dict[str, Callable[[list, Op | None, Any], Any]] = {
    "list": lambda items, pred, value: items,
    "join": lambda items, pred, value: "".join(items),
    "sum": lambda items, pred, value: sum(items),
    "count": lambda items, pred, value: len(items),
    "any": lambda items, pred, value: bool(items),
    "all": lambda items, pred, value: len(items) == len(value),
}


def _ops(in_type: str, *, preds: bool) -> list[Op]:
    return [
        Op(spec.kind, arg)
        for spec in _OPS
        if spec.in_type == in_type and spec.is_pred == preds
        for arg in spec.args
    ]


def enumerate_programs() -> Iterator[Program]:
    """Every program of the space, in a fixed order (the suite samples from this)."""
    for reducer, (domains, pred_rule, max_maps) in REDUCERS.items():
        for domain in domains:
            elem_type = DOMAINS[domain].elem_type
            preds: list[Op | None] = {
                "required": _ops(elem_type, preds=True),
                "optional": [None, *_ops(elem_type, preds=True)],
                "none": [None],
            }[pred_rule]
            map_chains: list[tuple[Op, ...]] = [()]
            if max_maps:
                maps = [op for op in _ops(elem_type, preds=False) if _map_fits(reducer, op)]
                map_chains += [(op,) for op in maps]
                if max_maps == 2:  # scalar int -> int: compositions of two maps
                    map_chains += [
                        (f, g) for f, g in itertools.product(maps, maps) if _composable(f, g)
                    ]
            for pred, chain in itertools.product(preds, map_chains):
                program = Program(domain, reducer, pred, chain)
                if _interesting(program):
                    yield program


def _map_fits(reducer: str, op: Op) -> bool:
    """Maps whose output type the reducer can take."""
    out = op.spec.out_type
    if reducer == "sum":
        return out == INT
    if reducer == "join":
        return out == STR
    return True


def _composable(f: Op, g: Op) -> bool:
    """Two maps of different kinds, and not two shifts (x + 1 - 2 is just another shift)."""
    shifts = {"add", "sub"}
    return f.kind != g.kind and not {f.kind, g.kind} <= shifts


def _interesting(program: Program) -> bool:
    """Well-typed, and not an identity in disguise."""
    item = program.item_type
    if program.reducer == "sum" and item != INT:
        return False
    if program.reducer == "join" and item not in (STR, CHAR):
        return False
    if program.reducer == "list" and program.pred is None and not program.maps:
        return False
    if program.pred == Op("digit") and program.maps == (Op("upper"),):
        return False  # digits have no case: the same as the program without the map
    return not (program.reducer == "value" and not program.maps)
