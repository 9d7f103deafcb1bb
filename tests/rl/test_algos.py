"""RL math against values computed by hand (the arithmetic is in the comments)."""

from __future__ import annotations

import math

import pytest
import torch

from xlt.rl.algos import (
    constant_groups,
    entropy_from_logits,
    gae,
    group_advantages,
    kl_k3,
    last_token_rewards,
    masked_mean,
    masked_moments,
    policy_loss,
    token_logprobs,
    value_loss,
    whiten,
)


def close(actual, expected, atol=1e-5):
    return torch.allclose(
        torch.as_tensor(actual).float(), torch.as_tensor(expected).float(), atol=atol
    )


def test_masked_mean_is_a_token_mean():
    x = torch.tensor([[1.0, 1.0, 1.0], [4.0, 9.0, 9.0]])
    mask = torch.tensor([[1, 1, 1], [1, 0, 0]])
    # (1 + 1 + 1 + 4) / 4 tokens, not the mean of sequence means (1 + 4) / 2
    assert close(masked_mean(x, mask), 1.75)
    assert close(masked_mean(x, torch.zeros_like(mask)), 0.0)


def test_group_advantages_with_std():
    rewards = torch.tensor([1.0, 0, 0, 0, 1, 1, 0, 0, 1, 1, 1, 1])
    adv = group_advantages(rewards, 4)
    # group 1: mean 1/4, sample std sqrt((0.75^2 + 3 * 0.25^2) / 3) = 0.5
    # group 2: mean 1/2, sample std sqrt(4 * 0.25 / 3) = 0.57735
    # group 3: all equal -> 0
    s = 0.5 / math.sqrt(1 / 3)
    assert close(adv, [1.5, -0.5, -0.5, -0.5, s, s, -s, -s, 0, 0, 0, 0], atol=1e-4)


def test_group_advantages_without_std():
    rewards = torch.tensor([1.0, 0, 0, 0, 1, 1, 0, 0])
    adv = group_advantages(rewards, 4, scale_by_std=False)
    assert close(adv, [0.75, -0.25, -0.25, -0.25, 0.5, 0.5, -0.5, -0.5])


def test_group_advantages_rejects_ragged_groups():
    with pytest.raises(ValueError, match="groups of 4"):
        group_advantages(torch.zeros(6), 4)


def test_constant_groups():
    rewards = torch.tensor([1.0, 1, 0, 1, 0, 0, 0.5, 0.5])
    assert constant_groups(rewards, 2).tolist() == [True, False, True, True]


def test_policy_loss_clips_low_and_high_separately():
    ratios = torch.tensor([[1.5, 0.5, 1.1, 7.0], [0.5, 1.5, 1.0, 1.0]])
    old_logp = torch.full_like(ratios, -1.0)
    logp = (old_logp + ratios.log()).requires_grad_()
    adv = torch.tensor([[1.0], [-1.0]])
    mask = torch.tensor([[1, 1, 1, 0], [1, 1, 0, 0]])
    loss, metrics = policy_loss(logp, old_logp, adv, mask, clip_low=0.2, clip_high=0.28)
    # row 1, A=+1: max(-1.5, -1.28) = -1.28 (clipped high), max(-0.5, -0.8) = -0.5,
    #              max(-1.1, -1.1) = -1.1; row 2, A=-1: max(0.5, 0.8) = 0.8 (clipped low),
    #              max(1.5, 1.28) = 1.5. The masked 7.0 does not count.
    assert close(loss, (-1.28 - 0.5 - 1.1 + 0.8 + 1.5) / 5)
    assert close(metrics["clip_frac"], 2 / 5)
    loss.backward()
    # clipped tokens pass no gradient; d(-A * ratio)/d logp = -A * ratio elsewhere, over 5 tokens
    assert close(logp.grad, [[0, -0.5 / 5, -1.1 / 5, 0], [0, 1.5 / 5, 0, 0]])


