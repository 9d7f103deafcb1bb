"""Every primitive in every family, in every micro language, through the execution engine.

Slow (compiles C++ and Go): `pytest -m slow tests/data/micro`. The tasks are a cover of
the default suite: each family and each primitive kind at least once; the full suite is
checked with `python -m xlt.data.micro.verify` (numbers in docs/micro.md).
"""

import pytest

from xlt.data.micro import MICRO_LANGUAGES, build_suite, render_problem
from xlt.data.micro.verify import verify_problems


def covering_tasks(tasks):
    """Greedy: tasks until every family and every primitive kind is covered."""

    def features(task):
        p = task.program
        ops = ((p.pred,) if p.pred else ()) + p.maps
        return {p.family} | {f"{p.domain}:{op.kind}" for op in ops}

    wanted = set().union(*(features(t) for t in tasks))
    chosen = []
    while wanted:
        best = max(tasks, key=lambda t: (len(features(t) & wanted), t.program.name))
        chosen.append(best)
        wanted -= features(best)
    return chosen


@pytest.mark.slow
def test_every_language_passes_canonical_and_rejects_wrong(tmp_path):
    tasks = covering_tasks(list(build_suite(600, seed=0).tasks))
    problems = [render_problem(t, lang) for t in tasks for lang in MICRO_LANGUAGES]
    report = verify_problems(problems, cache_dir=str(tmp_path))
    assert not report["failures"], report["failures"][:5]
    for lang, row in report["languages"].items():
        if row["missing_toolchain"]:
            continue  # reported as missing, never as a pass
        assert row["canonical_pass_rate"] == 1.0 and row["wrong_reject_rate"] == 1.0, lang
    assert len(report["languages"]) == len(MICRO_LANGUAGES)
