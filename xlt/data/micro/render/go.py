"""Go, as MultiPL-E writes it: a `_test` package, `//` comment prompt, a table-driven `testing` test.

The prompt always imports "strings" so that every prompt is the same shape;
the tests use it once (`var _ = strings.ToUpper`) so Go accepts the import in
programs that do not need it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from xlt.data.micro.render.base import Case, Signature, Syntax, doc_lines, elem_type, is_list, quote

TYPES = {
    "int": "int",
    "bool": "bool",
    "str": "string",
    "list[int]": "[]int",
    "list[str]": "[]string",
}


def literal(value: Any, micro_type: str) -> str:
    if is_list(micro_type):
        inner = elem_type(micro_type)
        return TYPES[micro_type] + "{" + ", ".join(literal(v, inner) for v in value) + "}"
    if isinstance(value, bool):
        return "true" if value else "false"
    if micro_type == "int":
        return str(value)
    return quote(value)


def prompt(sig: Signature, syntax: Syntax) -> str:
    doc = "".join(f"// {line}\n" for line in doc_lines(sig, syntax))
    return (
        f'package {sig.name}_test\n\nimport (\n    "testing"\n    "fmt"\n    "strings"\n)\n\n'
        f"{doc}func {sig.name}({sig.param} {TYPES[sig.param_type]}) {TYPES[sig.return_type]} {{\n"
    )


def tests(sig: Signature, cases: Sequence[Case], syntax: Syntax) -> str:
    rows = "".join(
        f"     {{ actual: candidate({literal(arg, sig.param_type)}), "
        f"expected: {literal(expected, sig.return_type)} }},\n"
        for arg, expected in cases
    )
    test_name = "Test" + "_".join(part.capitalize() for part in sig.name.split("_"))
    return (
        "var _ = strings.ToUpper\n\n"
        f"func {test_name}(t *testing.T) {{\n  candidate := {sig.name}\n"
        "\ttype test struct {\n\t\tactual   interface{}\n\t\texpected interface{}\n\t}\n"
        f"   tests := []test{{\n{rows}   }}\n\n"
        "\tfor i, tc := range tests {\n"
        '\t\tt.Run(fmt.Sprintf("test num % d", i), func(t *testing.T) {\n'
        '\t\t\tif fmt.Sprintf("%v", tc.actual) != fmt.Sprintf("%v", tc.expected) {\n'
        "\t\t\t\tt.Errorf(\"expected '%s', got '%s'\", tc.expected, tc.actual)\n"
        "\t\t\t}\n\t\t})\n\t}\n}\n"
    )


SYNTAX = Syntax(
    code="go",
    indent="    ",
    var="{name}",
    block_end="}",
    for_each={d: ("for _, {elem} := range {coll} {{",) for d in ("ints", "chars", "strs")},
    if_="if {c} {{",
    not_="!({c})",
    init={
        "list[int]": "result := []int{{}}",
        "list[str]": "result := []string{{}}",
        "int": "result := 0",
        "str": 'result := ""',
    },
    append="result = append(result, {e})",
    concat="result += {e}",
    add="result += {e}",
    return_="return {e}",
    true="true",
    false="false",
    eq="==",
    ne="!=",
    ops={
        "vowel": 'strings.ContainsRune("aeiou", {v})',
        "not_vowel": '!strings.ContainsRune("aeiou", {v})',
        "digit": "{v} >= '0' && {v} <= '9'",
        "not_digit": "!({v} >= '0' && {v} <= '9')",
        "is_char": "{v} == '{k}'",
        "upper": "strings.ToUpper(string({v}))",
        "twice": "string({v}) + string({v})",
        "char_id": "string({v})",
        "len_gt": "len({v}) > {k}",
        "len_lt": "len({v}) < {k}",
        "len_eq": "len({v}) == {k}",
        "len": "len({v})",
        "concat_self": "{v} + {v}",
        "exclaim": '{v} + "!"',
    },
    function_end="}\n",
    closing="",
    stop_tokens=("\nfunc", "struct", "\n// "),
    prompt=prompt,
    tests=tests,
    literal=literal,
)
