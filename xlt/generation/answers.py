"""Chat answers -> programs: the one rule used wherever a chat model's free answer is scored.

    from xlt.generation.answers import program_from_chat_answer
    program = program_from_chat_answer(problem, answer_text)   # the whole program to run

MultiPL-E's stop sequences are made for a base model that continues a prompt: cutting a
chat answer at them (a blank line in Lua, `\\nfunction ` in JS) breaks correct answers.
Instead, following what harnesses do with free-form answers (SandboxFusion
`sandbox/datasets/multiple.py`: the answer's code replaces the prompt and the tests are
appended; evalplus `evalplus/sanitize.py`: keep imports and the definitions the entry point
reaches, drop the rest; bigcode-evaluation-harness `humanevalpack.py`: whole functions by
brace counting, `main` removed), a `tests` problem's program is

    prompt head            the prompt up to the requested function (imports, package, class)
    + the answer's imports not already there (Go: only those the kept code uses)
    + the answer's definitions reachable from the requested function, in answer order
    + "\\n" + the tests    (minus the closing brace they start with, which closed the prompt)

so helpers before or after the function survive, and `main`s, example calls
(`print(add(2, 3))`, `console.log`), test code and anything else that would run before the
tests or clash with them are dropped. The tests are never touched beyond that leading
closer, so a wrong answer cannot pass by removing them. An `io` problem's program is the
chosen code block itself. The per-language facts live in `ChatRule` (`xlt.languages`).

Which block: blocks tagged with the language, then untagged ones; the first that defines
the requested function is the answer, and definitions it needs from the other blocks of
that group are added. With no such block the code is taken as a continuation of the prompt
(cut at the stop sequences, as a completion). CRLF line endings become LF.
"""

from __future__ import annotations

import re
import textwrap

from xlt.data.records import Problem
from xlt.generation.segment import DEFINITION, IMPORT, Item, mask, open_depth, split_items
from xlt.generation.text import truncate_at_stop
from xlt.languages import ChatRule, get_language

# An opening fence (any indentation) with its info string, then the body up to a closing
# fence of the same indentation or the end of the text (a model out of tokens leaves it open).
_FENCE = re.compile(r"^([ \t]*)```[ \t]*([^\n`]*)\n(.*?)(?:^[ \t]*```[ \t]*$|\Z)", re.S | re.M)
_GO_IMPORT_SPEC = re.compile(r'(?:^|[\s(])(?:([\w.]+)\s+)?"([^"\n]+)"')


def code_blocks(answer: str) -> list[tuple[str, str]]:
    """(tag, body) of every fenced block, the tag lower-cased to its first word."""
    text = answer.replace("\r\n", "\n")
    blocks = []
    for indent, info, body in _FENCE.findall(text):
        tag = info.strip().split()[0].lower() if info.strip() else ""
        blocks.append((tag, textwrap.dedent(body) if indent else body))
    return blocks


def _group(answer: str, language: str) -> list[str]:
    """The candidate blocks for `language`: tagged with it, then untagged; else the first block
    (wrong-language code then fails, as it should), else the whole text."""
    tags = get_language(language).fence_tags
    blocks = code_blocks(answer)
    group = [b for t, b in blocks if t in tags] + [b for t, b in blocks if t == ""]
    if group:
        return group
    return [blocks[0][1]] if blocks else [answer.replace("\r\n", "\n").strip() + "\n"]


def entry_name(problem: Problem) -> tuple[str, int] | None:
    """(name, offset of its line in the prompt) of the function a `tests` prompt asks for."""
    rule = get_language(problem.language).chat
    if rule is None:
        return None
    # On the prompt with comments and strings blanked: doc examples (`>>> f(2)`) are not headers.
    matches = list(re.finditer(rule.entry, mask(problem.prompt, rule), re.M))
    return (matches[-1].group(1), matches[-1].start()) if matches else None


def is_chat_answer(problem: Problem, text: str) -> bool:
    """`--format auto`: a chat answer has a fenced block or (re)defines the requested function;
    a completion continues the prompt's function instead."""
    if code_blocks(text):
        return True
    entry = entry_name(problem)
    rule = get_language(problem.language).chat
    return (
        rule is not None
        and entry is not None
        and _defines(_items(text.replace("\r\n", "\n"), rule, entry[0]), entry[0])
    )


def program_from_chat_answer(problem: Problem, answer: str) -> str:
    """The whole program that scores `answer` (a chat model's free answer) on `problem`."""
    group = _group(answer, problem.language)
    if problem.mode == "io":
        return group[0]
    rule = get_language(problem.language).chat
    if rule is None:  # no chat rule yet (beyond the CI tier): the block continues the prompt
        return problem.program(
            truncate_at_stop(_after_prompt(group[0], problem.prompt), problem.stop_tokens)
        )
    entry = entry_name(problem)
    if entry is None:
        raise ValueError(
            f"{problem.name}: no function header found in the {problem.language} prompt "
            f"(pattern {rule.entry!r}); chat answers need one to be placed"
        )
    name, head_end = entry
    parsed = [_items(block, rule, name) for block in group]
    primary = next((i for i, items in enumerate(parsed) if _defines(items, name)), None)
    if primary is None:  # no definition of the function: the code continues the prompt
        return problem.program(truncate_at_stop(group[0], problem.stop_tokens))
    items = [item for i, its in enumerate(parsed) if i != primary for item in its]
    items = _dedupe(items, parsed[primary]) + parsed[primary]
    head = problem.prompt[:head_end]
    kept = _reachable(items, {name} | _tests_need(problem.tests, rule), _names_in(head, rule))
    body, after = _split_outside(kept)
    imports = _imports([i for i in items if i.kind == IMPORT], head, body, rule)
    return _assemble(head, imports, body, problem.tests, after, problem.language)


