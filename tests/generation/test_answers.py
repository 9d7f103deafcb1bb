"""The chat-answer rule on its own (no execution): block choice, items, assembly.

The verdicts of real programs are in tests/eval/test_chat_answers.py; these pin the
pieces whose failure would be hard to read from a verdict.
"""

from __future__ import annotations

import pytest

from xlt.data.benchmarks import load_multipl_e
from xlt.data.records import Problem
from xlt.generation.answers import code_blocks, entry_name, is_chat_answer, program_from_chat_answer
from xlt.generation.segment import DEFINITION, IMPORT, STATEMENT, split_items
from xlt.languages import CI_LANGUAGES, LANGUAGES, get_language


def _problem(language: str, name: str) -> Problem:
    return next(p for p in load_multipl_e(None, language) if p.name == name)


@pytest.mark.parametrize("language", CI_LANGUAGES)
def test_every_ci_prompt_names_its_function(language):
    """The entry pattern finds a header in every MultiPL-E prompt, at the prompt's end."""
    for problem in load_multipl_e(None, language):
        name, offset = entry_name(problem)
        rest = problem.prompt[offset:].strip().splitlines()
        assert name in rest[0], problem.name
        # The header ends the prompt (Perl adds its argument line, Python its docstring).
        assert language == "py" or len(rest) <= 2, problem.name


def test_block_choice_tags_case_untagged_and_unclosed():
    answer = "```Python title=x\nA\n```\n```\nB\n```\n```js\nC\n```\n  ```rb\n  D\n"
    assert code_blocks(answer) == [("python", "A\n"), ("", "B\n"), ("js", "C\n"), ("rb", "D\n")]


def test_items_survive_blank_lines_comments_strings_and_regexes():
    js = get_language("js").chat
    code = (
        "const re = /\\/[}]/;\n\nfunction f(x) {\n  const s = '}';\n\n// }\n  return `${x}}`;\n}\n"
        "f(1);\n"
    )
    items = split_items(code, js)
    assert [(i.kind, i.names) for i in items] == [
        (DEFINITION, ("re",)),
        (DEFINITION, ("f",)),
        (STATEMENT, ()),
    ]
    rb = get_language("rb").chat
    code = "require 'set'\ndef f(x)\n  return 1 if x\n  [x].each do |y|\n    y\n  end\nend\nputs f(2)\n"
    assert [i.kind for i in split_items(code, rb)] == [IMPORT, DEFINITION, STATEMENT]
    rs = get_language("rs").chat
    code = "fn f<'a>(x: &'a str) -> &'a str {\n    let c = '{';\n    x\n}\nfn main() {}\n"
    assert [i.names for i in split_items(code, rs)] == [("f",), ("main",)]
    sh = get_language("sh").chat
    code = 'f() {\n  case "$1" in\n    a) echo 1 ;;\n  esac\n}\nf a\n'
    assert [i.kind for i in split_items(code, sh)] == [DEFINITION, STATEMENT]


def test_prompt_definitions_win_over_the_answer_copies():
    # HumanEval/10-style: the prompt defines a helper before the function (a second
    # definition would not compile in C++).
    problem = Problem(
        name="h", task="h", language="cpp", stop_tokens=("\n}",),
        prompt="long helper(long x) { return x; }\nlong f(long x) {\n",
        tests="}\nint main() { assert(f(2) == 2); }\n",
    )  # fmt: skip
    answer = "```cpp\nlong helper(long x) { return x; }\n\nlong f(long x) {\n    return helper(x);\n}\n```"
    program = program_from_chat_answer(problem, answer)
    assert program.count("long helper(") == 1 and program.count("long f(") == 1
    assert program.endswith("return helper(x);\n}\n\nint main() { assert(f(2) == 2); }\n")


def test_go_imports_merged_and_unused_ones_dropped():
    problem = _problem("go", "HumanEval_53_add")
    answer = (
        '```go\npackage main\n\nimport (\n\t"fmt"\n\t"math"\n\t"os"\n)\n\n'
        "func add(x int, y int) int {\n\treturn int(math.Abs(float64(x))) + y\n}\n\n"
        "func main() {\n\tfmt.Println(add(2, 3))\n\tos.Exit(0)\n}\n```"
    )
    program = program_from_chat_answer(problem, answer)
    assert program.count("package ") == 1 and '"math"' in program
    assert '"os"' not in program and program.count('"fmt"') == 1 and "func main" not in program


def test_java_members_move_into_problem_and_helpers_out():
    problem = _problem("java", "HumanEval_53_add")
    answer = (
        "```java\nimport java.util.function.*;\n\nclass Helper { static long id(long v) { return v; } }\n\n"
        "public class Solution {\n    public static long add(long x, long y) {\n"
        "        return Helper.id(x) + y;\n    }\n    public static void main(String[] a) {}\n}\n```"
    )
    program = program_from_chat_answer(problem, answer)
    assert program.index("import java.util.function.*;") < program.index("class Problem")
    assert "class Solution" not in program and program.count("void main") == 1
    assert program.rstrip().endswith("class Helper { static long id(long v) { return v; } }")


def test_an_answer_without_the_function_is_read_as_a_continuation():
    problem = _problem("lua", "HumanEval_53_add")
    program = program_from_chat_answer(problem, "```lua\n    return x + y\nend\n\nprint(1)\n```")
    assert program == problem.program("    return x + y\nend")  # cut at "\n\n" like a completion


def test_io_problems_take_the_whole_block_and_bad_prompts_are_named():
    io = Problem(name="p", task="p", language="cpp", prompt="Sum two numbers.", mode="io")
    code = "#include <cstdio>\n\nint main() {\n\n    return 0;\n}\n"
    assert program_from_chat_answer(io, f"Sure:\n```cpp\n{code}```\nBye") == code
    bad = Problem(name="q", task="q", language="cpp", prompt="// no header here\n")
    with pytest.raises(ValueError, match="q: no function header found in the cpp prompt"):
        program_from_chat_answer(bad, "```cpp\nint f() { return 1; }\n```")


def test_auto_detection():
    problem = _problem("rb", "HumanEval_53_add")
    assert not is_chat_answer(problem, "  x + y\nend\n")
    assert is_chat_answer(problem, "def add(x, y)\n  x + y\nend\n")
    assert is_chat_answer(problem, "Sure:\n```\n  x + y\n```")
    java = _problem("java", "HumanEval_53_add")
    assert not is_chat_answer(java, "        return x + y;\n    }\n")
    assert is_chat_answer(
        java,
        "class Problem {\n    public static long add(long x, long y) {\n        return x + y;\n    }\n}\n",
    )


def test_chat_rules_exist_exactly_for_the_ci_tier():
    assert {code for code, lang in LANGUAGES.items() if lang.chat} == set(CI_LANGUAGES)
    assert all("evalplus" in r or "SandboxFusion" in r or "bigcode" in r
               for r in (lang.chat.source for lang in LANGUAGES.values() if lang.chat))  # fmt: skip


def test_languages_without_a_rule_read_the_block_as_a_continuation():
    problem = _problem("jl", "HumanEval_53_add")
    answer = f"```julia\n{problem.prompt}    return x + y\nend\n\nprintln(add(2, 3))\n```"
    assert program_from_chat_answer(problem, answer) == problem.program("    return x + y\nend")
    assert is_chat_answer(problem, answer) and not is_chat_answer(problem, "    x + y\nend")
