"""How one language writes the micro world's programs: a `Syntax` table entry, and the shared walk.

Every canonical solution has one of three shapes, identical in every language
so that parallel programs line up statement by statement:

    accumulate (list, join, sum, count)     any / all                 value / test
        result = <empty>                        for e in coll:            return <expr>
        for e in coll:                              if [not] P(e):
            if P(e):                                    return <bool>
                result <- M(e)                   return <not bool>
        return result

A language module fills in a `Syntax` (statement templates, operator templates,
types, literals, prompt and test harness in MultiPL-E's format for that
language); `render_problem` does the rest. No code here branches on a language.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from xlt.data.micro.programs import INT, Op, Program

# An argument/expected pair, and a doc-comment example.
Case = tuple[Any, Any]


@dataclass(frozen=True)
class Signature:
    name: str  # function name
    param: str  # parameter name
    param_type: str  # micro type, e.g. "list[int]"
    return_type: str
    description: str
    examples: tuple[Case, ...] = ()  # shown in the doc comment, MultiPL-E style


@dataclass(frozen=True)
class Syntax:
    """One language's table entry. Templates use `{v}` (a value), `{k}` (an argument),
    `{e}` (an expression), `{c}` (a condition), `{elem}` / `{coll}` (loop variables)."""

    code: str  # MultiPL-E language code
    indent: str
    var: str  # how a variable is written: "{name}" or "${name}"
    block_end: str | None  # closes if/for blocks; None: indentation only
    for_each: Mapping[str, tuple[str, ...]]  # domain -> loop header, then lines inside the loop
    if_: str
    not_: str
    init: Mapping[str, str]  # return type -> `result = <empty>` statement
    append: str  # list result
    concat: str  # string result
    add: str  # integer result
    return_: str
    true: str
    false: str
    eq: str  # integer equality / inequality operators
    ne: str
    ops: Mapping[str, str]  # character and string primitives (integer ones are shared below)
    function_end: str  # what the solution ends with to close the function ("" when tests do)
    closing: str  # appended after the solution to make a standalone function (corpus, parallel)
    stop_tokens: tuple[str, ...]
    prompt: Callable[[Signature, Syntax], str]
    tests: Callable[[Signature, Sequence[Case], Syntax], str]
    literal: Callable[[Any, str], str]  # (value, micro type) -> source text

    def name(self, variable: str) -> str:
        return self.var.format(name=variable)


# Integer primitives read the same in every language: (template, precedence of the result,
# lowest precedence its operand may have without parentheses). Atoms have precedence 3.
_INT_MAPS: dict[str, tuple[str, float, float]] = {
    "add": ("{v} + {k}", 1, 1),
    "sub": ("{v} - {k}", 1, 1),
    "mul": ("{v} * {k}", 2, 2),
    "square": ("{v} * {v}", 2, 3),
    "neg": ("-{v}", 2.5, 3),
}
_INT_PREDS = {
    "gt": "{v} > {k}",
    "lt": "{v} < {k}",
    "even": "{v} % 2 {eq} 0",
    "odd": "{v} % 2 {ne} 0",
    "div": "{v} % {k} {eq} 0",
}
_ATOM = 3.0


def render_op(
    op: Op, operand: str, syntax: Syntax, operand_prec: float = _ATOM
) -> tuple[str, float]:
    """Apply one primitive to an operand expression; return the expression and its precedence."""
    if op.kind in _INT_MAPS:
        template, prec, needs = _INT_MAPS[op.kind]
        if operand_prec < needs:
            operand = f"({operand})"
        return template.format(v=operand, k=op.arg), prec
    if op.kind in _INT_PREDS:
        return _INT_PREDS[op.kind].format(v=operand, k=op.arg, eq=syntax.eq, ne=syntax.ne), 0
    return syntax.ops[op.kind].format(v=operand, k=op.arg), 0


def solution_lines(program: Program, syntax: Syntax) -> list[tuple[int, str]]:
    """The function body as (depth, text) lines, depth 1 being the function's own level."""
    dom = program.dom
    elem, result = syntax.name(dom.elem), syntax.name("result")
    ret = syntax.return_
    if program.reducer in ("value", "test"):
        expr, prec = syntax.name(dom.param), _ATOM
        for op in (program.pred,) if program.reducer == "test" else program.maps:
            expr, prec = render_op(op, expr, syntax, prec)
        return [(1, ret.format(e=expr))]

    header, *inside = (
        line.format(elem=elem, coll=syntax.name(dom.param)) for line in syntax.for_each[dom.name]
    )
    lines = [(1, header)] + [(2, line) for line in inside]
    closes: list[int] = [1]
    depth = 2
    cond = render_op(program.pred, elem, syntax)[0] if program.pred else None
    if program.reducer in ("any", "all"):
        found, other = (syntax.true, syntax.false)
        if program.reducer == "all":
            cond, found, other = syntax.not_.format(c=cond), syntax.false, syntax.true
        lines += [(2, syntax.if_.format(c=cond)), (3, ret.format(e=found))]
        closes.insert(0, 2)
        body_end = [(1, ret.format(e=other))]
    else:
        lines.insert(0, (1, syntax.init[program.return_type].format()))
        if cond is not None:
            lines.append((2, syntax.if_.format(c=cond)))
            closes.insert(0, 2)
            depth = 3
        lines.append((depth, _accumulate(program, elem, syntax)))
        body_end = [(1, ret.format(e=result))]
    if syntax.block_end is not None:
        lines += [(d, syntax.block_end) for d in closes]
    return lines + body_end


