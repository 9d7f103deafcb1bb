"""PHP, as MultiPL-E writes it: `<?php` and `//` comment prompt, exception-throwing `!==` tests."""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

from xlt.data.micro.render.base import Case, Signature, Syntax, basic_literal, doc_lines


def prompt(sig: Signature, syntax: Syntax) -> str:
    doc = "".join(f"// {line}\n" for line in doc_lines(sig, syntax))
    return f"<?php\n{doc}function {sig.name}(${sig.param}) {{\n"


def tests(sig: Signature, cases: Sequence[Case], syntax: Syntax) -> str:
    lines = "".join(
        f"    if (candidate({syntax.literal(arg, sig.param_type)}) !== "
        f'{syntax.literal(expected, sig.return_type)}) {{ throw new Exception("Test failed!"); }}\n'
        for arg, expected in cases
    )
    return (
        f"function candidate(...$args) {{\n    return {sig.name}(...$args);\n}}\n\n"
        f"function test(): void {{\n{lines}}}\n\ntest();"
    )


SYNTAX = Syntax(
    code="php",
    indent="    ",
    var="${name}",
    block_end="}",
    for_each={
        "ints": ("foreach ({coll} as {elem}) {{",),
        # Not str_split: before PHP 8.2 it turns "" into [""].
        "chars": ("for ($i = 0; $i < strlen({coll}); $i++) {{", "{elem} = {coll}[$i];"),
        "strs": ("foreach ({coll} as {elem}) {{",),
    },
    if_="if ({c}) {{",
    not_="!({c})",
    init={
        "list[int]": "$result = [];",
        "list[str]": "$result = [];",
        "int": "$result = 0;",
        "str": '$result = "";',
    },
    append="$result[] = {e};",
    concat="$result .= {e};",
    add="$result += {e};",
    return_="return {e};",
    true="true",
    false="false",
    eq="==",
    ne="!=",
    ops={
        "vowel": 'strpos("aeiou", {v}) !== false',
        "not_vowel": 'strpos("aeiou", {v}) === false',
        "digit": '{v} >= "0" && {v} <= "9"',
        "not_digit": '!({v} >= "0" && {v} <= "9")',
        "is_char": '{v} == "{k}"',
        "upper": "strtoupper({v})",
        "twice": "{v} . {v}",
        "len_gt": "strlen({v}) > {k}",
        "len_lt": "strlen({v}) < {k}",
        "len_eq": "strlen({v}) == {k}",
        "len": "strlen({v})",
        "concat_self": "{v} . {v}",
        "exclaim": '{v} . "!"',
    },
    function_end="}\n",
    closing="",
    stop_tokens=("\nfunction", "\n?>", "\n//", "\n#"),
    prompt=prompt,
    tests=tests,
    literal=partial(basic_literal, true="true", false="false", list_fmt="array({items})"),
)
