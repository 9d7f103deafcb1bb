"""Metrics on synthetic embeddings whose structure, and so every metric value, is known."""

from __future__ import annotations

import numpy as np
import pytest

from xlt.analysis.metrics import (
    center_rows,
    cosine_matrix,
    matched_unmatched_cosine,
    representation_metrics,
    retrieval_accuracy,
    retrieval_chance,
    silhouette_score,
)

NUM_TASKS, LANGUAGES = 7, ("go", "py", "rb")  # small, and unequal so 1/N and 1/L differ


def _synthetic(problem_weight: float, language_weight: float, seed: int = 0):
    """One row per (task, language): problem_weight * u_task + language_weight * v_language.

    The u's and v's are orthonormal (columns of a random rotation), so every cosine is
    known in closed form and the rotation keeps the test from relying on one-hot axes.
    """
    dim = NUM_TASKS + len(LANGUAGES) + 3
    rotation, _ = np.linalg.qr(np.random.default_rng(seed).normal(size=(dim, dim)))
    rows, tasks, languages = [], [], []
    for task in range(NUM_TASKS):
        for lang_index, language in enumerate(LANGUAGES):
            rows.append(
                problem_weight * rotation[:, task]
                + language_weight * rotation[:, NUM_TASKS + lang_index]
            )
            tasks.append(f"t{task}")
            languages.append(language)
    return np.array(rows, dtype=np.float32), tasks, languages


def test_problem_clustered_embeddings_give_perfect_function_scores():
    x, tasks, languages = _synthetic(problem_weight=1.0, language_weight=0.0)
    m = representation_metrics(x, tasks, languages)
    assert m["retrieval_acc"] == pytest.approx(1.0, abs=1e-12)
    assert set(m["retrieval_acc_by_pair"].values()) == {1.0}
    assert len(m["retrieval_acc_by_pair"]) == len(LANGUAGES) * (len(LANGUAGES) - 1)
    assert m["retrieval_chance"] == pytest.approx(1 / NUM_TASKS)
    assert m["cosine_matched"] == pytest.approx(1.0, abs=1e-6)
    assert m["cosine_unmatched"] == pytest.approx(0.0, abs=1e-6)
    assert m["silhouette_problem"] == pytest.approx(1.0, abs=1e-6)
    # Within a language every other program is at distance 1; another language holds
    # the same problem at distance 0, so b = (N-1)/N, a = 1 and s = -1/N.
    assert m["silhouette_language"] == pytest.approx(-1 / NUM_TASKS, abs=1e-6)
    assert m["function_vs_language"] == pytest.approx(1 + 1 / NUM_TASKS, abs=1e-6)


def test_language_clustered_embeddings_retrieve_at_chance():
    x, tasks, languages = _synthetic(problem_weight=0.0, language_weight=1.0)
    m = representation_metrics(x, tasks, languages)
    # All programs of a language coincide: the nearest neighbour is a uniform pick.
    assert m["retrieval_acc"] == pytest.approx(1 / NUM_TASKS, abs=1e-12)
    assert m["retrieval_acc"] == pytest.approx(m["retrieval_chance"], abs=1e-12)
    assert m["cosine_matched"] == pytest.approx(0.0, abs=1e-6)
    assert m["cosine_gap"] == pytest.approx(0.0, abs=1e-6)
    assert m["silhouette_language"] == pytest.approx(1.0, abs=1e-6)
    assert m["silhouette_problem"] == pytest.approx(-1 / len(LANGUAGES), abs=1e-6)
    assert m["function_vs_language"] < 0


def test_mixed_embeddings_match_closed_form():
    alpha, beta = 0.6, 0.8
    x, tasks, languages = _synthetic(problem_weight=alpha, language_weight=beta)
    m = representation_metrics(x, tasks, languages)
    norm2 = alpha**2 + beta**2
    assert m["retrieval_acc"] == pytest.approx(1.0, abs=1e-12)
    assert m["cosine_matched"] == pytest.approx(alpha**2 / norm2, abs=1e-6)
    assert m["cosine_unmatched"] == pytest.approx(0.0, abs=1e-6)
    # Distances: same problem other language beta^2/n; same language other problem
    # alpha^2/n; both different 1.
    num_langs = len(LANGUAGES)
    a = beta**2 / norm2
    b = (alpha**2 / norm2 + (num_langs - 1)) / num_langs
    assert m["silhouette_problem"] == pytest.approx((b - a) / max(a, b), abs=1e-6)
    a_lang = alpha**2 / norm2
    b_lang = (beta**2 / norm2 + (NUM_TASKS - 1)) / NUM_TASKS
    assert m["silhouette_language"] == pytest.approx(
        (b_lang - a_lang) / max(a_lang, b_lang), abs=1e-6
    )


