"""The math of GRPO and PPO: pure functions of tensors, no config, logging or devices.

Shape suffixes: B sequences (a batch of responses), G groups (prompts), T response
tokens (right-padded; `mask_BT` is 1 on real response tokens), V vocabulary.

References
- PPO and its clipped surrogate: Schulman et al. 2017, "Proximal Policy Optimization
  Algorithms", arXiv:1707.06347.
- GAE: Schulman et al. 2016, "High-Dimensional Continuous Control Using Generalized
  Advantage Estimation", arXiv:1506.02438.
- GRPO, group-normalised outcome advantages and a k3 KL penalty in the loss:
  Shao et al. 2024, "DeepSeekMath", arXiv:2402.03300, section 4.1.
- Dropping the std scaling (Dr. GRPO): Liu et al. 2025, "Understanding R1-Zero-Like
  Training: A Critical Perspective", arXiv:2503.20783.
- Separate low/high clip ("clip-higher"), token-mean aggregation, filtering groups with
  equal rewards: Yu et al. 2025, "DAPO", arXiv:2503.14476.
- k3 estimator of KL: Schulman 2020, "Approximating KL Divergence",
  http://joschu.net/blog/kl-approx.html.
- Clipped value loss: the PPO2 baselines implementation, discussed in Andrychowicz et
  al. 2021, "What Matters in On-Policy RL", arXiv:2006.05990.
"""

from __future__ import annotations

import torch


