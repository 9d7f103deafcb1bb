"""JavaScript, as MultiPL-E writes it: `//` comment prompt, `node:assert` deepEqual tests."""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

from xlt.data.micro.render.base import Case, Signature, Syntax, basic_literal, doc_lines


def prompt(sig: Signature, syntax: Syntax) -> str:
    doc = "".join(f"// {line}\n" for line in doc_lines(sig, syntax))
    return f"{doc}function {sig.name}({sig.param}){{\n"


def tests(sig: Signature, cases: Sequence[Case], syntax: Syntax) -> str:
    lines = "".join(
        f"  assert.deepEqual(candidate({syntax.literal(arg, sig.param_type)}),"
        f"{syntax.literal(expected, sig.return_type)});\n"
        for arg, expected in cases
    )
    return (
        "const assert = require('node:assert');\n\n\nfunction test() {\n"
        f"  let candidate = {sig.name};\n{lines}}}\n\ntest();\n"
    )


SYNTAX = Syntax(
    code="js",
    indent="  ",
    var="{name}",
    block_end="}",
    for_each={d: ("for (const {elem} of {coll}) {{",) for d in ("ints", "chars", "strs")},
    if_="if ({c}) {{",
    not_="!({c})",
    init={
        "list[int]": "let result = [];",
        "list[str]": "let result = [];",
        "int": "let result = 0;",
        "str": 'let result = "";',
    },
    append="result.push({e});",
    concat="result += {e};",
    add="result += {e};",
    return_="return {e};",
    true="true",
    false="false",
    eq="===",
    ne="!==",
    ops={
        "vowel": '"aeiou".includes({v})',
        "not_vowel": '!"aeiou".includes({v})',
        "digit": '{v} >= "0" && {v} <= "9"',
        "not_digit": '!({v} >= "0" && {v} <= "9")',
        "is_char": '{v} === "{k}"',
        "upper": "{v}.toUpperCase()",
        "twice": "{v} + {v}",
        "len_gt": "{v}.length > {k}",
        "len_lt": "{v}.length < {k}",
        "len_eq": "{v}.length === {k}",
        "len": "{v}.length",
        "concat_self": "{v} + {v}",
        "exclaim": '{v} + "!"',
    },
    function_end="}\n",
    closing="",
    stop_tokens=("\nfunction ", "\n/*", "\n//", "\nconsole.log"),
    prompt=prompt,
    tests=tests,
    literal=partial(basic_literal, true="true", false="false", list_fmt="[{items}]"),
)
