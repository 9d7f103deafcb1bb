"""Perl, as MultiPL-E writes it: `#` comment prompt, `my(...) = @_;`, Test::Deep tests.

Perl has no booleans: like MultiPL-E, true is 1 and false is "".
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

from xlt.data.micro.render.base import Case, Signature, Syntax, basic_literal, doc_lines


def prompt(sig: Signature, syntax: Syntax) -> str:
    doc = "".join(f"# {line}\n" for line in doc_lines(sig, syntax))
    return f"{doc}sub {sig.name} {{\n    my(${sig.param}) = @_;\n"


def tests(sig: Signature, cases: Sequence[Case], syntax: Syntax) -> str:
    lines = "".join(
        f"        if(eq_deeply($candidate->({syntax.literal(arg, sig.param_type)}),"
        f"{syntax.literal(expected, sig.return_type)})) {{\n"
        '        print "ok!" }else{\n        exit 1;\n        }\n'
        for arg, expected in cases
    )
    return (
        "use Test::Deep;\n\n\nsub testhumaneval {\n"
        f"    my $candidate = \\&{sig.name};\n{lines}}}\n\ntesthumaneval();"
    )


SYNTAX = Syntax(
    code="pl",
    indent="    ",
    var="${name}",
    block_end="}",
    for_each={
        "ints": ("foreach my {elem} (@{coll}) {{",),
        "chars": ("foreach my {elem} (split(//, {coll})) {{",),
        "strs": ("foreach my {elem} (@{coll}) {{",),
    },
    if_="if ({c}) {{",
    not_="!({c})",
    init={
        "list[int]": "my $result = [];",
        "list[str]": "my $result = [];",
        "int": "my $result = 0;",
        "str": 'my $result = "";',
    },
    append="push(@$result, {e});",
    concat="$result .= {e};",
    add="$result += {e};",
    return_="return {e};",
    true="1",
    false='""',
    eq="==",
    ne="!=",
    ops={
        "vowel": 'index("aeiou", {v}) >= 0',
        "not_vowel": 'index("aeiou", {v}) < 0',
        "digit": '{v} ge "0" && {v} le "9"',
        "not_digit": '!({v} ge "0" && {v} le "9")',
        "is_char": '{v} eq "{k}"',
        "upper": "uc({v})",
        "twice": "{v} . {v}",
        "len_gt": "length({v}) > {k}",
        "len_lt": "length({v}) < {k}",
        "len_eq": "length({v}) == {k}",
        "len": "length({v})",
        "concat_self": "{v} . {v}",
        "exclaim": '{v} . "!"',
    },
    function_end="}\n",
    closing="",
    stop_tokens=("\nsub", "\n#", "\n\n"),
    prompt=prompt,
    tests=tests,
    literal=partial(basic_literal, true="1", false='""', list_fmt="[{items}]"),
)