def masked_mean(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Token-mean: the mean of `x` over all positions where `mask` is 1, across the batch.

    Every token weighs the same whatever its sequence's length (DAPO), unlike a mean of
    per-sequence means (GRPO's original), which favours short responses. 0 if mask is empty.
    """
    mask = mask.to(x.dtype)
    return (x * mask).sum() / mask.sum().clamp(min=1.0)


def group_advantages(
    rewards_B: torch.Tensor, group_size: int, *, scale_by_std: bool = True, eps: float = 1e-6
) -> torch.Tensor:
    """GRPO outcome advantages: each reward minus its group's mean, over the group's std.

    rewards_B: (B,) with the `group_size` samples of one prompt next to each other.
    Returns (B,). The std is the unbiased sample std (as in TRL and verl); a group whose
    rewards are all equal gets advantage 0. `scale_by_std=False` is Dr. GRPO.
    """
    if rewards_B.ndim != 1 or rewards_B.numel() % group_size:
        raise ValueError(
            f"rewards of shape {tuple(rewards_B.shape)} do not split into groups of {group_size}"
        )
    rewards_GS = rewards_B.view(-1, group_size).to(torch.float32)
    centred_GS = rewards_GS - rewards_GS.mean(dim=1, keepdim=True)
    if scale_by_std and group_size > 1:
        centred_GS = centred_GS / (rewards_GS.std(dim=1, keepdim=True) + eps)
    return centred_GS.reshape(-1)


def constant_groups(rewards_B: torch.Tensor, group_size: int) -> torch.Tensor:
    """(G,) bool: groups whose rewards are all equal (zero advantage, no learning signal)."""
    rewards_GS = rewards_B.view(-1, group_size)
    return (rewards_GS == rewards_GS[:, :1]).all(dim=1)


def token_logprobs(
    logits_BTV: torch.Tensor, tokens_BT: torch.Tensor, temperature: float = 1.0
) -> torch.Tensor:
    """(B, T) log-probabilities of `tokens_BT` under `softmax(logits / temperature)`.

    `logits_BTV[:, t]` must be the logits that predict `tokens_BT[:, t]`. Computed as
    logit - logsumexp to avoid materialising a second (B, T, V) tensor.
    """
    logits_BTV = logits_BTV.float() / temperature
    picked_BT = logits_BTV.gather(-1, tokens_BT.unsqueeze(-1)).squeeze(-1)
    return picked_BT - torch.logsumexp(logits_BTV, dim=-1)


def entropy_from_logits(logits_BTV: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
    """(B, T) entropy of `softmax(logits / temperature)` at each position, in nats."""
    logits_BTV = logits_BTV.float() / temperature
    logp_BTV = torch.log_softmax(logits_BTV, dim=-1)
    return -(logp_BTV.exp() * logp_BTV).sum(dim=-1)


def policy_loss(
    logp_BT: torch.Tensor,
    old_logp_BT: torch.Tensor,
    advantages_BT: torch.Tensor,
    mask_BT: torch.Tensor,
    *,
    clip_low: float,
    clip_high: float,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """PPO-clip surrogate with separate clip ranges, token-mean aggregated.

    ratio = exp(logp - old_logp); per token loss = max(-A * ratio, -A * clip(ratio,
    1 - clip_low, 1 + clip_high)). `advantages_BT` may be (B, 1) for one advantage per
    sequence (GRPO). Returns the scalar loss and detached metrics: `clip_frac` (tokens
    where the clipped term was the one taken) and `approx_kl` (k3 of old vs new policy).
    """
    log_ratio_BT = logp_BT - old_logp_BT
    ratio_BT = torch.exp(log_ratio_BT)
    unclipped_BT = -advantages_BT * ratio_BT
    clipped_BT = -advantages_BT * torch.clamp(ratio_BT, 1.0 - clip_low, 1.0 + clip_high)
    loss_BT = torch.maximum(unclipped_BT, clipped_BT)
    with torch.no_grad():
        clip_frac = masked_mean((clipped_BT > unclipped_BT).float(), mask_BT)
        approx_kl = masked_mean(kl_k3(old_logp_BT, logp_BT), mask_BT)
    return masked_mean(loss_BT, mask_BT), {"clip_frac": clip_frac, "approx_kl": approx_kl}


def kl_k3(logp_BT: torch.Tensor, ref_logp_BT: torch.Tensor) -> torch.Tensor:
    """(B, T) k3 estimate of KL(policy || reference) at tokens sampled from the policy.

    k3 = exp(ref - logp) - (ref - logp) - 1: unbiased, always >= 0, low variance.
    """
    log_ratio_BT = ref_logp_BT - logp_BT
    return torch.exp(log_ratio_BT) - log_ratio_BT - 1.0


def last_token_rewards(rewards_B: torch.Tensor, mask_BT: torch.Tensor) -> torch.Tensor:
    """(B, T) per-token rewards for PPO: each sequence's outcome reward on its last response
    token (the one that ended the episode), 0 elsewhere, as in InstructGPT-style PPO.

    `mask_BT` is 1 on the (contiguous) response tokens; a row without any gets its reward
    at position 0, where the mask makes GAE ignore it.
    """
    last_B = (mask_BT * torch.arange(mask_BT.shape[1])).argmax(1)
    rewards_BT = torch.zeros_like(mask_BT)
    rewards_BT[torch.arange(mask_BT.shape[0]), last_B] = rewards_B.to(rewards_BT.dtype)
    return rewards_BT


def gae(
    rewards_BT: torch.Tensor,
    values_BT: torch.Tensor,
    mask_BT: torch.Tensor,
    *,
    gamma: float,
    lam: float,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Generalised advantage estimation over right-padded response tokens.

    delta_t = r_t + gamma * V_{t+1} - V_t, with V = 0 after the last real token (the episode
    ends there); A_t = delta_t + gamma * lam * A_{t+1}. Returns (advantages_BT, returns_BT)
    with returns = A + V, both zero on padding. Inputs are treated as constants.
    """
    rewards_BT, values_BT = rewards_BT.detach().float(), values_BT.detach().float()
    mask_BT = mask_BT.to(values_BT.dtype)
    advantages_BT = torch.zeros_like(values_BT)
    next_value_B = torch.zeros_like(values_BT[:, 0])
    next_advantage_B = torch.zeros_like(values_BT[:, 0])
    for t in reversed(range(values_BT.shape[1])):
        delta_B = rewards_BT[:, t] + gamma * next_value_B - values_BT[:, t]
        advantage_B = (delta_B + gamma * lam * next_advantage_B) * mask_BT[:, t]
        advantages_BT[:, t] = advantage_B
        # padding after the end passes zeros back to the last real token
        next_value_B = values_BT[:, t] * mask_BT[:, t]
        next_advantage_B = advantage_B
    return advantages_BT, (advantages_BT + values_BT) * mask_BT


def masked_moments(x_BT: torch.Tensor, mask_BT: torch.Tensor) -> torch.Tensor:
    """(3,) float64: the sum of `x`, the sum of `x ** 2` and the number of masked tokens.

    Moments add up over the shards of a batch (the ranks' slices), so their sum gives the
    whole batch's mean and variance (`whiten(..., moments_3=...)`). Float64 keeps the
    variance `E[x^2] - E[x]^2` free of cancellation for advantages of any sensible scale.
    """
    x_BT, mask_BT = x_BT.double(), mask_BT.double()
    return torch.stack([(x_BT * mask_BT).sum(), (x_BT**2 * mask_BT).sum(), mask_BT.sum()])


def whiten(
    x_BT: torch.Tensor,
    mask_BT: torch.Tensor,
    *,
    moments_3: torch.Tensor | None = None,
    eps: float = 1e-8,
) -> torch.Tensor:
    """`x` shifted and scaled to mean 0, std 1 over the masked tokens (PPO's advantage norm).

    The mean and (population) variance are those of `moments_3` (`masked_moments` summed
    over every shard of the batch) when given, else of `x_BT` alone.
    """
    if moments_3 is None:
        moments_3 = masked_moments(x_BT, mask_BT)
    total, total_sq, count = moments_3.tolist()
    count = max(count, 1.0)
    mean = total / count
    var = max(total_sq / count - mean**2, 0.0)  # >= 0 up to rounding
    return (x_BT - mean) * (var + eps) ** -0.5 * mask_BT


def value_loss(
    values_BT: torch.Tensor,
    old_values_BT: torch.Tensor,
    returns_BT: torch.Tensor,
    mask_BT: torch.Tensor,
    *,
    clip: float,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Clipped value loss: 0.5 * token-mean of max((V - R)^2, (V_clipped - R)^2).

    V_clipped = old_V + clamp(V - old_V, -clip, clip) keeps the critic near the values that
    computed the advantages. Returns the loss and `clip_frac` (tokens where the clipped
    error was the larger one). V_clipped is computed as clamp(V, old_V - clip, old_V + clip),
    which is V itself inside the range: old_V + (V - old_V) rounds away from V in float32
    for some pairs, and `clip_frac` then counted tokens that no clipping touched.
    """
    clipped_BT = torch.clamp(values_BT, old_values_BT - clip, old_values_BT + clip)
    error_BT = (values_BT - returns_BT) ** 2
    clipped_error_BT = (clipped_BT - returns_BT) ** 2
    loss = 0.5 * masked_mean(torch.maximum(error_BT, clipped_error_BT), mask_BT)
    with torch.no_grad():
        clip_frac = masked_mean((clipped_error_BT > error_BT).float(), mask_BT)
    return loss, {"clip_frac": clip_frac}
