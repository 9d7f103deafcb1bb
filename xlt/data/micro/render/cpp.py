"""C++, as MultiPL-E writes it: `//` comment prompt, `long` and `std::vector`, `assert` in `main`.

As in MultiPL-E, the tests start with the function's closing brace, so a
completion stops before it (stop token "\\n}").
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from xlt.data.micro.render.base import Case, Signature, Syntax, doc_lines, elem_type, is_list, quote

TYPES = {
    "int": "long",
    "bool": "bool",
    "str": "std::string",
    "list[int]": "std::vector<long>",
    "list[str]": "std::vector<std::string>",
}


def literal(value: Any, micro_type: str) -> str:
    if is_list(micro_type):
        inner = elem_type(micro_type)
        items = ", ".join(literal(v, inner) for v in value)
        return f"{TYPES[micro_type]}({{{items}}})" if value else f"{TYPES[micro_type]}()"
    if isinstance(value, bool):
        return "true" if value else "false"
    if micro_type == "int":
        return str(value)
    return f"std::string({quote(value)})"


def prompt(sig: Signature, syntax: Syntax) -> str:
    doc = "".join(f"// {line}\n" for line in doc_lines(sig, syntax))
    return (
        "#include<assert.h>\n#include<bits/stdc++.h>\n"
        f"{doc}{TYPES[sig.return_type]} {sig.name}({TYPES[sig.param_type]} {sig.param}) {{\n"
    )


def tests(sig: Signature, cases: Sequence[Case], syntax: Syntax) -> str:
    lines = "".join(
        f"    assert(candidate({literal(arg, sig.param_type)}) == ({literal(expected, sig.return_type)}));\n"
        for arg, expected in cases
    )
    return f"}}\nint main() {{\n    auto candidate = {sig.name};\n{lines}}}\n"


SYNTAX = Syntax(
    code="cpp",
    indent="    ",
    var="{name}",
    block_end="}",
    for_each={
        "ints": ("for (long {elem} : {coll}) {{",),
        "chars": ("for (char {elem} : {coll}) {{",),
        "strs": ("for (std::string {elem} : {coll}) {{",),
    },
    if_="if ({c}) {{",
    not_="!({c})",
    init={
        "list[int]": "std::vector<long> result;",
        "list[str]": "std::vector<std::string> result;",
        "int": "long result = 0;",
        "str": 'std::string result = "";',
    },
    append="result.push_back({e});",
    concat="result += {e};",
    add="result += {e};",
    return_="return {e};",
    true="true",
    false="false",
    eq="==",
    ne="!=",
    ops={
        "vowel": 'std::string("aeiou").find({v}) != std::string::npos',
        "not_vowel": 'std::string("aeiou").find({v}) == std::string::npos',
        "digit": "{v} >= '0' && {v} <= '9'",
        "not_digit": "!({v} >= '0' && {v} <= '9')",
        "is_char": "{v} == '{k}'",
        "upper": "(char)toupper({v})",
        "twice": "std::string(2, {v})",
        "len_gt": "(long){v}.size() > {k}",
        "len_lt": "(long){v}.size() < {k}",
        "len_eq": "(long){v}.size() == {k}",
        "len": "(long){v}.size()",
        "concat_self": "{v} + {v}",
        "exclaim": '{v} + "!"',
    },
    function_end="",
    closing="}\n",
    stop_tokens=("\n}",),
    prompt=prompt,
    tests=tests,
    literal=literal,
)
