"""Text around generation: MultiPL-E stop sequences, completion vs chat mode, fenced-code extraction.

Completion mode (base models): the model continues `problem.prompt`; the continuation is
cut at the first stop sequence (MultiPL-E's rule), and the program is
`prompt + completion + "\\n" + tests`.

Chat mode (instruct models): the prompt is rendered with the tokenizer's chat template.
Two ways to get a program back:
- `prefill`: the assistant turn is started with an opening fence and the problem prompt
  (`fence_prefill`), so the model continues the code exactly as in completion mode; add
  "```" to the stop sequences. Works for MultiPL-E `tests` problems, whose tests assume
  the prompt's function header.
- free answer: the model writes its own fenced block; `extract_code` takes the block of
  the right language, and `xlt.generation.answers.program_from_chat_answer` turns the
  answer into the program to score (never with the stop sequences above).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType

from xlt.languages import LANGUAGES

# Views of the language table (`xlt.languages`), where each language's facts live.
MULTIPLE_STOP_SEQUENCES: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {code: language.stop_sequences for code, language in LANGUAGES.items()}
)
FENCE_TAGS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {code: language.fence_tags for code, language in LANGUAGES.items()}
)

# An opening fence with its info string, then the body up to a closing fence or the end
# of the text (a model that ran out of tokens leaves its last block open).
_FENCE_RE = re.compile(
    r"^[ \t]*```[ \t]*([^\n`]*)\n(.*?)(?:^[ \t]*```|\Z)", re.DOTALL | re.MULTILINE
)


def stop_sequences(language: str) -> tuple[str, ...]:
    """MultiPL-E's stop sequences for a language code."""
    if language not in MULTIPLE_STOP_SEQUENCES:
        raise ValueError(
            f"no stop sequences for language {language!r}; use one of {sorted(MULTIPLE_STOP_SEQUENCES)}"
        )
    return MULTIPLE_STOP_SEQUENCES[language]


def find_stop(text: str, stops: tuple[str, ...] | list[str]) -> int | None:
    """Index of the earliest occurrence of any stop sequence in `text`, or None."""
    positions = [i for s in stops if (i := text.find(s)) != -1]
    return min(positions) if positions else None


def truncate_at_stop(text: str, stops: tuple[str, ...] | list[str]) -> str:
    """`text` cut before the first stop sequence (unchanged if none occurs)."""
    index = find_stop(text, stops)
    return text if index is None else text[:index]


def extract_code(text: str, language: str) -> str:
    """The code a chat answer gives for `language`.

    Preference: the first fenced block tagged with the language, else the first untagged
    block, else the first block of any tag (wrong-language code then fails to run, which is
    the right outcome), else the whole answer stripped (a model that answered with bare code).
    """
    tags = FENCE_TAGS.get(language)
    if tags is None:
        raise ValueError(
            f"no fence tags for language {language!r}; use one of {sorted(FENCE_TAGS)}"
        )
    blocks = [(tag.strip().lower(), body) for tag, body in _FENCE_RE.findall(text)]
    for wanted in (lambda tag: tag in tags, lambda tag: tag == "", lambda tag: True):
        for tag, body in blocks:
            if wanted(tag):
                return body
    return text.strip()


def fence_prefill(prompt: str, language: str) -> str:
    """Start of an assistant turn that opens a code block and repeats the problem prompt."""
    return f"```{FENCE_TAGS[language][0]}\n{prompt}"


# The user turn of chat mode (shared by RL and evaluation so both ask the same question).
CHAT_INSTRUCTION = (
    "Complete the following {language} function. Answer with the code only.\n\n{prompt}"
)


def chat_problem_prompt(tokenizer, prompt: str, language: str) -> str:
    """Chat mode for a `tests` problem: the instruction as the user turn, the answer prefilled
    with an opening fence and the prompt. Add "```" to the stop sequences; the continuation
    is then a completion exactly as in completion mode."""
    message = CHAT_INSTRUCTION.format(language=FENCE_TAGS[language][0], prompt=prompt)
    return chat_prompt(tokenizer, message, prefill=fence_prefill(prompt, language))


def chat_answer_prompt(tokenizer, prompt: str, language: str) -> str:
    """Chat mode for a free answer: the same question, nothing prefilled. Generate without
    stop sequences and score with `xlt.generation.answers.program_from_chat_answer`
    (`evaluate_problems(..., answer_format="chat")`)."""
    message = CHAT_INSTRUCTION.format(language=FENCE_TAGS[language][0], prompt=prompt)
    return chat_prompt(tokenizer, message)


def chat_prompt(tokenizer, message: str, *, system: str | None = None, prefill: str = "") -> str:
    """`message` as one user turn in the tokenizer's chat template, ready for the assistant.

    `prefill` is appended after the generation prompt: the model continues it.
    """
    if tokenizer.chat_template is None:
        raise ValueError(
            "chat mode needs a tokenizer with a chat template; use completion mode for base models"
        )
    messages = ([{"role": "system", "content": system}] if system else []) + [
        {"role": "user", "content": message}
    ]
    rendered = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    return rendered + prefill
