"""CodeForces `io` problems in RL: the prompt, the stops and the reward of a whole program.

A scripted generator stands in for the model so the answer is known: one sample of each
group is a correct program wrapped in prose and a code fence (as instruct models answer),
the other a wrong one. It honours the stop sequences it is given, as HF and vLLM do, so
a batch cut at MultiPL-E's stops (`\\nprint`, `\\ndef`, ...) loses the program. Rewards come
from the real execution engine, through one real trainer step.
"""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from tests.rl.helpers import BASE, make_trainer
from xlt.data.codeforces.problems import from_row, to_xlt_problem
from xlt.generation.types import Completion
from xlt.rehearsal import FIXTURES, prepare
from xlt.rl.rollout import stops_of
from xlt.tracking import NullTracker

CORRECT = "a, b = map(int, input().split())\nprint(a + b)\n"
WRONG = "a, b = map(int, input().split())\nprint(a - b)\n"


def answer(program: str) -> str:
    return f"Read both numbers, then print the sum.\n\n```python\n{program}```\n\nDone."


class ScriptedGenerator:
    """Samples alternate between `answers`; text is cut at the first stop, like a backend."""

    def __init__(self, tokenizer, answers: list[str]):
        self.tokenizer, self.answers = tokenizer, answers
        self.calls: list[tuple[list[str], object]] = []

    def generate(self, prompts, params):
        self.calls.append((list(prompts), params))
        out = []
        for _ in prompts:
            samples = []
            for i in range(params.n):
                text = self.answers[i % len(self.answers)]
                for stop in params.stop:
                    text = text.split(stop)[0]
                ids = tuple(self.tokenizer(text, add_special_tokens=False)["input_ids"])
                samples.append(Completion(text, ids, (-1.0,) * len(ids), "stop"))
            out.append(samples)
        return out


@pytest.fixture(scope="module")
def chat_model_dir(tmp_path_factory):
    """The rehearsal's tiny Llama-3-style chat model (it has a chat template)."""
    return prepare(tmp_path_factory.mktemp("rehearsal")) / "model"


@pytest.fixture(scope="module")
def sum_problem():
    row = json.loads((FIXTURES / "problems_train.jsonl").read_bytes().splitlines()[0])
    assert row["id"] == "1/A"  # "Sum of Two": print a + b
    return to_xlt_problem(from_row(row), "py", {})


@pytest.mark.parametrize("chat", [True, False])
def test_a_correct_whole_program_earns_reward_1(chat, chat_model_dir, sum_problem, tmp_path,
                                               execute_async):  # fmt: skip
    rl = replace(BASE, steps=1, prompts_per_step=1, group_size=2, micro_batch_size=2,
                 updates_per_step=1, max_new_tokens=64)  # fmt: skip
    trainer = make_trainer(chat_model_dir, tmp_path, rl, problems=[sum_problem], chat=chat,
                           execute_async=execute_async, tracker=NullTracker())  # fmt: skip
    try:
        trainer.setup()
        trainer.generator = scripted = ScriptedGenerator(
            trainer.tokenizer, [answer(CORRECT), answer(WRONG)]
        )
        history = trainer.train()
    finally:
        trainer.cleanup()
    ((prompts, params),) = scripted.calls
    assert params.stop == ()  # a whole program is never cut at MultiPL-E's stops
    if chat:  # the statement asked through the chat template, not prefilled with code
        assert prompts[0].startswith("<|begin_of_text|><|start_header_id|>user")
        assert prompts[0].endswith("<|start_header_id|>assistant<|end_header_id|>\n\n")
    else:
        assert prompts[0] == sum_problem.prompt
    assert history[0]["rl/reward_mean"] == pytest.approx(0.5)  # the correct one of the two
    assert history[0]["exec/py/ok_frac"] == pytest.approx(0.5)
    assert history[0]["exec/py/wrong_answer_frac"] == pytest.approx(0.5)


def test_a_step_mixing_io_and_tests_problems_cuts_only_the_continuations(
    chat_model_dir, sum_problem, tmp_path, execute_async
):
    # One batch's stops would cut the io program at "\nprint": each kind gets its own.
    from tests.rl.helpers import constant_problems

    continuation = constant_problems()[0]
    rl = replace(BASE, steps=1, prompts_per_step=2, group_size=2, micro_batch_size=4,
                 updates_per_step=1, max_new_tokens=64)  # fmt: skip
    trainer = make_trainer(chat_model_dir, tmp_path, rl, problems=[sum_problem, continuation],
                           execute_async=execute_async, tracker=NullTracker())  # fmt: skip
    try:
        trainer.setup()
        trainer.generator = scripted = ScriptedGenerator(trainer.tokenizer, [answer(CORRECT)])
        trainer.train()
    finally:
        trainer.cleanup()
    stops = {prompts[0]: params.stop for prompts, params in scripted.calls}
    assert stops[sum_problem.prompt] == ()
    assert stops[continuation.prompt] == stops_of([continuation], chat=False) != ()
    with pytest.raises(ValueError, match="mixes io problems"):  # one batch cannot serve both
        stops_of([sum_problem, continuation], chat=False)
