"""Pure metrics on pooled program embeddings: is the space organised by function or by language?

Every function takes plain numpy arrays (one row per program) plus per-row labels
(`tasks`: which problem the program solves; `languages`: which language it is
written in) and returns numbers. No model, config, logger or device code here.

Similarity is cosine throughout (embeddings are L2-normalised first; a zero row has
cosine 0 with everything). The metrics follow the Parallel-SFT paper's
representation analysis (Wu et al., 2026, arXiv 2604.20835: cross-language
retrieval accuracy and cosine similarity of parallel programs) plus a clustering
score of our own choosing (silhouette by problem versus by language).

- `retrieval_accuracy`: for queries in language A and candidates in language B,
  the share of queries whose nearest candidate solves the same problem. Exact ties
  (within `tie_tol`) count as a uniformly random pick among the tied candidates, so
  embeddings that carry no problem information score exactly the chance level
  `retrieval_chance` instead of whatever index `argmax` happens to return first.
- `matched_unmatched_cosine`: mean cosine of cross-language pairs that solve the
  same problem versus pairs that do not.
- `silhouette_score`: the mean silhouette (cosine distance) for a labelling; by
  problem near 1 and by language near or below 0 means "organised by function".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

# Cosines within this of the row maximum count as tied. Identical vectors can give
# cosines that differ in the last float32 bits depending on where BLAS puts them.
TIE_TOL = 1e-6


def normalize_rows(x_ND: np.ndarray) -> np.ndarray:
    """L2-normalise each row in float64; an all-zero row stays zero."""
    x_ND = np.asarray(x_ND, dtype=np.float64)
    norm_N1 = np.linalg.norm(x_ND, axis=1, keepdims=True)
    return x_ND / np.where(norm_N1 > 0, norm_N1, 1.0)


def center_rows(x_ND: np.ndarray) -> np.ndarray:
    """Subtract the mean row: removes a direction shared by every embedding.

    Trained LMs' hidden states share a large common component that pushes every
    cosine towards 1; after centring, cosines measure where programs differ.
    """
    x_ND = np.asarray(x_ND, dtype=np.float64)
    return x_ND - x_ND.mean(axis=0, keepdims=True)


def cosine_matrix(a_ND: np.ndarray, b_MD: np.ndarray) -> np.ndarray:
    """Cosine similarity of every row of `a` with every row of `b`: shape [N, M]."""
    return normalize_rows(a_ND) @ normalize_rows(b_MD).T


@dataclass(frozen=True)
class Retrieval:
    accuracy: float  # share of queries whose nearest candidate has the query's task
    chance: float  # expected accuracy of a random pick among the candidates
    num_queries: int  # queries whose task has at least one candidate (the others are skipped)


def retrieval_accuracy(
    query_ND: np.ndarray,
    query_tasks: Sequence[str],
    cand_MD: np.ndarray,
    cand_tasks: Sequence[str],
    *,
    tie_tol: float = TIE_TOL,
) -> Retrieval:
    """Nearest-neighbour retrieval of the same problem across two sets of programs.

    query_ND: [N, D] embeddings of the queries (e.g. the Python programs);
    cand_MD: [M, D] embeddings of the candidates (e.g. the Go programs).
    A query whose task has no candidate cannot be answered and is left out of both
    the accuracy and the chance level. With one candidate per task the chance level
    is 1/M.
    """
    query_tasks_N = np.asarray(query_tasks)
    cand_tasks_M = np.asarray(cand_tasks)
    if len(query_tasks_N) != len(query_ND) or len(cand_tasks_M) != len(cand_MD):
        raise ValueError("each embedding row needs exactly one task label")
    same_NM = query_tasks_N[:, None] == cand_tasks_M[None, :]
    answerable_N = same_NM.any(axis=1)
    if not answerable_N.any():
        return Retrieval(accuracy=float("nan"), chance=float("nan"), num_queries=0)
    sim_NM = cosine_matrix(query_ND[answerable_N], cand_MD)
    same_NM = same_NM[answerable_N]
    tied_NM = sim_NM >= sim_NM.max(axis=1, keepdims=True) - tie_tol
    hit_N = (tied_NM & same_NM).sum(axis=1) / tied_NM.sum(axis=1)
    chance_N = same_NM.sum(axis=1) / len(cand_tasks_M)
    return Retrieval(
        accuracy=float(hit_N.mean()),
        chance=float(chance_N.mean()),
        num_queries=int(answerable_N.sum()),
    )


def retrieval_chance(num_candidates: int) -> float:
    """Chance level of `retrieval_accuracy` when every task has exactly one candidate."""
    if num_candidates < 1:
        raise ValueError("retrieval needs at least one candidate")
    return 1.0 / num_candidates


def matched_unmatched_cosine(
    a_ND: np.ndarray, a_tasks: Sequence[str], b_MD: np.ndarray, b_tasks: Sequence[str]
) -> tuple[float, float]:
    """Mean cosine over (a, b) pairs with the same task, and over pairs with different tasks.

    Either value is NaN when no such pair exists.
    """
    sim_NM = cosine_matrix(a_ND, b_MD)
    same_NM = np.asarray(a_tasks)[:, None] == np.asarray(b_tasks)[None, :]
    matched = float(sim_NM[same_NM].mean()) if same_NM.any() else float("nan")
    unmatched = float(sim_NM[~same_NM].mean()) if (~same_NM).any() else float("nan")
    return matched, unmatched


def silhouette_score(x_ND: np.ndarray, labels: Sequence[str], *, chunk_rows: int = 1024) -> float:
    """Mean silhouette coefficient of a labelling under cosine distance (1 - cosine).

    For each row: a = mean distance to the other rows with its label, b = the smallest
    mean distance to the rows of another label, s = (b - a) / max(a, b); s = 0 for a
    row alone in its label (the usual convention). Range [-1, 1]; 1 means tight,
    well-separated clusters. Needs 2 <= number of labels <= number of rows - 1.
    Rows are processed `chunk_rows` at a time so memory stays O(chunk_rows * N).
    """
    names_K, label_N = np.unique(np.asarray(labels), return_inverse=True)
    num_rows, num_labels = len(label_N), len(names_K)
    if len(x_ND) != num_rows:
        raise ValueError("each embedding row needs exactly one label")
    if not 2 <= num_labels <= num_rows - 1:
        raise ValueError(
            f"silhouette needs between 2 and {num_rows - 1} distinct labels, got {num_labels}"
        )
    unit_ND = normalize_rows(x_ND)
    onehot_NK = np.zeros((num_rows, num_labels))
    onehot_NK[np.arange(num_rows), label_N] = 1.0
    count_K = onehot_NK.sum(axis=0)
    scores = []
    for start in range(0, num_rows, chunk_rows):
        rows = np.arange(start, min(start + chunk_rows, num_rows))
        dist_CN = np.clip(1.0 - unit_ND[rows] @ unit_ND.T, 0.0, 2.0)
        dist_CN[np.arange(len(rows)), rows] = 0.0  # self-distance, exact
        sum_CK = dist_CN @ onehot_NK
        own_C = label_N[rows]
        own_count_C = count_K[own_C]
        a_C = sum_CK[np.arange(len(rows)), own_C] / np.maximum(own_count_C - 1, 1)
        mean_CK = sum_CK / count_K
        mean_CK[np.arange(len(rows)), own_C] = np.inf
        b_C = mean_CK.min(axis=1)
        denom_C = np.maximum(a_C, b_C)
        s_C = np.where(denom_C > 0, (b_C - a_C) / np.where(denom_C > 0, denom_C, 1.0), 0.0)
        scores.append(np.where(own_count_C > 1, s_C, 0.0))
    return float(np.concatenate(scores).mean())


def representation_metrics(
    x_ND: np.ndarray, tasks: Sequence[str], languages: Sequence[str]
) -> dict[str, float | dict[str, float]]:
    """All metrics for one layer's embeddings of a set of parallel programs.

    Returns scalar entries (`retrieval_acc`, `retrieval_chance`, `cosine_matched`,
    `cosine_unmatched`, `cosine_gap`, `silhouette_problem`, `silhouette_language`,
    `function_vs_language`) and per-pair dicts (`retrieval_acc_by_pair` keyed
    "py_to_go", `cosine_matched_by_pair` / `cosine_unmatched_by_pair` keyed "go_py").
    Pair averages weigh every language pair equally. The silhouette by problem uses
    only problems present in at least two programs (a problem with one program has
    no cluster to be tight in).
    """
    x_ND = np.asarray(x_ND)
    tasks_N, languages_N = np.asarray(tasks), np.asarray(languages)
    if not len(x_ND) == len(tasks_N) == len(languages_N):
        raise ValueError("x, tasks and languages must have one entry per program")
    codes = sorted(set(languages_N.tolist()))
    if len(codes) < 2:
        raise ValueError(f"cross-language metrics need at least two languages, got {codes}")
    rows = {code: np.flatnonzero(languages_N == code) for code in codes}

    retrieval_by_pair: dict[str, float] = {}
    chances = []
    for query in codes:
        for cand in codes:
            if query == cand:
                continue
            q, c = rows[query], rows[cand]
            result = retrieval_accuracy(x_ND[q], tasks_N[q], x_ND[c], tasks_N[c])
            if result.num_queries:
                retrieval_by_pair[f"{query}_to_{cand}"] = result.accuracy
                chances.append(result.chance)

    matched_by_pair: dict[str, float] = {}
    unmatched_by_pair: dict[str, float] = {}
    for i, first in enumerate(codes):
        for second in codes[i + 1 :]:
            a, b = rows[first], rows[second]
            matched, unmatched = matched_unmatched_cosine(x_ND[a], tasks_N[a], x_ND[b], tasks_N[b])
            matched_by_pair[f"{first}_{second}"] = matched
            unmatched_by_pair[f"{first}_{second}"] = unmatched

    _, task_index, task_count = np.unique(tasks_N, return_inverse=True, return_counts=True)
    shared = task_count[task_index] >= 2
    silhouette_problem = (
        silhouette_score(x_ND[shared], tasks_N[shared])
        if 2 <= len(set(tasks_N[shared].tolist())) < shared.sum()
        else float("nan")
    )
    silhouette_language = silhouette_score(x_ND, languages_N)
    cosine_matched = _nanmean(matched_by_pair.values())
    cosine_unmatched = _nanmean(unmatched_by_pair.values())
    return {
        "retrieval_acc": _nanmean(retrieval_by_pair.values()),
        "retrieval_chance": _nanmean(chances),
        "cosine_matched": cosine_matched,
        "cosine_unmatched": cosine_unmatched,
        "cosine_gap": cosine_matched - cosine_unmatched,
        "silhouette_problem": silhouette_problem,
        "silhouette_language": silhouette_language,
        "function_vs_language": silhouette_problem - silhouette_language,
        "retrieval_acc_by_pair": retrieval_by_pair,
        "cosine_matched_by_pair": matched_by_pair,
        "cosine_unmatched_by_pair": unmatched_by_pair,
    }


def _nanmean(values) -> float:
    array = np.asarray(list(values), dtype=np.float64)
    array = array[~np.isnan(array)]
    return float(array.mean()) if len(array) else float("nan")
