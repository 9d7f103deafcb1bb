"""The micro data stage and the mixture stage, end to end on a small suite."""

import json
from types import SimpleNamespace

import pytest

from xlt.data.config import MicroDataConfig
from xlt.data.records import Problem
from xlt.pipeline import StageContext
from xlt.stages import mixture as mixture_stage
from xlt.stages.data import build_micro_data
from xlt.stages.mixture import MixtureSpec

LANGS, HELD_OUT = ["py", "js", "lua", "rb"], ["rb"]


def read(path):
    return [json.loads(line) for line in path.open()]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("data")
    shares = {"py": 0.5, "js": 0.3, "lua": 0.15, "rb": 0.05}
    build_micro_data(out, languages=LANGS, held_out=HELD_OUT, num_tasks=120,
                     corpus_shares=shares, corpus_documents=400, parallel_k=2, seed=0)  # fmt: skip
    return out


def test_files_and_manifest(data_dir):
    manifest = json.loads((data_dir / "manifest.json").read_text())
    assert manifest["seed"] == 0 and sum(manifest["tasks"].values()) == 120
    eval_problems = [Problem.from_dict(r) for r in read(data_dir / "eval.jsonl")]
    assert {p.language for p in eval_problems} == set(LANGS)
    assert len(eval_problems) == manifest["tasks"]["eval"] * len(LANGS)
    assert eval_problems[0].solution and eval_problems[0].stop_tokens
    parallel = read(data_dir / "parallel.jsonl")
    assert set(parallel[0]) == {"task", "language", "program"}
    assert {r["task"] for r in parallel} == {p.task for p in eval_problems}
    corpus = read(data_dir / "corpus.jsonl")
    assert manifest["corpus"]["documents"] == {
        lang: sum(d["language"] == lang for d in corpus) for lang in LANGS
    }
    assert manifest["corpus"]["documents"]["rb"] == 20  # the rare, held-out target


def test_held_out_absent_from_sft_and_rl(data_dir):
    sft, rl = read(data_dir / "sft.jsonl"), read(data_dir / "rl.jsonl")
    assert {r["language"] for r in sft} == {r["language"] for r in rl} == {"py", "js", "lua"}
    assert set(sft[0]) == {"prompt", "response", "language", "task", "source"}
    assert {r["language"] for r in read(data_dir / "rl_oracle.jsonl")} == {"rb"}
    splits = {
        name: {r["task"] for r in read(data_dir / f"{name}.jsonl")}
        for name in ("sft", "rl", "eval")
    }
    assert not splits["sft"] & splits["rl"] and not splits["sft"] & splits["eval"]
    assert not splits["rl"] & splits["eval"]


def test_same_seed_same_files(data_dir, tmp_path):
    shares = {"py": 0.5, "js": 0.3, "lua": 0.15, "rb": 0.05}
    build_micro_data(tmp_path, languages=LANGS, held_out=HELD_OUT, num_tasks=120,
                     corpus_shares=shares, corpus_documents=400, parallel_k=2, seed=0)  # fmt: skip
    for name in ("corpus.jsonl", "sft.jsonl", "rl.jsonl", "eval.jsonl", "manifest.json"):
        assert (tmp_path / name).read_bytes() == (data_dir / name).read_bytes(), name


def _run_mixture(data_dir, out, kind, num_tokens=None, inputs=None):
    tracker = SimpleNamespace(log=lambda metrics, step: None)
    data = MicroDataConfig(languages=["py", "js", "lua", *HELD_OUT], held_out=HELD_OUT,
                           corpus_shares={}, parallel_k=2)  # fmt: skip
    source = "py" if kind == "monolingual" else None
    spec = MixtureSpec(data, kind, num_tokens, source_language=source, tokenizer=None)
    out.mkdir()
    inputs = {"data": data_dir, **(inputs or {})}
    mixture_stage.run(StageContext(spec=spec, inputs=inputs, out=out, tracker=tracker, seed=0))
    return json.loads((out / "mixture.json").read_text()), read(out / "sft.jsonl")


def test_mixture_stage_matches_tokens(data_dir, tmp_path):
    summaries = {}
    for kind in ("monolingual", "multilingual", "parallel"):
        summary, examples = _run_mixture(data_dir, tmp_path / kind, kind)
        assert {r["language"] for r in examples} <= {"py", "js", "lua"}
        summaries[kind] = summary
    tokens = [s["tokens"] for s in summaries.values()]
    assert max(tokens) - min(tokens) <= 0.02 * max(tokens)
    assert summaries["monolingual"]["examples"].keys() == {"py"}
    assert summaries["parallel"]["tasks"] < summaries["multilingual"]["tasks"]


def test_mixture_stage_counts_with_the_pretrained_tokenizer(data_dir, tmp_path):
    from xlt.models import build_tokenizer

    corpus = [r["text"] for r in read(data_dir / "corpus.jsonl")]
    build_tokenizer(corpus, vocab_size=300).save_pretrained(tmp_path / "pretrain" / "model")
    totals = []
    for kind in ("monolingual", "multilingual", "parallel"):
        summary, _ = _run_mixture(
            data_dir, tmp_path / kind, kind, inputs={"pretrain": tmp_path / "pretrain"}
        )
        assert summary["token_counter"].startswith("tokenizer of")
        totals.append(summary["tokens"])
    assert max(totals) - min(totals) <= 0.02 * max(totals), totals
