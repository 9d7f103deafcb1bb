"""From problems to a training batch: which problems a step uses, prompts, padded sequences,
and per-token quantities aligned with the tokens they score.

Alignment convention: every `_BL` tensor is indexed by sequence position, and position i of
a per-token quantity (log-prob, entropy, value, advantage) belongs to the *action* token i,
computed from the model's output at position i - 1. Prompt and padding positions have
`response_mask_BL == 0`; the response is contiguous, so GAE can run over the whole row.
"""

from __future__ import annotations

import hashlib
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.utils.checkpoint import checkpoint

from xlt.data.records import Problem
from xlt.generation import Completion, chat_problem_prompt, chat_prompt, stop_sequences
from xlt.generation.answers import program_from_chat_answer
from xlt.generation.hf import encode_prompt
from xlt.rl.algos import entropy_from_logits, kl_k3, token_logprobs
from xlt.rl.ranks import sum_values_over_ranks
from xlt.train.heads import hidden_at


def step_problem_indices(
    num_problems: int, prompts_per_step: int, step: int, seed: int
) -> list[int]:
    """The problems of RL step `step`: consecutive slices of a seeded permutation per epoch.

    A pure function of (step, seed), so resuming at a step needs no sampler state.
    """
    if num_problems < 1:
        raise ValueError("no RL problems: the source language has none in rl.jsonl")
    indices = []
    for position in range(step * prompts_per_step, (step + 1) * prompts_per_step):
        epoch, offset = divmod(position, num_problems)
        order = list(range(num_problems))
        random.Random(f"{seed}/{epoch}").shuffle(order)
        indices.append(order[offset])
    return indices


def prompt_seed(seed: int, step: int, position: int) -> int:
    """The sampling seed of the prompt at `position` in RL step `step`, in [0, 2^62).

    A hash of (seed, step, position), not of the rank that samples the prompt: one rank and
    N ranks draw the same samples for it (xlt.rl.ranks).
    """
    digest = hashlib.blake2b(f"{seed}/{step}/{position}".encode(), digest_size=8).digest()
    return int.from_bytes(digest) >> 2


def prompt_of(problem: Problem, tokenizer, chat: bool) -> str:
    """Completion mode: the problem's prompt as is. Chat mode: the same question evaluation
    asks, with the answer prefilled by a code fence and the prompt (`chat_problem_prompt`);
    an `io` problem's statement is asked as is (its answer is a whole program)."""
    if not chat:
        return problem.prompt
    # io problems are free answers (a whole program), never prefilled
    if problem.mode == "io":
        return chat_prompt(tokenizer, problem.prompt)
    return chat_problem_prompt(tokenizer, problem.prompt, problem.language)


def stops_of(problems: Sequence[Problem], chat: bool) -> tuple[str, ...]:
    """Stop sequences for a batch of one language: the problems' own, else MultiPL-E's;
    chat mode also stops at the closing fence. A batch of `io` problems is never cut: their
    answer is a whole program, which MultiPL-E's stops (`\\ndef`, `\\n}`) would cut at its
    first function or closing brace, and generation ends at the end of turn or EOS."""
    io = [p.mode == "io" for p in problems]
    if any(io) and not all(io):
        raise ValueError(
            "a rollout batch mixes io problems (whole programs, never cut) with tests "
            "problems (continuations cut at stops); sample them in separate batches"
        )
    if problems and all(io):
        return ()
    stops = {s for p in problems for s in p.stop_tokens}
    if not stops:
        stops = {s for p in problems for s in stop_sequences(p.language)}
    return tuple(sorted(stops | ({"```"} if chat else set())))


# --- chat answers -----------------------------------------------------------------------


def reward_code(problem: Problem, text: str, chat: bool) -> str:
    """What `xlt.rl.rewards.score_async` runs for one sample of `problem`.

    An answer to an `io` problem is a whole program, chat model or not: the code block the
    chat rule picks (`program_from_chat_answer`; unfenced text is taken whole). Everything
    else is a continuation (of the prompt, or of the prefilled fence), already cut at the
    stops.
    """
    if problem.mode == "io":
        return program_from_chat_answer(problem, text)
    return text


