"""The lexical (TF-IDF) baseline of the representation probe, checked by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from xlt.analysis.lexical import lexical_metrics, tfidf_matrix, tokens


def test_tokens_are_words_and_single_symbols():
    assert tokens("def add(a, b):") == ["def", "add", "(", "a", ",", "b", ")", ":"]


def test_tfidf_by_hand():
    # Vocabulary a, b, c; N = 2; df: a 1, b 2, c 1. idf(a) = idf(c) = ln(3/2) + 1, idf(b) = 1.
    # "a a b" -> (2 idf(a), 1, 0); "b c" -> (0, 1, idf(c)); each divided by its norm.
    idf = math.log(1.5) + 1
    first = np.array([2 * idf, 1.0, 0.0]) / math.hypot(2 * idf, 1.0)
    second = np.array([0.0, 1.0, idf]) / math.hypot(1.0, idf)
    assert tfidf_matrix(["a a b", "b c"]) == pytest.approx(np.stack([first, second]), abs=1e-6)
    assert first[0] == pytest.approx(0.942156, abs=1e-6)  # the number itself, by calculator


def test_shared_identifiers_are_retrieved_and_disjoint_ones_are_at_chance():
    # Task A's programs share the identifier "alpha", task B's "beta": each py program's
    # nearest js program (cosine of TF-IDF) solves its problem -> retrieval 1 both ways.
    shared = lexical_metrics(
        ["x = alpha", "x = beta", "let x = alpha ;", "let x = beta ;"],
        ["A", "B", "A", "B"],
        ["py", "py", "js", "js"],
    )
    assert shared["retrieval_acc"] == 1.0 and shared["retrieval_chance"] == 0.5
    # No identifier in common with the parallel program, only "=" with both candidates: the
    # two cosines tie, a tie is a uniform pick, so retrieval is exactly chance.
    disjoint = lexical_metrics(
        ["f = 1", "g = 2", "h = 3", "k = 4"], ["A", "B", "A", "B"], ["py", "py", "js", "js"]
    )
    assert disjoint["retrieval_acc"] == 0.5
