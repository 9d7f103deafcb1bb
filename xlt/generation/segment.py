"""Split source code into top-level items (imports, definitions, statements) without a parser.

Chat answers are free-form code in any of xlt's languages; turning one into a program
(`xlt.generation.answers`) needs to know where each top-level function, class or
statement starts and ends, and which names it defines and uses. A full parser per
language is out of reach, so this module does what harnesses do by hand
(bigcode-evaluation-harness `humanevalpack.py` counts braces; SandboxFusion
`sandbox/utils/extraction.py` finds a function body by bracket counting): comments and
string contents are blanked out first, then an item runs from a line at depth 0 until the
depth is back to 0 at the end of a line, and the statement does not continue on the next
line. Blank lines and comments (at any column) never end an item: only code does.

Depth counts brackets and, for `end`-languages (Lua, Ruby), the keywords that open and
close blocks (`ChatRule.opens` / `closes`). Python is split with its own `ast` when the
code parses (parsing runs nothing), else by indentation.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field

from xlt.languages import ChatRule

IMPORT, DEFINITION, STATEMENT, DROP = "import", "definition", "statement", "drop"

# A line that only prefixes the next item: a Java/TS annotation, a Rust attribute,
# a C++ template header.
_PREFIX_LINE = re.compile(r"^\s*(?:@[\w.]+(?:\(.*\))?|#\[.*\]|template\s*<.*>)\s*$")
# A statement continues on the next line when its last code character dangles ...
_DANGLING_END = re.compile(r"(?:[,(\[=+\-*/%&|\\:<]|=>|->)\s*$")
# ... or the next code line starts by continuing it (Allman braces, method chains, else).
_CONTINUATION_START = re.compile(
    r"^\s*(?:[{.)\]?:]|&&|\|\||=>|->|where\b|else\b|elsif\b|elseif\b|catch\b|finally\b"
    r"|rescue\b|ensure\b|then\b|do\b)"
)
_IDENTIFIER = re.compile(r"[A-Za-z_]\w*")
_RUST_CHAR = re.compile(r"'(?:\\(?:u\{[0-9a-fA-F]+\}|x[0-9a-fA-F]{2}|.)|[^\\'\n])'")


@dataclass
class Item:
    kind: str  # IMPORT, DEFINITION, STATEMENT or DROP
    lines: list[str]
    names: tuple[str, ...] = ()  # what a definition defines
    uses: set[str] = field(default_factory=set)  # identifiers in its code (comments/strings out)
    outside: bool = False  # Java: a top-level class of the answer, placed after the tests
    head: str = ""  # its first code line (comments and annotations above it skipped)

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


def mask(code: str, rule: ChatRule) -> str:
    """`code` with comments and string contents replaced by spaces (newlines kept)."""
    out = list(code)
    i, n = 0, len(code)
    line_comments = rule.line_comment
    while i < n:
        c = code[i]
        if rule.block_comment and code.startswith(rule.block_comment[0], i):
            end = code.find(rule.block_comment[1], i + len(rule.block_comment[0]))
            end = n if end == -1 else end + len(rule.block_comment[1])
            _blank(out, i, end)
            i = end
            continue
        if c == "/" and rule.regex_literals and _regex_can_start(code, i):
            end = _regex_end(code, i)
            if end is not None:
                _blank(out, i + 1, end - 1)
                i = end
                continue
        comment = next((t for t in line_comments if code.startswith(t, i)), None)
        # `#` starts a comment only after a space or at the start (`$#array`, `${#x}`).
        if comment and (comment != "#" or i == 0 or code[i - 1] in " \t\n;"):
            end = code.find("\n", i)
            end = n if end == -1 else end
            _blank(out, i, end)
            i = end
            continue
        if c == '"' or (c == "`" and rule.backtick_strings):
            end = _string_end(code, i, c, multiline=True)
            _blank(out, i + 1, end - 1)
            i = end
            continue
        if c == "'":
            char = _RUST_CHAR.match(code, i)
            end = char.end() if char else None
            if end is None and rule.single_quote_strings:
                found = _string_end(code, i, "'", multiline=False)
                end = found if found <= n and code[found - 1] == "'" and found > i + 1 else None
            if end is not None:
                _blank(out, i + 1, end - 1)
                i = end
                continue
        i += 1
    return "".join(out)


def _regex_can_start(code: str, i: int) -> bool:
    """A `/` starts a JS regex literal (not a division or a comment) after an operator."""
    if code[i + 1 : i + 2] in ("/", "*", ""):
        return False
    before = code[:i].rstrip(" \t")
    return not before or before[-1] in "(,=:[!&|?{};\n" or before.endswith("return")


def _regex_end(code: str, i: int) -> int | None:
    """Index past the literal's closing `/` (flags not included), or None if the line ends first."""
    j, in_class = i + 1, False
    while j < len(code) and code[j] != "\n":
        if code[j] == "\\":
            j += 2
            continue
        if code[j] == "[":
            in_class = True
        elif code[j] == "]":
            in_class = False
        elif code[j] == "/" and not in_class:
            return j + 1
        j += 1
    return None