# ---------------------------------------------------------------------------------------


@dataclass
class Batch:
    """B = prompts x group_size sequences (the samples of one prompt adjacent), L positions."""

    input_ids_BL: torch.Tensor  # long, prompt + response, right-padded
    attention_mask_BL: torch.Tensor  # long
    response_mask_BL: torch.Tensor  # float, 1 on generated tokens
    rollout_logp_BL: torch.Tensor  # float, the generator's log-probs (0 if it gave none)
    rewards_B: torch.Tensor  # float

    @property
    def num_sequences(self) -> int:
        return self.input_ids_BL.shape[0]

    def rows(self, start: int, stop: int) -> dict[str, torch.Tensor]:
        return {k: v[start:stop] for k, v in vars(self).items() if k.endswith("_BL")}


def build_batch(
    tokenizer,
    prompts: Sequence[str],
    completions: Sequence[Sequence[Completion]],
    rewards: Sequence[float],
    pad_id: int,
) -> Batch:
    """Pad `[prompt][sample]` completions into one batch; `rewards` are in the same flat order."""
    rows = []
    for prompt, samples in zip(prompts, completions, strict=True):
        prompt_ids = encode_prompt(tokenizer, prompt)
        for c in samples:
            logps = c.logprobs if c.logprobs is not None else (0.0,) * len(c.token_ids)
            rows.append((prompt_ids, list(c.token_ids), list(logps)))
    if len(rows) != len(rewards):
        raise ValueError(f"{len(rows)} completions but {len(rewards)} rewards")
    length = max(len(p) + len(r) for p, r, _ in rows)
    input_ids = torch.full((len(rows), length), pad_id, dtype=torch.long)
    attention = torch.zeros((len(rows), length), dtype=torch.long)
    response = torch.zeros((len(rows), length), dtype=torch.float32)
    rollout_logp = torch.zeros((len(rows), length), dtype=torch.float32)
    for i, (prompt_ids, response_ids, logps) in enumerate(rows):
        start, end = len(prompt_ids), len(prompt_ids) + len(response_ids)
        input_ids[i, :end] = torch.tensor(prompt_ids + response_ids, dtype=torch.long)
        attention[i, :end] = 1
        response[i, start:end] = 1.0
        rollout_logp[i, start:end] = torch.tensor(logps, dtype=torch.float32)
    return Batch(input_ids, attention, response, rollout_logp, torch.tensor(rewards).float())


def rollout_metrics(batch: Batch, scored: dict[str, torch.Tensor]) -> dict[str, float]:
    """Means and the (sample) std of the rewards over all ranks' samples, token means over
    all ranks' response tokens."""
    mask_BL, old_logp_BL, rewards_B = batch.response_mask_BL, scored["old_logp_BL"], batch.rewards_B
    local = {
        "samples": batch.num_sequences, "rewards": rewards_B.sum(),
        "rewards_sq": (rewards_B.double() ** 2).sum(), "tokens": mask_BL.sum(),
        "logp_abs_diff": ((old_logp_BL - batch.rollout_logp_BL).abs() * mask_BL).sum(),
    }  # fmt: skip
    if "ref_logp_BL" in scored:
        local["kl"] = (kl_k3(old_logp_BL, scored["ref_logp_BL"]) * mask_BL).sum()
    sums = sum_values_over_ranks(local)
    samples, tokens = sums["samples"], max(sums["tokens"], 1.0)
    mean = sums["rewards"] / samples
    squares = max(sums["rewards_sq"] - samples * mean**2, 0.0)  # >= 0 up to rounding
    metrics = {
        "rl/reward_mean": mean,
        "rl/reward_std": math.sqrt(squares / (samples - 1)) if samples > 1 else 0.0,
        "rl/response_len": sums["tokens"] / samples,
        "rl/rollout_logp_abs_diff": sums["logp_abs_diff"] / tokens,
    }
    if "kl" in sums:
        metrics["rl/kl"] = sums["kl"] / tokens
    return metrics


