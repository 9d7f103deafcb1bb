"""Harvested and translated parallel programs, verified by the execution engine in `io` mode."""

from __future__ import annotations

import pytest

from xlt.data.codeforces.parallel import (
    GeneratorTranslator,
    ParallelStats,
    TranslationRequest,
    harvest,
    translate_and_verify,
    translation_prompt,
    translation_requests,
)
from xlt.data.codeforces.problems import DEFAULT_TIME_FACTORS, CFProblem
from xlt.execution.types import Case
from xlt.generation.types import Completion, SamplingParams

SUM = CFProblem(
    id="1/A",
    title="Sum of Two",
    statement="Print a + b.",
    examples=(Case("1 2\n", "3\n"),),
    cases=(
        Case("1 2\n", "3\n"),
        Case("-5 5\n", "0\n"),
        Case("1000000000 1000000000\n", "2000000000\n"),
    ),
    time_limit_s=1.0,
    memory_limit_mb=256.0,
    rating=800,
    tags=(),
    aliases=(),
)
RIGHT_PY = "a, b = map(int, input().split())\nprint(a + b)\n"
WRONG_PY = "a, b = map(int, input().split())\nprint(a - b)\n"  # passes 1 of 3 cases
RIGHT_JS = "const [a, b] = require('fs').readFileSync(0, 'utf8').trim().split(/\\s+/).map(Number);\nconsole.log(a + b);\n"
RIGHT_RB = "a, b = gets.split.map(&:to_i)\nputs a + b\n"


def test_a_wrong_accepted_submission_is_dropped(run_jobs):
    stats = ParallelStats.empty()
    candidates = [("py", "s1", WRONG_PY), ("py", "s2", RIGHT_PY), ("js", "s3", RIGHT_JS)]
    kept = harvest(
        [(SUM, candidates)],
        per_language=1,
        factors=DEFAULT_TIME_FACTORS,
        run_jobs=run_jobs,
        stats=stats,
    )
    assert [(v.language, v.ref, v.origin) for v in kept] == [
        ("py", "s2", "harvested"),
        ("js", "s3", "harvested"),
    ]
    assert stats.tried["harvested", "py"] == 2 and stats.passed["harvested", "py"] == 1
    assert stats.statuses["harvested", "py", "wrong_answer"] == 1
    assert stats.metrics(1)["data/harvested/py/yield"] == 0.5


def test_translations_are_kept_only_when_they_pass_the_same_tests(run_jobs):
    """A scripted translator stands in for the model: one wrong and one right candidate per target."""
    verified = harvest(
        [(SUM, [("py", "s2", RIGHT_PY)])],
        per_language=1,
        factors=DEFAULT_TIME_FACTORS,
        run_jobs=run_jobs,
        stats=ParallelStats.empty(),
    )
    requests = translation_requests(SUM, verified, targets=("py", "js", "rb"), pivot_order=("py",))
    assert [(r.source_language, r.target_language) for r in requests] == [
        ("py", "js"),
        ("py", "rb"),
    ]
    scripted = {
        "js": ["console.log(0);\n", RIGHT_JS],  # the first candidate is wrong
        "rb": ["puts gets.split.map(&:to_i).max\n"],  # wrong only: no rb translation survives
    }
    seen: list[TranslationRequest] = []

    def translator(batch):
        seen.extend(batch)
        return [scripted[r.target_language] for r in batch]

    stats = ParallelStats.empty()
    kept = translate_and_verify(
        requests,
        translator=translator,
        factors=DEFAULT_TIME_FACTORS,
        run_jobs=run_jobs,
        stats=stats,
    )
    assert [(v.language, v.program, v.origin, v.ref) for v in kept] == [
        ("js", RIGHT_JS, "translated", "py:s2")
    ]
    assert seen == requests
    metrics = stats.metrics(1)
    assert metrics["data/translated/js/yield"] == 0.5
    assert metrics["data/translated/rb/yield"] == 0.0


def test_generator_translator_prompts_a_backend_and_extracts_the_code_block():
    """The adapter over a generation backend: prompt carries the source program, answer is unfenced."""

    class ScriptedGenerator:
        def __init__(self):
            self.prompts = []

        def generate(self, prompts, params):
            self.prompts += prompts
            answer = f"Here it is:\n```ruby\n{RIGHT_RB}```\nDone."
            return [[Completion(answer, (), None, "stop")] * params.n for _ in prompts]

    generator = ScriptedGenerator()
    request = TranslationRequest(SUM, "py", RIGHT_PY, "rb", "s2")
    params = SamplingParams(max_new_tokens=64, temperature=0.8, n=2)
    translator = GeneratorTranslator(generator, params, render=lambda text: f"<user>{text}</user>")
    assert translator([request]) == [[RIGHT_RB, RIGHT_RB]]
    assert generator.prompts == [f"<user>{translation_prompt(request)}</user>"]
    assert RIGHT_PY.strip() in translation_prompt(request) and "into Ruby" in translation_prompt(
        request
    )


@pytest.mark.slow  # ~30 s on the 2-core machine: model build, generation, running its output
def test_a_tiny_model_translates_through_the_hf_backend_and_is_filtered(run_jobs):
    """The real backend path (HFGenerator) with a tiny untrained model: its samples do not pass
    the tests, so every one is run and none is kept."""
    from xlt.generation.hf import HFGenerator
    from xlt.models import build_tiny_model, build_tokenizer

    tokenizer = build_tokenizer([RIGHT_PY, RIGHT_RB, SUM.statement] * 4, vocab_size=300)
    # Knobs shrunk for speed: 1 layer, 32 hidden units, 16 new tokens.
    model = build_tiny_model(tokenizer, 32, 1, 2, 64, max_seq_len=512, seed=0)
    params = SamplingParams(max_new_tokens=16, temperature=1.0, n=2, seed=0)
    translator = GeneratorTranslator(HFGenerator(model, tokenizer), params)
    request = TranslationRequest(SUM, "py", RIGHT_PY, "rb", "s2")
    candidates = translator([request])
    assert len(candidates) == 1 and len(candidates[0]) == 2
    stats = ParallelStats.empty()
    kept = translate_and_verify(
        [request],
        translator=lambda _: candidates,
        factors=DEFAULT_TIME_FACTORS,
        run_jobs=run_jobs,
        stats=stats,
    )
    assert kept == []
    assert stats.tried["translated", "rb"] == 2 and stats.passed["translated", "rb"] == 0
