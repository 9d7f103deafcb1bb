"""The three SFT mixtures: what each takes, token matching, held-out languages refused."""

import itertools
from collections import Counter

import pytest

from xlt.data import mixtures

LANGS = ["py", "js", "lua", "php"]


def pool(num_tasks=200, languages=LANGS, missing=()):
    """Examples grouped by task; a response length varies by task and language."""
    records = []
    for t in range(num_tasks):
        for i, lang in enumerate(languages):
            if (t, lang) in missing:
                continue
            words = " ".join(["tok"] * (5 + (t * 7 + i * 3) % 11))
            records.append({"prompt": f"p{t} ", "response": words, "language": lang,
                            "task": f"t{t}", "source": "toy"})  # fmt: skip
    return records


def count(record):
    return len(record["response"].split()) + 1


def units(kind, records, **kw):
    args = {"languages": LANGS, "parallel_k": 3, **kw}
    return list(mixtures.select(kind, mixtures.group_by_task(records), **args))


def test_monolingual_takes_the_source_only():
    picked = units("monolingual", pool(), source_language="lua")
    assert all(len(u) == 1 and u[0]["language"] == "lua" for u in picked) and len(picked) == 200


def test_multilingual_one_language_per_task_evenly():
    picked = units("multilingual", pool())
    assert all(len(u) == 1 for u in picked)
    assert set(Counter(u[0]["language"] for u in picked).values()) == {50}


def test_parallel_several_languages_per_task_independent_of_source():
    picked = units("parallel", pool(missing={(0, "py"), (0, "js"), (0, "lua")}))
    assert all(len(u) == 3 and len({r["task"] for r in u}) == 1 for u in picked)
    assert "t0" not in {u[0]["task"] for u in picked}  # one language left: not parallel
    shares = Counter(r["language"] for u in picked for r in u)
    assert max(shares.values()) - min(shares.values()) <= 3
    assert picked == units("parallel", pool(missing={(0, "py"), (0, "js"), (0, "lua")}),
                           source_language="php")  # fmt: skip


def test_matched_token_counts_within_two_percent():
    records = pool()
    sizes = mixtures.full_sizes(
        lambda: mixtures.group_by_task(records), count, languages=LANGS, parallel_k=3
    )
    budget = min(sizes.values())
    totals = {}
    for kind, source in [("monolingual", "py"), ("multilingual", None), ("parallel", None)]:
        chosen = list(mixtures.build_mixture(kind, records, budget=budget, count_tokens=count,
                                             languages=LANGS, parallel_k=3, source_language=source))  # fmt: skip
        totals[kind] = sum(count(r) for r in chosen)
        assert totals[kind] <= budget
    for a, b in itertools.combinations(totals.values(), 2):
        assert abs(a - b) <= 0.02 * max(a, b), totals
    # parallel covers fewer tasks for the same tokens: that is the point of matching
    assert sizes["parallel"] > sizes["multilingual"]


def test_budget_too_large_raises_with_fix():
    with pytest.raises(ValueError, match="sft.num_tokens"):
        list(mixtures.build_mixture("monolingual", pool(10), budget=10**6, count_tokens=count,
                                    languages=LANGS, source_language="py"))  # fmt: skip


def test_streams_lazily():
    def endless():
        for t in itertools.count():
            yield {"prompt": "", "response": "a b", "language": "py", "task": f"t{t}"}

    taken = list(mixtures.build_mixture("monolingual", endless(), budget=30, count_tokens=count,
                                        languages=["py"], source_language="py"))  # fmt: skip
    assert sum(count(r) for r in taken) == 30


def test_held_out_languages_are_refused():
    with pytest.raises(ValueError, match="held-out"):
        units("parallel", pool(), held_out=["lua"])
    with pytest.raises(ValueError, match="held-out"):
        list(mixtures.select("multilingual", mixtures.group_by_task(pool(languages=LANGS + ["rb"])),
                             languages=LANGS, held_out=["rb"]))  # fmt: skip
    with pytest.raises(ValueError, match="held-out"):
        list(mixtures.assert_absent(pool(3, ["py", "rb"]), ["rb"], "rl.jsonl"))


def test_pool_must_be_grouped_by_task():
    records = pool(3)
    with pytest.raises(ValueError, match="contiguous"):
        list(mixtures.group_by_task(records + records[:1]))


def test_bad_arguments():
    with pytest.raises(ValueError, match="unknown SFT mixture"):
        units("bilingual", pool(2))
    with pytest.raises(ValueError, match="source language"):
        units("monolingual", pool(2), source_language="rb")
    with pytest.raises(ValueError, match="parallel_k"):
        units("parallel", pool(2), parallel_k=5)


def test_proxy_tokens_counts_code_pieces():
    assert mixtures.proxy_tokens("x = foo(12)\n") == 9  # x, ' ', =, ' ', foo, (, 12, ), \n


def test_a_language_without_sft_data_does_not_zero_the_budget():
    from xlt.stages.mixture import matched_budget

    # CodeForces has no accepted programs in some trainable language (the rehearsal's java):
    # its monolingual mixture is empty and used to make the budget 0 for every mixture.
    sizes = {"multilingual": 2001, "parallel": 5198, "monolingual/py": 1847,
             "monolingual/java": 0}  # fmt: skip
    assert matched_budget(sizes, "parallel") == 1847
    with pytest.raises(ValueError, match="monolingual/java SFT mixture is empty"):
        matched_budget(sizes, "monolingual/java")


def test_a_pool_of_large_units_ends_short_with_a_warning_not_an_error(caplog):
    units = [[{"n": 60}], [{"n": 70}], [{"n": 65}]]  # every unit after the first overshoots 100
    taken = list(mixtures.take_budget(units, 100, lambda r: r["n"]))
    assert taken == [{"n": 60}] and "cannot be matched more closely" in caplog.text
    with pytest.raises(ValueError, match="pool ran out at 60"):  # nothing skipped: truly short
        list(mixtures.take_budget([[{"n": 60}]], 100, lambda r: r["n"]))
