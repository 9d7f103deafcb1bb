"""Real benchmark programs: canonical solutions pass, default-returning ones fail,
MultiPL-E prompts with an empty or wrong completion fail, in every CI-tier language.

The default suite runs a few problems per language; `slow` runs a larger sample
(the full sweep over all canonical solutions is `python -m xlt.execution sweep`,
with its numbers in docs/execution.md)."""

import pytest

from tests.execution.conftest import require
from xlt.data import controls
from xlt.languages import CI_LANGUAGES

# Canonical-solution sources per CI language (sh, pl and lua have none: MultiPL-E only).
SOURCES = [
    ("humaneval-x", "py"), ("mbxp", "py"), ("humaneval-x", "js"), ("humaneval-x", "cpp"),
    ("mbxp", "cpp"), ("humaneval-x", "java"), ("mbxp", "java"), ("humaneval-x", "rs"),
    ("humaneval-x", "go"), ("mbxp", "php"), ("mbxp", "rb"), ("mbxp", "ts"), ("mbxp", "js"),
]  # fmt: skip
# C++/22 and JavaScript/162 need libboost-dev and js-md5: scripts/install_toolchains.sh installs them.
# Rust/32 does not compile after the loader's test conversion (reported to the loader's owner).
DATA_DEFECTS = {"Rust/32"}


def _sample(benchmark, language, count):
    problems = [
        p for p in controls.canonical_problems(benchmark, language) if p.name not in DATA_DEFECTS
    ]
    step = max(1, len(problems) // count)
    return problems[::step][:count]


def check_canonical(executor, benchmark, language, count, min_pass):
    require(language)
    problems = _sample(benchmark, language, count)
    good = executor.run(controls.good_jobs(problems))
    wrong = executor.run(controls.wrong_jobs(problems))
    passed = [r for r in good if r.passed]
    assert len(passed) >= min_pass * len(good), [
        (r.id, r.status, r.stderr[:200]) for r in good if not r.passed
    ]
    # Rust/4's tests omit abs(): a too-small answer passes them (a weak test, not a runner bug).
    leaked = [r.id for r in wrong if r.passed and r.id != "Rust/4"]
    assert not leaked


def check_multipl_e_negatives(executor, language, count):
    require(language)
    empty, wrong = controls.multipl_e_negative_jobs(language)
    step = max(1, len(empty) // count)
    results = executor.run(empty[::step][:count] + wrong[::step][:count])
    assert not [r.id for r in results if r.passed]


# MBXP JS/PHP/TS canonical solutions are partly broken in the data (undeclared names, wrong
# answers, type errors): measured 85%, 88%, see docs/execution.md.
_MIN_PASS = {("mbxp", "js"): 0.6, ("mbxp", "php"): 0.7, ("mbxp", "ts"): 0.1}


@pytest.mark.parametrize(
    ("benchmark", "language"),
    [s for s in SOURCES if s[0] == "humaneval-x" or s[1] in ("php", "rb")],
)
def test_canonical_solutions_pass_and_wrong_ones_fail_sample(executor, benchmark, language):
    check_canonical(executor, benchmark, language, count=3, min_pass=1.0)


@pytest.mark.parametrize("language", ["sh", "pl", "lua", "go", "ts"])
def test_multipl_e_empty_and_wrong_completions_fail_sample(executor, language):
    check_multipl_e_negatives(executor, language, count=3)


@pytest.mark.slow
@pytest.mark.parametrize(("benchmark", "language"), SOURCES)
def test_canonical_solutions_pass_and_wrong_ones_fail(executor, benchmark, language):
    check_canonical(
        executor, benchmark, language, count=15, min_pass=_MIN_PASS.get((benchmark, language), 0.96)
    )


@pytest.mark.slow
@pytest.mark.parametrize("language", CI_LANGUAGES)
def test_multipl_e_empty_and_wrong_completions_fail(executor, language):
    check_multipl_e_negatives(executor, language, count=10)
