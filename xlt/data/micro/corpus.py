"""The micro pretraining corpus: standalone functions, some languages common and others rare.

    docs = build_corpus(suite, ["py", "lua", "rb"], shares={"py": 0.6, "lua": 0.35, "rb": 0.05},
                        num_documents=4000, seed=0)

A document is one function (prompt + canonical solution, closed), `{"text", "language"}`.
Its programs come from the train split and the spare compositions no split took, never
from RL or eval tasks, so the base model has seen no rewarded or evaluated program in any
language. Each language gets `round(share * num_documents)` documents (largest
remainder), drawn from the program pool in a seeded order per language, cycling when a
language needs more documents than there are programs. The rare languages are the
low-resource targets: the model meets them in pretraining only.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence

from xlt.data.micro.suite import MicroSuite, function_text


def normalized_shares(languages: Sequence[str], shares: Mapping[str, float]) -> dict[str, float]:
    """Shares over exactly `languages`, summing to 1; `{}` means even."""
    if not shares:
        return {language: 1 / len(languages) for language in languages}
    if set(shares) != set(languages) or any(v < 0 for v in shares.values()):
        raise ValueError(
            f"data.corpus_shares must give a share >= 0 to each of {list(languages)} "
            f"(or be {{}} for even shares), got {dict(shares)}"
        )
    total = sum(shares.values())
    if total <= 0:
        raise ValueError("data.corpus_shares must not all be 0")
    return {language: shares[language] / total for language in languages}


def document_counts(shares: Mapping[str, float], num_documents: int) -> dict[str, int]:
    raw = {language: share * num_documents for language, share in shares.items()}
    counts = {language: int(value) for language, value in raw.items()}
    by_remainder = sorted(raw, key=lambda lang: raw[lang] - counts[lang], reverse=True)
    for language in by_remainder[: num_documents - sum(counts.values())]:
        counts[language] += 1
    return counts


def build_corpus(
    suite: MicroSuite,
    languages: Sequence[str],
    shares: Mapping[str, float],
    num_documents: int,
    seed: int,
) -> list[dict[str, str]]:
    """The corpus documents, languages interleaved in a seeded order."""
    if num_documents <= 0:
        raise ValueError(f"num_documents={num_documents} must be > 0")
    pool = sorted(
        [task.program for task in suite.split("train")] + list(suite.spare), key=lambda p: p.name
    )
    counts = document_counts(normalized_shares(languages, shares), num_documents)
    documents = []
    for language in languages:
        order = list(pool)
        random.Random(f"{seed}:corpus:{language}").shuffle(order)
        for i in range(counts[language]):
            program = order[i % len(order)]
            documents.append({"text": function_text(program, language), "language": language})
    random.Random(f"{seed}:corpus").shuffle(documents)
    return documents
