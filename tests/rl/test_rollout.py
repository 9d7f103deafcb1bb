"""Problem sampling, stop sequences, batch layout and the alignment of per-token tensors."""

from __future__ import annotations

import math

import torch

from tests.rl.helpers import constant_problems
from xlt.data.records import Problem
from xlt.generation import Completion, HFGenerator, SamplingParams, stop_sequences
from xlt.rl.rollout import (
    build_batch,
    load_value_model,
    policy_forward,
    reward_code,
    rollout_metrics,
    step_problem_indices,
    stops_of,
)


def test_sampler_is_a_pure_function_of_step_covering_each_epoch():
    steps = [step_problem_indices(12, 4, step, seed=3) for step in range(6)]
    assert steps == [step_problem_indices(12, 4, step, seed=3) for step in range(6)]
    assert sorted(sum(steps[:3], [])) == list(range(12))  # epoch 0: every problem once
    assert sorted(sum(steps[3:], [])) == list(range(12))
    assert steps[:3] != steps[3:]  # a new order per epoch
    assert step_problem_indices(12, 4, 0, seed=4) != steps[0]


def test_stops():
    problems = constant_problems()
    assert stops_of(problems, chat=False) == ("\n",)
    assert stops_of(problems, chat=True) == ("\n", "```")
    bare = Problem(name="x", task="x", language="lua", prompt="local function f()\n")
    assert stops_of([bare], chat=False) == tuple(sorted(stop_sequences("lua")))
    io = Problem(name="y", task="y", language="lua", prompt="Read n, print n.", mode="io")
    assert stops_of([io], chat=True) == ()  # a whole program is never cut
    assert stops_of([io], chat=False) == ()


def test_reward_code_takes_the_whole_program_of_a_chat_answer_to_an_io_problem():
    io = Problem(name="y", task="y", language="lua", prompt="Read n, print n.", mode="io")
    program = 'local n = io.read("n")\n\n-- echo it\nprint(n)\n'
    answer = f"Here:\n```lua\n{program}```\nDone.".replace("\n", "\r\n")
    assert reward_code(io, answer, chat=True) == program  # blank line and comment kept
    assert reward_code(io, answer, chat=False) == program  # a base model's too
    assert reward_code(io, "x = 1", chat=False) == "x = 1\n"  # unfenced text is the program
    tests_problem = constant_problems()[0]
    assert reward_code(tests_problem, "  return 1", chat=True) == "  return 1"  # prefilled


class CharTokenizer:
    """ids = code points; enough for build_batch's prompt encoding."""

    bos_token = None

    def __call__(self, text, add_special_tokens=True):
        return {"input_ids": [ord(c) for c in text]}


def test_build_batch_layout():
    completions = [
        [Completion("x", (7, 8), (-0.5, -0.25), "stop"), Completion("y", (9,), (-1.0,), "stop")]
    ]
    batch = build_batch(CharTokenizer(), ["ab"], completions, [1.0, 0.0], pad_id=0)
    assert batch.input_ids_BL.tolist() == [[97, 98, 7, 8], [97, 98, 9, 0]]
    assert batch.attention_mask_BL.tolist() == [[1, 1, 1, 1], [1, 1, 1, 0]]
    assert batch.response_mask_BL.tolist() == [[0, 0, 1, 1], [0, 0, 1, 0]]
    assert batch.rollout_logp_BL.tolist() == [[0, 0, -0.5, -0.25], [0, 0, -1.0, 0]]
    assert batch.rewards_B.tolist() == [1.0, 0.0]


def test_trainer_logprobs_align_with_the_generators(pretrained_dir):
    from xlt.models import load_model, load_tokenizer

    model, tokenizer = load_model(pretrained_dir), load_tokenizer(pretrained_dir)
    prompts = [p.prompt for p in constant_problems()[:2]]
    params = SamplingParams(max_new_tokens=4, temperature=0.8, n=3, seed=0, logprobs=True)
    completions = HFGenerator(model, tokenizer).generate(prompts, params)
    batch = build_batch(tokenizer, prompts, completions, [0.0] * 6, tokenizer.pad_token_id)
    with torch.no_grad():
        logp_BL, entropy_BL = policy_forward(
            model, batch.input_ids_BL, batch.attention_mask_BL, batch.response_mask_BL, 0.8
        )
    mask = batch.response_mask_BL.bool()
    assert mask.sum() == sum(len(c.token_ids) for cs in completions for c in cs)
    assert torch.allclose(logp_BL[mask], batch.rollout_logp_BL[mask], atol=1e-4)
    assert (entropy_BL[mask] > 0).all()