def _blank(out: list[str], start: int, end: int) -> None:
    for j in range(start, min(end, len(out))):
        if out[j] != "\n":
            out[j] = " "


def _string_end(code: str, start: int, quote: str, *, multiline: bool) -> int:
    """Index just past the closing quote (or the end of the line/text if unclosed)."""
    j = start + 1
    while j < len(code):
        if code[j] == "\\":
            j += 2
            continue
        if code[j] == quote:
            return j + 1
        if code[j] == "\n" and not multiline:
            return j
        j += 1
    return len(code)


def _depth_delta(masked_line: str, rule: ChatRule) -> int:
    pairs = ("{}", "()", "[]") if rule.count_parens else ("{}",)
    delta = sum(masked_line.count(a) - masked_line.count(b) for a, b in pairs)
    if rule.opens:
        delta += len(re.findall(rule.opens, masked_line))
    if rule.closes:
        delta -= len(re.findall(rule.closes, masked_line))
    return delta


def open_depth(code: str, rule: ChatRule) -> int:
    """Blocks `code` opens and does not close (negative: closes more than it opens)."""
    return sum(_depth_delta(line, rule) for line in mask(code, rule).split("\n"))


def split_items(code: str, rule: ChatRule) -> list[Item]:
    """Top-level items of `code`, in order; comments and blank lines go with the next item."""
    if rule.python_ast:
        items = _python_items(code, rule)
        if items is not None:
            return items
    lines = code.split("\n")
    masked = mask(code, rule).split("\n")
    is_code = [bool(m.strip()) for m in masked]
    items: list[Item] = []
    depth = 0
    current: list[int] = []
    for index, masked_line in enumerate(masked):
        current.append(index)
        if not is_code[index] and not any(is_code[i] for i in current):
            continue  # leading comments/blank lines wait for their item
        depth = max(0, depth + _depth_delta(masked_line, rule))
        if depth > 0 or not is_code[index] or _continues(masked, is_code, index, rule):
            continue
        items.append(_item(lines, masked, current, rule))
        current = []
    if any(is_code[i] for i in current):
        items.append(_item(lines, masked, current, rule))
    return items


def _continues(masked: list[str], is_code: list[bool], index: int, rule: ChatRule) -> bool:
    line = masked[index]
    if _PREFIX_LINE.match(line) or _DANGLING_END.search(line):
        return True
    following = next((i for i in range(index + 1, len(masked)) if is_code[i]), None)
    if following is None:
        return False
    if rule.indent_continues and masked[following][:1] in (" ", "\t"):
        return True
    return bool(_CONTINUATION_START.match(masked[following]))


def _item(lines: list[str], masked: list[str], indices: list[int], rule: ChatRule) -> Item:
    first = next(i for i in indices if masked[i].strip() and not _PREFIX_LINE.match(masked[i]))
    kept = [lines[i] for i in indices]
    # `export function f` would make the program an ES module, which node will not run as a script.
    if rule.strip_prefix and re.match(rule.strip_prefix, lines[first]):
        kept[indices.index(first)] = re.sub(rule.strip_prefix, "", lines[first])
    uses = set(_IDENTIFIER.findall("\n".join(masked[i] for i in indices)))
    kind, names = classify(kept[indices.index(first)].strip(), rule)
    if kind == IMPORT:  # comments above an import go: imports are compared by their text
        kept = kept[indices.index(first) :]
    return Item(kind, kept, names, uses, head=lines[first].strip())


def classify(first_line: str, rule: ChatRule) -> tuple[str, tuple[str, ...]]:
    """(kind, names) of an item from its first code line."""
    if rule.drop and re.match(rule.drop, first_line):
        return DROP, ()
    if rule.imports and re.match(rule.imports, first_line):
        return IMPORT, ()
    for pattern in rule.definitions:
        match = re.match(pattern, first_line)
        if match:
            return DEFINITION, (match.group(1).rstrip("?!"),)
    return STATEMENT, ()


def _python_items(code: str, rule: ChatRule) -> list[Item] | None:
    """Items from Python's own parser (kinds by node type); None if the code does not parse."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return None
    lines = code.split("\n")
    masked = mask(code, rule).split("\n")
    items, previous_end = [], 0
    for node in tree.body:
        first = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
        indices = list(range(previous_end, node.end_lineno))
        previous_end = node.end_lineno
        head = lines[first - 1].strip()
        if isinstance(node, ast.Import | ast.ImportFrom):
            kind, names = classify(head, rule)
            kind = DROP if kind == DROP else IMPORT
            indices = list(range(first - 1, node.end_lineno))
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            kind, names = DEFINITION, (node.name,)
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names = tuple(t.id for t in targets if isinstance(t, ast.Name))
            kind = DEFINITION if names else STATEMENT
        else:
            kind, names = STATEMENT, ()
        uses = set(_IDENTIFIER.findall("\n".join(masked[i] for i in indices)))
        items.append(Item(kind, [lines[i] for i in indices], names, uses, head=head))
    return items
