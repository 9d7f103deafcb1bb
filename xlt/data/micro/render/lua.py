"""Lua, as MultiPL-E writes it: `--` comment prompt, `local function`, luaunit tests."""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

from xlt.data.micro.render.base import Case, Signature, Syntax, basic_literal, doc_lines


def prompt(sig: Signature, syntax: Syntax) -> str:
    doc = "".join(f"-- {line}\n" for line in doc_lines(sig, syntax))
    return f"{doc}local function {sig.name}({sig.param})\n"


def tests(sig: Signature, cases: Sequence[Case], syntax: Syntax) -> str:
    lines = "".join(
        f"    lu.assertEquals(candidate({syntax.literal(arg, sig.param_type)}), "
        f"{syntax.literal(expected, sig.return_type)})\n"
        for arg, expected in cases
    )
    return (
        "lu = require('luaunit')\n\nfunction test_humaneval()\n"
        f"local candidate = {sig.name}\n{lines}end\n\nos.exit(lu.LuaUnit.run())\n"
    )


SYNTAX = Syntax(
    code="lua",
    indent="  ",
    var="{name}",
    block_end="end",
    for_each={
        "ints": ("for _, {elem} in ipairs({coll}) do",),
        "chars": ("for i = 1, #{coll} do", "local {elem} = {coll}:sub(i, i)"),
        "strs": ("for _, {elem} in ipairs({coll}) do",),
    },
    if_="if {c} then",
    not_="not ({c})",
    init={
        "list[int]": "local result = {{}}",
        "list[str]": "local result = {{}}",
        "int": "local result = 0",
        "str": 'local result = ""',
    },
    append="table.insert(result, {e})",
    concat="result = result .. {e}",
    add="result = result + {e}",
    return_="return {e}",
    true="true",
    false="false",
    eq="==",
    ne="~=",
    ops={
        "vowel": 'string.find("aeiou", {v}, 1, true) ~= nil',
        "not_vowel": 'string.find("aeiou", {v}, 1, true) == nil',
        "digit": '{v} >= "0" and {v} <= "9"',
        "not_digit": 'not ({v} >= "0" and {v} <= "9")',
        "is_char": '{v} == "{k}"',
        "upper": "{v}:upper()",
        "twice": "{v} .. {v}",
        "len_gt": "#{v} > {k}",
        "len_lt": "#{v} < {k}",
        "len_eq": "#{v} == {k}",
        "len": "#{v}",
        "concat_self": "{v} .. {v}",
        "exclaim": '{v} .. "!"',
    },
    function_end="end\n",
    closing="",
    stop_tokens=("\nlocal", "\nfunction", "\n--", "\n\n"),
    prompt=prompt,
    tests=tests,
    literal=partial(basic_literal, true="true", false="false", list_fmt="{{{items}}}"),
)