def policy_forward(
    model,
    input_ids_BL: torch.Tensor,
    attention_mask_BL: torch.Tensor,
    response_mask_BL: torch.Tensor,
    temperature: float,
    chunk_tokens: int = 2048,
) -> tuple[torch.Tensor, torch.Tensor]:
    """(logp_BL, entropy_BL) of each response token given its prefix, aligned to the token;
    0 at prompt and padding positions, which are never scored.

    Memory: the output head runs on the hidden states of response positions only, at most
    `chunk_tokens` at a time; with gradients each chunk's (tokens x vocabulary) logits are
    recomputed in backward instead of kept (`torch.utils.checkpoint`), so no full-vocabulary
    tensor over all positions ever exists. Entropy is a detached metric.
    """
    response_BL = response_mask_BL.bool()
    predicts_BL = F.pad(response_BL[:, 1:], (0, 1), value=False)  # position i-1 -> token i
    with hidden_at(model, predicts_BL) as captured:
        model(input_ids=input_ids_BL, attention_mask=attention_mask_BL, use_cache=False)
    hidden_NH, tokens_N = captured["hidden_NH"], input_ids_BL[response_BL]
    head = model.get_output_embeddings()
    logps, entropies = [], []
    for start in range(0, tokens_N.shape[0], chunk_tokens):
        chunk = (head, hidden_NH[start : start + chunk_tokens],
                 tokens_N[start : start + chunk_tokens], temperature)  # fmt: skip
        if torch.is_grad_enabled():
            logp_N, entropy_N = checkpoint(_chunk_logp_entropy, *chunk, use_reentrant=False)
        else:
            logp_N, entropy_N = _chunk_logp_entropy(*chunk)
        logps.append(logp_N)
        entropies.append(entropy_N)
    logp_BL = torch.zeros(response_BL.shape, dtype=torch.float32, device=hidden_NH.device)
    entropy_BL = torch.zeros_like(logp_BL)
    if logps:  # index_put keeps the graph: gradients flow to the scored positions only
        logp_BL = logp_BL.index_put((response_BL,), torch.cat(logps))
        entropy_BL[response_BL] = torch.cat(entropies)
    return logp_BL, entropy_BL


def _chunk_logp_entropy(head, hidden_NH, tokens_N, temperature):
    logits_NV = head(hidden_NH)
    logp_N = token_logprobs(logits_NV, tokens_N, temperature)
    with torch.no_grad():
        entropy_N = entropy_from_logits(logits_NV.detach(), temperature)
    return logp_N, entropy_N


def load_value_model(path: str | Path, revision: str | None = None, seed: int = 0):
    """The PPO critic: the checkpoint's transformer with a fresh scalar head, no dropout.

    The fresh head is drawn from `seed`, not from the global RNG: otherwise two runs with the
    same settings (an uninterrupted one, and a killed one that is later resumed) start from
    different critics, and the resumed run cannot reproduce the uninterrupted one. The caller's
    RNG state is left as it was.
    """
    from transformers import AutoConfig, AutoModelForTokenClassification

    config = AutoConfig.from_pretrained(str(path), revision=revision, num_labels=1)
    config.classifier_dropout = 0.0  # deterministic values; the policy has no dropout either
    cuda = [torch.cuda.current_device()] if torch.cuda.is_available() else []
    with torch.random.fork_rng(devices=cuda):
        torch.default_generator.manual_seed(seed)
        if cuda:  # in case the head is initialised on the GPU (zero.Init may build it there)
            torch.cuda.manual_seed(seed)
        return AutoModelForTokenClassification.from_pretrained(
            str(path), revision=revision, config=config, dtype=torch.float32
        )


def value_forward(
    value_model, input_ids_BL: torch.Tensor, attention_mask_BL: torch.Tensor
) -> torch.Tensor:
    """(values_BL): the critic's value of the state before each token, aligned to the token."""
    out = value_model(input_ids=input_ids_BL, attention_mask=attention_mask_BL, use_cache=False)
    return _shift_right(out.logits[..., 0][:, :-1].float())


def _shift_right(x_BL: torch.Tensor) -> torch.Tensor:
    return F.pad(x_BL, (1, 0))