def _accumulate(program: Program, elem: str, syntax: Syntax) -> str:
    if program.reducer == "count":
        return syntax.add.format(e="1")
    expr = elem
    for op in program.maps:
        expr = render_op(op, expr, syntax)[0]
    if program.reducer == "join" and not program.maps and "char_id" in syntax.ops:
        expr = syntax.ops["char_id"].format(v=elem)  # a character is not a string everywhere
    template = {"list": syntax.append, "join": syntax.concat, "sum": syntax.add}[program.reducer]
    return template.format(e=expr)


def solution(program: Program, syntax: Syntax) -> str:
    """The canonical completion: the body and whatever closes the function in this language."""
    lines = solution_lines(program, syntax)
    return (
        "".join(syntax.indent * depth + text + "\n" for depth, text in lines) + syntax.function_end
    )


def signature(
    program: Program, *, name: str | None = None, examples: Sequence[Case] = ()
) -> Signature:
    dom = program.dom
    return Signature(
        name=name or program.name,
        param=dom.param,
        param_type=dom.param_type,
        return_type=program.return_type,
        description=program.description(),
        examples=tuple(examples),
    )


def doc_lines(sig: Signature, syntax: Syntax, call: str = "{name}({arg})") -> list[str]:
    """The description, then MultiPL-E style `>>> call` / result lines for each example."""
    lines = [sig.description]
    for arg, expected in sig.examples:
        lines.append(">>> " + call.format(name=sig.name, arg=syntax.literal(arg, sig.param_type)))
        lines.append(syntax.literal(expected, sig.return_type))
    return lines


def elem_type(list_type: str) -> str:
    """`list[int]` -> `int`."""
    assert list_type.startswith("list["), list_type
    return list_type[5:-1]


def is_list(micro_type: str) -> bool:
    return micro_type.startswith("list[")


def quote(text: str) -> str:
    """A double-quoted literal; the micro alphabet needs no escapes, which this checks."""
    assert all(ch.isalnum() or ch in "!* " for ch in text), text
    return f'"{text}"'


def basic_literal(value: Any, micro_type: str, *, true: str, false: str, list_fmt: str) -> str:
    """Literals for languages that write ints, strings and bools plainly (most of them)."""
    if is_list(micro_type):
        items = ", ".join(
            basic_literal(v, elem_type(micro_type), true=true, false=false, list_fmt=list_fmt)
            for v in value
        )
        return list_fmt.format(items=items)
    if isinstance(value, bool):
        return true if value else false
    if micro_type == INT:
        return str(value)
    return quote(value)