def test_critic_head_is_drawn_from_the_seed_not_the_global_rng(pretrained_dir):
    # a resumed PPO run reproduces the uninterrupted one only if both start from one critic
    torch.manual_seed(123)
    first = load_value_model(pretrained_dir, seed=5)
    after_first = torch.rand(3)
    torch.manual_seed(456)
    second = load_value_model(pretrained_dir, seed=5)
    other = load_value_model(pretrained_dir, seed=6)
    assert torch.equal(first.score.weight, second.score.weight)
    assert not torch.equal(first.score.weight, other.score.weight)
    torch.manual_seed(123)
    assert torch.equal(torch.rand(3), after_first)  # the caller's RNG stream is untouched


def _full_reference(model, ids_BL, attention_BL, mask_BL, temperature):
    """Log-probs from the whole (fp32) logits tensor, written out here independently of xlt."""
    logits_BLV = model(input_ids=ids_BL, attention_mask=attention_BL).logits.float()
    logp_BLV = torch.log_softmax(logits_BLV[:, :-1] / temperature, dim=-1)
    logp_BL = torch.zeros(ids_BL.shape)
    logp_BL[:, 1:] = logp_BLV.gather(-1, ids_BL[:, 1:, None]).squeeze(-1)
    return logp_BL * mask_BL


def test_chunked_response_logprobs_equal_the_full_computation(pretrained_dir):
    from xlt.models import build_tiny_model, load_tokenizer

    # freshly initialised: log-probs near -log(vocab), where fp32 resolves 1e-6
    model = build_tiny_model(load_tokenizer(pretrained_dir), 32, 2, 2, 64, 64, seed=0)
    torch.manual_seed(0)  # two rows of different lengths: a response, then right padding
    ids_BL = torch.randint(3, model.config.vocab_size, (2, 12))
    attention_BL = torch.tensor([[1] * 12, [1] * 9 + [0] * 3])
    mask_BL = torch.tensor([[0.0] * 5 + [1.0] * 7, [0.0] * 4 + [1.0] * 5 + [0.0] * 3])
    head_rows = []  # rows the output head computes logits for, per call
    model.lm_head.register_forward_hook(lambda m, args, out: head_rows.append(args[0].shape[:-1]))

    logp_BL, _ = policy_forward(model, ids_BL, attention_BL, mask_BL, 0.7, chunk_tokens=5)
    seen = [n for n in map(torch.Size.numel, head_rows) if n]  # (B, 0) is the skipped call
    expected_BL = _full_reference(model, ids_BL, attention_BL, mask_BL, 0.7)
    assert (logp_BL - expected_BL).abs().max() < 1e-6
    assert (logp_BL[mask_BL == 0] == 0).all()
    # the head saw the 12 response positions in chunks of <= 5, never all 24 positions
    assert seen == [5, 5, 2]

    # gradients through the recomputed chunks equal those of the full computation
    grads = []
    for logp in (
        lambda: policy_forward(model, ids_BL, attention_BL, mask_BL, 0.7, chunk_tokens=5)[0],
        lambda: _full_reference(model, ids_BL, attention_BL, mask_BL, 0.7),
    ):
        model.zero_grad()
        logp().sum().backward()
        grads.append(torch.cat([p.grad.flatten() for p in model.parameters()]))
    assert torch.allclose(grads[0], grads[1], rtol=1e-5, atol=1e-6)  # fp32 summation order


def test_rollout_metrics_are_sample_and_token_means():
    from xlt.rl.rollout import Batch

    # 4 samples with 1, 2, 3 and 2 response tokens; rewards 1, 0, 0, 1
    mask = torch.tensor([[0, 1, 0, 0], [0, 1, 1, 0], [0, 1, 1, 1], [0, 1, 1, 0]]).float()
    rollout_logp = -torch.ones(4, 4) * mask
    old_logp = rollout_logp - 0.5 * mask  # every scored token 0.5 below the generator's
    rewards = torch.tensor([1.0, 0.0, 0.0, 1.0])
    batch = Batch(torch.zeros(4, 4, dtype=torch.long), torch.ones(4, 4, dtype=torch.long),
                  mask, rollout_logp, rewards)  # fmt: skip
    # reference log-probs log(2) above the policy's on scored tokens: k3 = 2 - log 2 - 1
    ref = old_logp + math.log(2.0) * mask
    metrics = rollout_metrics(batch, {"old_logp_BL": old_logp, "ref_logp_BL": ref})
    assert metrics["rl/reward_mean"] == 0.5
    # unbiased: sqrt(4 * 0.25 / 3)
    assert math.isclose(metrics["rl/reward_std"], math.sqrt(1 / 3), rel_tol=1e-12)
    assert metrics["rl/response_len"] == 2.0  # 8 tokens / 4 samples
    assert math.isclose(metrics["rl/rollout_logp_abs_diff"], 0.5, rel_tol=1e-6)
    assert math.isclose(metrics["rl/kl"], 1 - math.log(2.0), rel_tol=1e-6)
    assert "rl/kl" not in rollout_metrics(batch, {"old_logp_BL": old_logp})