def test_policy_loss_on_policy_is_minus_mean_advantage():
    logp = torch.tensor([[-0.3, -2.0], [-1.0, -0.1]])
    loss, metrics = policy_loss(
        logp, logp.clone(), torch.tensor([[2.0], [-1.0]]), torch.ones(2, 2),
        clip_low=0.2, clip_high=0.2,
    )  # fmt: skip
    assert close(loss, -(2 + 2 - 1 - 1) / 4)
    assert close(metrics["approx_kl"], 0.0)
    assert close(metrics["clip_frac"], 0.0)


def test_kl_k3():
    logp = torch.tensor([math.log(0.5), math.log(0.2)])
    ref = torch.tensor([math.log(0.25), math.log(0.2)])
    # r = 0.25 / 0.5: 0.5 - ln 0.5 - 1 = 0.193147; equal probabilities give 0
    assert close(kl_k3(logp, ref), [0.5 - math.log(0.5) - 1, 0.0])


def test_kl_k3_is_unbiased_for_kl():
    p = torch.tensor([0.6, 0.3, 0.1])
    q = torch.tensor([0.2, 0.5, 0.3])
    samples = torch.multinomial(
        p, 200_000, replacement=True, generator=torch.Generator().manual_seed(0)
    )
    estimate = kl_k3(p.log()[samples], q.log()[samples]).mean()
    exact = (p * (p / q).log()).sum()
    assert close(estimate, exact, atol=5e-3)


def test_gae_monte_carlo_and_discounted():
    rewards = torch.tensor([[0.0, 0.0, 1.0]])
    values = torch.tensor([[0.5, 0.6, 0.7]])
    mask = torch.ones(1, 3)
    adv, ret = gae(rewards, values, mask, gamma=1.0, lam=1.0)
    # lam = gamma = 1: A_t = return - V_t = 1 - V_t
    assert close(adv, [[0.5, 0.4, 0.3]])
    assert close(ret, [[1.0, 1.0, 1.0]])
    adv, _ = gae(rewards, values, mask, gamma=0.9, lam=0.5)
    # d2 = 1 - 0.7 = 0.3, A2 = 0.3; d1 = 0.9 * 0.7 - 0.6 = 0.03, A1 = 0.03 + 0.45 * 0.3 = 0.165
    # d0 = 0.9 * 0.6 - 0.5 = 0.04, A0 = 0.04 + 0.45 * 0.165 = 0.11425
    assert close(adv, [[0.11425, 0.165, 0.3]])


def test_gae_stops_at_padding():
    rewards = torch.tensor([[0.0, 1.0, 5.0]])  # the 5 sits on padding and must be ignored
    values = torch.tensor([[0.2, 0.4, 9.0]])
    mask = torch.tensor([[1, 1, 0]])
    adv, ret = gae(rewards, values, mask, gamma=1.0, lam=1.0)
    # A1 = 1 - 0.4 = 0.6 (V after the end is 0, not 9); A0 = 0.4 - 0.2 + 0.6 = 0.8
    assert close(adv, [[0.8, 0.6, 0.0]])
    assert close(ret, [[1.0, 1.0, 0.0]])


def test_value_loss_clipped():
    values = torch.tensor([[1.0, 0.0]], requires_grad=True)
    old = torch.tensor([[0.5, 0.5]])
    returns = torch.tensor([[1.2, 0.0]])
    loss, metrics = value_loss(values, old, returns, torch.ones(1, 2), clip=0.2)
    # clipped values 0.7, 0.3; errors 0.04, 0 vs clipped 0.25, 0.09 -> 0.5 * (0.25 + 0.09) / 2
    assert close(loss, 0.085)
    assert close(metrics["clip_frac"], 1.0)
    loss.backward()
    assert close(values.grad, [[0.0, 0.0]])  # both clipped: the critic is held near old values


