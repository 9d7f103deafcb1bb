"""A lexical baseline for the representation probe: TF-IDF bags of tokens of the same texts.

Issue #17: a TF-IDF bag of words retrieved the parallel program far more often than any
checkpoint's hidden states, so a retrieval score alone cannot say a model "organises by
function"; it may only retain shared identifiers and literals. Every analysis therefore
carries the same metrics computed on TF-IDF vectors of the same program texts
(`lexical_metrics`), and reports and plots show it beside each checkpoint.

Tokens: maximal runs of word characters, or single other non-space characters
(`def add(a, b)` -> def, add, (, a, ",", b, )). Weights: raw term count times smoothed
inverse document frequency idf(t) = ln((1 + N) / (1 + df(t))) + 1 (N texts, df(t) texts
containing t), so a token in every text still weighs 1, not 0; rows are L2-normalised.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence

import numpy as np

from xlt.analysis.metrics import representation_metrics

TOKEN = re.compile(r"\w+|[^\w\s]")


def tokens(text: str) -> list[str]:
    return TOKEN.findall(text)


def tfidf_matrix(texts: Sequence[str]) -> np.ndarray:
    """[N, V] TF-IDF rows (float32, L2-normalised), vocabulary in sorted token order."""
    counts = [Counter(tokens(text)) for text in texts]
    vocabulary = sorted(set().union(*counts)) if counts else []
    column = {token: index for index, token in enumerate(vocabulary)}
    document_frequency = Counter(token for count in counts for token in count)
    num_texts = len(texts)
    idf_V = np.array(
        [math.log((1 + num_texts) / (1 + document_frequency[t])) + 1 for t in vocabulary]
    )
    x_NV = np.zeros((num_texts, len(vocabulary)), dtype=np.float32)
    for row, count in enumerate(counts):
        for token, n in count.items():
            x_NV[row, column[token]] = n * idf_V[column[token]]
    norm_N1 = np.linalg.norm(x_NV, axis=1, keepdims=True)
    return x_NV / np.where(norm_N1 > 0, norm_N1, 1.0)


def lexical_metrics(
    texts: Sequence[str], tasks: Sequence[str], languages: Sequence[str]
) -> dict[str, float | dict[str, float]]:
    """`representation_metrics` of the TF-IDF vectors of `texts`: the lexical baseline."""
    return representation_metrics(tfidf_matrix(texts), tasks, languages)