def _after_prompt(code: str, prompt: str) -> str:
    """The part of `code` after the line that ends `prompt` (a block that repeats the prompt)."""
    last = next((line.strip() for line in reversed(prompt.splitlines()) if line.strip()), None)
    lines = code.splitlines(keepends=True)
    for index, line in enumerate(lines):
        if last is not None and line.strip() == last:
            return "".join(lines[index + 1 :])
    return code


def _items(block: str, rule: ChatRule, entry: str) -> list[Item]:
    items = split_items(block, rule)
    if not rule.members_of_class:
        return items
    # Java: the function is a member of a class, whose members become the items; the
    # answer's other top-level classes are kept (if used) after the tests, outside Problem.
    out = []
    for item in items:
        is_class = item.kind == DEFINITION and re.match(rule.container, item.head)
        members = split_items(_class_body(item.text), rule) if is_class else []
        if _defines(members, entry):
            out += members
        else:
            item.outside = bool(is_class)
            out.append(item)
    return out


def _class_body(text: str) -> str:
    return text[text.index("{") + 1 : text.rindex("}")] if "{" in text and "}" in text else ""


def _defines(items: list[Item], name: str | None) -> bool:
    return any(item.kind == DEFINITION and (name is None or name in item.names) for item in items)


def _dedupe(extra: list[Item], primary: list[Item]) -> list[Item]:
    """Items of the other blocks whose names the primary block does not define."""
    defined = {n for item in primary for n in item.names}
    return [item for item in extra if not (set(item.names) & defined)]


def _names_in(head: str, rule: ChatRule) -> set[str]:
    """Names the prompt itself defines before the function (HumanEval/10's is_palindrome):
    the prompt's definition wins, as a second one would not compile in several languages."""
    items = split_items(head, rule)
    if rule.members_of_class:  # Java: the prompt's helpers are members of its open class
        inner = [i for i in items if i.kind == DEFINITION and re.match(rule.container, i.head)]
        items += [
            m for i in inner if "{" in i.text for m in split_items(i.text.split("{", 1)[1], rule)
        ]
    return {n for item in items if item.kind == DEFINITION for n in item.names}


def _tests_need(tests: str, rule: ChatRule) -> set[str]:
    """Names the tests use but do not define: where the prompt's last header is not the
    function the tests call (HumanEval-X Rust/10 ends on its helper), the answer's
    definition of the called one is kept too; the tests' own `main`, `check`, `test`,
    `candidate` stay theirs."""
    items = split_items(tests, rule)
    defined = {n for item in items if item.kind == DEFINITION for n in item.names}
    return {n for item in items for n in item.uses} - defined


def _reachable(items: list[Item], roots: set[str], given: set[str]) -> list[Item]:
    """Definitions reachable through names from `roots` (evalplus's rule, from the requested
    function), in answer order; the answer's own `main`, tests and example calls go."""
    defs = [item for item in items if item.kind == DEFINITION and not set(item.names) & given]
    wanted, frontier = set(roots), list(roots)
    while frontier:
        name = frontier.pop()
        for item in defs:
            if name in item.names:
                for used in item.uses - wanted:
                    wanted.add(used)
                    frontier.append(used)
    return [item for item in defs if set(item.names) & wanted]


def _split_outside(kept: list[Item]) -> tuple[str, str]:
    """(definitions inside the prompt's scope, Java classes to put after the tests)."""
    inside = "\n".join(item.text for item in kept if not item.outside)
    # One public top-level class per file, and it is Problem: the others lose `public`.
    after = "\n".join(
        re.sub(r"^(\s*)public\s+", r"\1", item.text, flags=re.M) for item in kept if item.outside
    )
    return inside, after


def _imports(items: list[Item], head: str, body: str, rule: ChatRule) -> str:
    """The answer's imports that the head lacks, each once (Go: one block of used packages)."""
    present = {line.strip() for line in head.splitlines()}
    if rule.imports_must_be_used:
        specs = {}
        for item in items:
            for alias, path in _GO_IMPORT_SPEC.findall(item.text):
                specs.setdefault(path, alias)
        used = [
            (alias, path)
            for path, alias in specs.items()
            if f'"{path}"' not in head
            and re.search(rf"\b{re.escape(alias or path.split('/')[-1])}\.", body)
        ]
        if not used:
            return ""
        lines = "".join(f'    {alias + " " if alias else ""}"{path}"\n' for alias, path in used)
        return f"import (\n{lines})\n"
    unique = dict.fromkeys(item.text.strip() for item in items)
    return "".join(text + "\n" for text in unique if text not in present)


def _assemble(head: str, imports: str, body: str, tests: str, after: str, language: str) -> str:
    rule = get_language(language).chat
    anchor = re.search(rule.imports_before, head, re.M) if rule.imports_before else None
    if anchor is not None:
        head = head[: anchor.start()] + imports + head[anchor.start() :]
    else:
        head = head + imports
    if rule.tests_open_with and tests.lstrip("\n").startswith(rule.tests_open_with):
        tests = tests.lstrip("\n")[len(rule.tests_open_with) :]
    # Where the prompt opens a scope that its solution, not the tests, was to close
    # (HumanEval-X Java's `class Solution {`), close it. Counted on the prompt and the tests
    # only: an answer that leaves its own function open stays broken.
    missing = open_depth(head, rule) + open_depth(tests, rule)
    closer = get_language(language).closer
    if missing > 0 and closer:
        body = body.rstrip("\n") + "\n" + "\n".join([closer] * missing)
    program = head + body.rstrip("\n") + "\n" + tests
    return program + ("\n" + after + "\n" if after else "")
