"""Ruby, as MultiPL-E writes it: `#` comment prompt, Test::Unit tests."""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

from xlt.data.micro.render.base import Case, Signature, Syntax, basic_literal, doc_lines


def prompt(sig: Signature, syntax: Syntax) -> str:
    doc = "".join(f"# {line}\n" for line in doc_lines(sig, syntax, call="{name}.call({arg})"))
    return f"{doc}def {sig.name}({sig.param})\n"


def tests(sig: Signature, cases: Sequence[Case], syntax: Syntax) -> str:
    lines = "".join(
        f"    assert_equal({syntax.literal(expected, sig.return_type)}, "
        f"candidate.call({syntax.literal(arg, sig.param_type)}))\n"
        for arg, expected in cases
    )
    return (
        "require 'test/unit'\nclass TestHumanEval < Test::Unit::TestCase\n"
        f"  def test_{sig.name}\n    candidate = method(:{sig.name})\n{lines}  end\nend\n"
    )


SYNTAX = Syntax(
    code="rb",
    indent="  ",
    var="{name}",
    block_end="end",
    for_each={
        "ints": ("{coll}.each do |{elem}|",),
        "chars": ("{coll}.each_char do |{elem}|",),
        "strs": ("{coll}.each do |{elem}|",),
    },
    if_="if {c}",
    not_="!({c})",
    init={
        "list[int]": "result = []",
        "list[str]": "result = []",
        "int": "result = 0",
        "str": 'result = ""',
    },
    append="result.push({e})",
    concat="result += {e}",
    add="result += {e}",
    return_="return {e}",
    true="true",
    false="false",
    eq="==",
    ne="!=",
    ops={
        "vowel": '"aeiou".include?({v})',
        "not_vowel": '!"aeiou".include?({v})',
        "digit": '{v} >= "0" && {v} <= "9"',
        "not_digit": '!({v} >= "0" && {v} <= "9")',
        "is_char": '{v} == "{k}"',
        "upper": "{v}.upcase",
        "twice": "{v} + {v}",
        "len_gt": "{v}.length > {k}",
        "len_lt": "{v}.length < {k}",
        "len_eq": "{v}.length == {k}",
        "len": "{v}.length",
        "concat_self": "{v} + {v}",
        "exclaim": '{v} + "!"',
    },
    function_end="end\n",
    closing="",
    stop_tokens=("\nclass", "\ndef", "\n#", "\n\n"),
    prompt=prompt,
    tests=tests,
    literal=partial(basic_literal, true="true", false="false", list_fmt="[{items}]"),
)