def test_whiten():
    x = torch.tensor([[1.0, 3.0, 100.0]])
    mask = torch.tensor([[1, 1, 0]])
    assert close(whiten(x, mask), [[-1.0, 1.0, 0.0]], atol=1e-4)


def test_token_logprobs_and_entropy():
    logits = torch.tensor([[[0.0, 0.0, 0.0, 0.0], [2.0, 0.0, 0.0, 0.0]]])
    tokens = torch.tensor([[1, 0]])
    expected_second = 2 - math.log(math.exp(2) + 3)
    assert close(token_logprobs(logits, tokens), [[-math.log(4), expected_second]])
    # temperature 2 halves the logits
    assert close(token_logprobs(logits, tokens, 2.0)[0, 1], 1 - math.log(math.e + 3))
    assert close(entropy_from_logits(logits)[0, 0], math.log(4))


# --- PPO's outcome reward sits on the last response token -----------------------------------


def test_last_token_rewards_with_answers_several_tokens_long():
    # Prompt tokens (0), responses of 4, 5 and 0 tokens (1), right padding (0).
    mask = torch.tensor(
        [[0, 1, 1, 1, 1, 0, 0], [0, 0, 1, 1, 1, 1, 1], [0, 0, 0, 0, 0, 0, 0]], dtype=torch.float32
    )
    rewards = last_token_rewards(torch.tensor([1.0, 0.5, 3.0]), mask)
    expected = torch.zeros(3, 7)
    expected[0, 4], expected[1, 6] = 1.0, 0.5  # the tokens that ended each episode
    expected[2, 0] = 3.0  # no response: position 0, which the mask hides from GAE
    assert torch.equal(rewards, expected)


def test_gae_discounts_the_last_token_reward_back_over_a_long_answer():
    # One 4-token answer, reward 1, values 0: A_t = (gamma * lam)^(3 - t) for t = 0..3
    # (placed on the first token, only A_0 would be non-zero).
    mask = torch.tensor([[0.0, 1, 1, 1, 1, 0]])
    rewards = last_token_rewards(torch.tensor([1.0]), mask)
    adv, returns = gae(rewards, torch.zeros(1, 6), mask, gamma=0.5, lam=1.0)
    assert close(adv, [[0.0, 0.125, 0.25, 0.5, 1.0, 0.0]])
    assert close(returns, adv)


# --- the KL penalty pulls the policy toward the reference -----------------------------------


def test_a_step_on_the_kl_penalty_moves_log_probs_toward_the_reference():
    # d k3 / d logp = 1 - exp(ref - logp): negative where the policy is below the reference,
    # so gradient descent raises logp there and lowers it where the policy is above.
    logp = torch.tensor([[-2.0, -0.5, -1.0]], requires_grad=True)
    ref = torch.tensor([[-1.0, -1.5, -1.0]])
    masked_mean(kl_k3(logp, ref), torch.ones(1, 3)).backward()
    expected_grad = (1 - torch.exp(ref - logp.detach())) / 3
    assert close(logp.grad, expected_grad)
    stepped = logp.detach() - 0.1 * logp.grad
    assert (stepped - ref).abs()[0, :2].lt((logp.detach() - ref).abs()[0, :2]).all()
    assert logp.grad[0, 2] == 0  # already equal: no pull


# --- edges the mutation run found untested (docs/testing.md) ---------------------------------


def test_value_loss_takes_the_unclipped_error_when_it_is_larger():
    # Token 0: V = 3 moved past old 0 by more than the clip (1): clipped V = 1, errors 9 vs 1,
    # the larger (unclipped) one counts. Token 1: V = old = 1, nothing clipped, error 9 both
    # ways, and an equal clipped error is not a clip. Loss = 0.5 * (9 + 9) / 2.
    values = torch.tensor([[3.0, 1.0]])
    loss, metrics = value_loss(
        values, torch.tensor([[0.0, 1.0]]), torch.tensor([[0.0, 4.0]]), torch.ones(1, 2), clip=1.0
    )
    assert close(loss, 4.5) and close(metrics["clip_frac"], 0.0)


