"""Stop sequences, fenced-code extraction and chat prompts."""

from __future__ import annotations

import copy
import gzip
import json

import pytest

from xlt.generation import (
    MULTIPLE_STOP_SEQUENCES,
    chat_prompt,
    extract_code,
    fence_prefill,
    stop_sequences,
    truncate_at_stop,
)
from xlt.languages import LANGUAGE_CODES
from xlt.paths import BENCHMARKS_DIR

MULTIPLE_DIR = BENCHMARKS_DIR / "multipl-e-humaneval"


@pytest.mark.parametrize("language", LANGUAGE_CODES)
def test_stop_table_matches_every_multipl_e_row(language):
    path = MULTIPLE_DIR / f"humaneval-{language}-reworded.jsonl.gz"
    if not path.exists():
        pytest.skip(f"benchmark file missing: {path}")
    with gzip.open(path, "rt", encoding="utf-8") as f:
        rows = [json.loads(line) for line in f]
    assert {tuple(row["stop_tokens"]) for row in rows} == {stop_sequences(language)}


def test_stop_table_covers_every_language():
    assert set(MULTIPLE_STOP_SEQUENCES) == set(LANGUAGE_CODES)
    with pytest.raises(ValueError, match="no stop sequences"):
        stop_sequences("cobol")


def test_truncate_at_earliest_stop():
    text = "    return x\n# comment\ndef g():\n"
    assert truncate_at_stop(text, stop_sequences("py")) == "    return x"
    assert truncate_at_stop("    return x", ("\ndef",)) == "    return x"
    assert truncate_at_stop("abc", ()) == "abc"


def test_multipl_e_program_with_truncated_cpp_completion():
    # For brace languages the tests start with the function's closing brace, so the
    # completion must stop before "\n}".
    completion = "    return a + b;\n}\nint main() { return 1; }"
    kept = truncate_at_stop(completion, stop_sequences("cpp"))
    assert kept == "    return a + b;"


ANSWER = """Here you go:
```python
def f():
    return 1
```
and in Ruby:
```ruby
def f
  1
end
```
"""


def test_extract_prefers_the_block_of_the_language():
    assert extract_code(ANSWER, "rb") == "def f\n  1\nend\n"
    assert extract_code(ANSWER, "py") == "def f():\n    return 1\n"


def test_extract_falls_back_to_untagged_then_any_then_text():
    assert extract_code("x\n```\nputs 1\n```\n```python\nprint(1)\n```", "rb") == "puts 1\n"
    assert extract_code(ANSWER, "lua") == "def f():\n    return 1\n"
    assert extract_code("  print(1)  \n", "py") == "print(1)"


def test_extract_unterminated_block():
    assert extract_code("```lua\nreturn 1\nend", "lua") == "return 1\nend"


def test_extract_unknown_language():
    with pytest.raises(ValueError, match="no fence tags"):
        extract_code("x", "cobol")


def test_chat_prompt_renders_template_and_prefill(tiny_tokenizer):
    tokenizer = copy.deepcopy(tiny_tokenizer)  # the fixture is shared
    with pytest.raises(ValueError, match="chat template"):
        chat_prompt(tokenizer, "hi")
    tokenizer.chat_template = (
        "{% for m in messages %}<{{ m['role'] }}>{{ m['content'] }}\n{% endfor %}"
        "{% if add_generation_prompt %}<assistant>{% endif %}"
    )
    prefill = fence_prefill("def f():\n", "py")
    rendered = chat_prompt(tokenizer, "Write f.", system="Be brief.", prefill=prefill)
    assert rendered == "<system>Be brief.\n<user>Write f.\n<assistant>```python\ndef f():\n"


def test_chat_answer_prompt_asks_the_same_question_without_a_prefill(tiny_tokenizer):
    from xlt.generation.text import chat_answer_prompt, chat_problem_prompt

    tokenizer = copy.deepcopy(tiny_tokenizer)
    tokenizer.chat_template = (
        "{% for m in messages %}<{{ m['role'] }}>{{ m['content'] }}\n{% endfor %}"
        "{% if add_generation_prompt %}<assistant>{% endif %}"
    )
    free = chat_answer_prompt(tokenizer, "def f():\n", "py")
    prefilled = chat_problem_prompt(tokenizer, "def f():\n", "py")
    assert free.endswith("<assistant>") and prefilled == free + "```python\ndef f():\n"
