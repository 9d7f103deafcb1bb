"""The pretraining corpus: shares, rare languages, no RL or eval programs."""

import pytest

from xlt.data.micro import build_suite, function_text
from xlt.data.micro.corpus import build_corpus, document_counts, normalized_shares

LANGS = ["py", "lua", "rb"]


@pytest.fixture(scope="module")
def suite():
    return build_suite(200, seed=1)


def test_shares_and_rare_languages(suite):
    docs = build_corpus(suite, LANGS, {"py": 0.7, "lua": 0.25, "rb": 0.05}, 1000, seed=1)
    counts = {lang: sum(d["language"] == lang for d in docs) for lang in LANGS}
    assert counts == {"py": 700, "lua": 250, "rb": 50}
    assert set(docs[0]) == {"text", "language"}


def test_never_contains_rl_or_eval_programs(suite):
    docs = build_corpus(suite, LANGS, {}, 3000, seed=1)
    texts = {d["text"] for d in docs}
    for split in ("rl", "eval"):
        for task in suite.split(split):
            assert function_text(task.program, "py") not in texts
    train = {function_text(t.program, "py") for t in suite.split("train")}
    assert texts & train


def test_deterministic(suite):
    assert build_corpus(suite, LANGS, {}, 300, seed=2) == build_corpus(
        suite, LANGS, {}, 300, seed=2
    )
    assert build_corpus(suite, LANGS, {}, 300, seed=2) != build_corpus(
        suite, LANGS, {}, 300, seed=3
    )


def test_share_rules():
    assert normalized_shares(LANGS, {}) == pytest.approx({lang: 1 / 3 for lang in LANGS})
    assert sum(document_counts(normalized_shares(LANGS, {}), 100).values()) == 100
    with pytest.raises(ValueError, match="corpus_shares"):
        normalized_shares(LANGS, {"py": 1.0})