def test_masked_mean_of_one_token_is_that_token():
    assert close(masked_mean(torch.tensor([[5.0, 7.0]]), torch.tensor([[0, 1]])), 7.0)


def test_group_advantages_for_pairs_and_singletons():
    # Pairs: mean 0.5, unbiased std sqrt(0.5), so +-0.5 / sqrt(0.5) = +-sqrt(0.5).
    adv = group_advantages(torch.tensor([1.0, 0.0, 0.0, 0.0]), 2)
    assert close(adv, [math.sqrt(0.5), -math.sqrt(0.5), 0.0, 0.0])
    # A group of one has no spread to scale by: its advantage is 0, not nan.
    assert close(group_advantages(torch.tensor([1.0, 0.0]), 1), [0.0, 0.0])
    # eps is added to the std: with eps = 1 the pair's advantages are 0.5 / (sqrt(0.5) + 1).
    adv = group_advantages(torch.tensor([1.0, 0.0]), 2, eps=1.0)
    assert close(adv, [0.5 / (math.sqrt(0.5) + 1), -0.5 / (math.sqrt(0.5) + 1)])


def test_whiten_adds_eps_to_the_variance():
    x, mask = torch.tensor([[1.0, 3.0]]), torch.ones(1, 2)
    assert close(whiten(x, mask, eps=3.0), [[-0.5, 0.5]])  # (x - 2) / sqrt(1 + 3)


def test_gae_on_one_token_responses():
    adv, ret = gae(torch.tensor([[1.0], [0.0]]), torch.tensor([[0.25], [0.5]]),
                   torch.ones(2, 1), gamma=0.9, lam=0.9)  # fmt: skip
    assert close(adv, [[0.75], [-0.5]]) and close(ret, [[1.0], [0.0]])


def test_value_loss_counts_no_clip_for_values_inside_the_clip_range():
    # Old values in [0, 1), new ones in [0, 0.1): always within clip 1 of each other, so
    # nothing is clipped. In float32, old + (new - old) differs from new for most such pairs
    # (the difference is rounded); that rounding must neither count as a clip nor change the
    # loss, which is then the plain 0.5 * mean((V - R)^2) with R = 0.
    generator = torch.Generator().manual_seed(1)
    old = torch.rand(1, 1000, generator=generator)
    values = 0.1 * torch.rand(1, 1000, generator=generator)
    assert ((old + (values - old)) != values).sum() > 100  # the inputs do exercise rounding
    loss, metrics = value_loss(values, old, torch.zeros(1, 1000), torch.ones(1, 1000), clip=1.0)
    assert float(metrics["clip_frac"]) == 0.0
    assert torch.equal(loss, 0.5 * (values**2).mean())


def test_whitening_with_moments_summed_over_shards_is_whitening_the_whole_batch():
    # Two "ranks" hold rows 0-1 and 2-5 of one batch with different numbers of tokens.
    # Whitened with their summed moments, each shard gets the whole batch's mean and
    # population std over its masked tokens (computed here from the token list).
    generator = torch.Generator().manual_seed(0)
    x = 3.0 + 2.0 * torch.randn(6, 5, generator=generator)
    mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 0, 0, 0]] + [[1, 0, 0, 0, 0]] * 4).float()
    tokens = x[mask.bool()].double()
    mean, std = tokens.mean(), tokens.std(unbiased=False)
    expected = ((x - mean) / std * mask).float()
    shards = [slice(0, 2), slice(2, 6)]
    moments = sum(masked_moments(x[s], mask[s]) for s in shards)
    for s in shards:
        assert close(whiten(x[s], mask[s], moments_3=moments), expected[s])
    # each shard on its own is whitened differently (what per-rank statistics would give)
    assert not close(whiten(x[:2], mask[:2]), expected[:2], atol=0.1)