def test_retrieval_counts_ties_as_random_pick_and_skips_unanswerable_queries():
    query = np.ones((3, 4))
    cand = np.ones((5, 4))  # every candidate ties
    result = retrieval_accuracy(query, ["a", "b", "zz"], cand, ["a", "a", "b", "c", "d"])
    # "zz" has no candidate: skipped. "a" owns 2 of 5 tied candidates, "b" 1 of 5.
    assert result.num_queries == 2
    assert result.accuracy == pytest.approx((2 / 5 + 1 / 5) / 2)
    assert result.chance == pytest.approx(result.accuracy)
    assert retrieval_chance(5) == 0.2


def test_retrieval_picks_the_nearest_candidate():
    query = np.array([[1.0, 0.1], [0.0, 1.0]])
    cand = np.array([[0.0, 2.0], [3.0, 0.0]])  # scaled: cosine ignores the norm
    assert retrieval_accuracy(query, ["x", "y"], cand, ["y", "x"]).accuracy == 1.0
    assert retrieval_accuracy(query, ["x", "y"], cand, ["x", "y"]).accuracy == 0.0


def test_matched_unmatched_cosine_by_hand():
    a = np.array([[1.0, 0.0], [0.0, 1.0]])
    b = np.array([[1.0, 1.0], [0.0, 1.0]])
    matched, unmatched = matched_unmatched_cosine(a, ["p", "q"], b, ["p", "q"])
    s = 1 / np.sqrt(2)
    assert matched == pytest.approx((s + 1.0) / 2)
    assert unmatched == pytest.approx((0.0 + s) / 2)


def _silhouette_by_definition(x, labels):
    dist = 1 - cosine_matrix(x, x)
    labels = np.asarray(labels)
    scores = []
    for i in range(len(x)):
        own = (labels == labels[i]) & (np.arange(len(x)) != i)
        if not own.any():
            scores.append(0.0)
            continue
        a = dist[i, own].mean()
        b = min(dist[i, labels == other].mean() for other in set(labels) - {labels[i]})
        scores.append((b - a) / max(a, b))
    return float(np.mean(scores))


def test_silhouette_matches_the_definition_on_random_data():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(23, 5))
    labels = rng.choice(["a", "b", "c", "d"], size=23).tolist()
    labels[0] = "solo"  # a singleton label scores 0
    expected = _silhouette_by_definition(x, labels)
    assert silhouette_score(x, labels) == pytest.approx(expected, abs=1e-12)
    assert silhouette_score(x, labels, chunk_rows=4) == pytest.approx(expected, abs=1e-12)


def test_bad_inputs_raise_with_a_reason():
    x = np.eye(3)
    with pytest.raises(ValueError, match="distinct labels"):
        silhouette_score(x, ["a", "a", "a"])
    with pytest.raises(ValueError, match="two languages"):
        representation_metrics(x, ["a", "b", "c"], ["py", "py", "py"])
    with pytest.raises(ValueError, match="one task label"):
        retrieval_accuracy(x, ["a"], x, ["a", "b", "c"])


def test_centering_removes_a_shared_direction():
    x, tasks, languages = _synthetic(problem_weight=1.0, language_weight=0.0)
    shared = 50.0 * np.linalg.qr(np.random.default_rng(3).normal(size=(x.shape[1], 1)))[0][:, 0]
    raw = representation_metrics(x + shared, tasks, languages)
    assert raw["cosine_unmatched"] > 0.99  # the shared direction swamps everything
    centred = representation_metrics(center_rows(x + shared), tasks, languages)
    # Centred orthonormal problem vectors: cos(u_p - m, u_q - m) = -1/(N-1) for p != q.
    assert centred["cosine_matched"] == pytest.approx(1.0, abs=1e-9)
    assert centred["cosine_unmatched"] == pytest.approx(-1 / (NUM_TASKS - 1), abs=1e-9)
    assert centred["retrieval_acc"] == 1.0
