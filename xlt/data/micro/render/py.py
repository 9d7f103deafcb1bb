"""Python, as MultiPL-E writes it: typed signature, docstring prompt, `check(candidate)` tests."""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

from xlt.data.micro.render.base import Case, Signature, Syntax, basic_literal, doc_lines

TYPES = {
    "int": "int",
    "bool": "bool",
    "str": "str",
    "list[int]": "List[int]",
    "list[str]": "List[str]",
}


def prompt(sig: Signature, syntax: Syntax) -> str:
    types = (TYPES[sig.param_type], TYPES[sig.return_type])
    header = "from typing import List\n\n" if any("List" in t for t in types) else ""
    doc = "\n".join(doc_lines(sig, syntax))
    if sig.examples:  # an example's answer may end with a quote: close on a line of its own
        doc += "\n    "
    return f'{header}def {sig.name}({sig.param}: {types[0]}) -> {types[1]}:\n    """{doc}"""\n'


def tests(sig: Signature, cases: Sequence[Case], syntax: Syntax) -> str:
    lines = [
        f"    assert candidate({syntax.literal(arg, sig.param_type)}) == "
        f"{syntax.literal(expected, sig.return_type)}"
        for arg, expected in cases
    ]
    body = "\n".join(lines)
    return f"def check(candidate):\n{body}\n\ndef test_check():\n    check({sig.name})\n\ntest_check()\n"


SYNTAX = Syntax(
    code="py",
    indent="    ",
    var="{name}",
    block_end=None,
    for_each={
        "ints": ("for {elem} in {coll}:",),
        "chars": ("for {elem} in {coll}:",),
        "strs": ("for {elem} in {coll}:",),
    },
    if_="if {c}:",
    not_="not ({c})",
    init={
        "list[int]": "result = []",
        "list[str]": "result = []",
        "int": "result = 0",
        "str": 'result = ""',
    },
    append="result.append({e})",
    concat="result += {e}",
    add="result += {e}",
    return_="return {e}",
    true="True",
    false="False",
    eq="==",
    ne="!=",
    ops={
        "vowel": '{v} in "aeiou"',
        "not_vowel": '{v} not in "aeiou"',
        "digit": "{v}.isdigit()",
        "not_digit": "not {v}.isdigit()",
        "is_char": '{v} == "{k}"',
        "upper": "{v}.upper()",
        "twice": "{v} + {v}",
        "len_gt": "len({v}) > {k}",
        "len_lt": "len({v}) < {k}",
        "len_eq": "len({v}) == {k}",
        "len": "len({v})",
        "concat_self": "{v} + {v}",
        "exclaim": '{v} + "!"',
    },
    function_end="",
    closing="",
    stop_tokens=("\ndef", "\n#", "\nif", "\nclass"),
    prompt=prompt,
    tests=tests,
    literal=partial(basic_literal, true="True", false="False", list_fmt="[{items}]"),
)
