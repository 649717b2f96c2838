"""PPO in numpy for a shared Gaussian policy (Schulman et al. 2017): GAE, advantage normalization, the clipped
surrogate, a squared-error value loss, an entropy bonus, Adam. Pure functions on arrays plus a small trainer; the
rollouts (every agent of the finite-N swarm is one trajectory of the shared policy) are the app's."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from fleetmind.planners.swarm.policy import MLP, MLPPolicy

LOG_2PI = math.log(2.0 * math.pi)


def gae(rewards: np.ndarray, values: np.ndarray, gamma: float, lam: float) -> tuple[np.ndarray, np.ndarray]:
    """Generalized advantage estimates of ``rewards (T, N)`` with ``values (T + 1, N)`` (the last row bootstraps
    the truncated end). Returns ``advantages (T, N)`` and the value targets ``returns = advantages + values[:-1]``."""
    t_len = rewards.shape[0]
    adv = np.zeros_like(rewards, dtype=float)
    last = np.zeros(rewards.shape[1:])
    for t in range(t_len - 1, -1, -1):
        delta = rewards[t] + gamma * values[t + 1] - values[t]
        last = delta + gamma * lam * last
        adv[t] = last
    return adv, adv + values[:-1]


def normalize(adv: np.ndarray, eps: float = 1e-8) -> np.ndarray:
    """Advantages shifted to mean 0 and scaled to standard deviation 1 (a constant batch becomes 0)."""
    return (adv - adv.mean()) / (adv.std() + eps)


def log_prob(actions: np.ndarray, mean: np.ndarray, log_std: np.ndarray) -> np.ndarray:
    """``(B,)`` log densities of ``actions (B, k)`` under ``N(mean (B, k), exp(log_std (k,))^2)``."""
    z = (actions - mean) / np.exp(log_std)
    return -0.5 * (z**2 + 2.0 * log_std + LOG_2PI).sum(axis=1)


def clipped_surrogate(ratio: np.ndarray, adv: np.ndarray, clip: float) -> tuple[float, np.ndarray]:
    """The policy loss ``-mean(min(r A, clip(r, 1 - e, 1 + e) A))`` and its gradient w.r.t. ``log r`` (``(B,)``):
    zero where the clipped term is the smaller one (the update has gone far enough)."""
    unclipped = ratio * adv
    clipped = np.clip(ratio, 1.0 - clip, 1.0 + clip) * adv
    loss = -float(np.minimum(unclipped, clipped).mean())
    active = unclipped <= clipped
    return loss, np.where(active, -unclipped, 0.0) / ratio.shape[0]


def value_loss(values: np.ndarray, returns: np.ndarray) -> tuple[float, np.ndarray]:
    """``0.5 * mean((V - R)^2)`` and its gradient w.r.t. ``V``."""
    diff = values - returns
    return 0.5 * float((diff**2).mean()), diff / diff.shape[0]


class Adam:
    """Adam over a list of arrays (updated in place)."""

    def __init__(self, params: list[np.ndarray], lr: float, betas: tuple[float, float] = (0.9, 0.999)):
        self.params, self.lr, self.betas = params, lr, betas
        self.m = [np.zeros_like(p) for p in params]
        self.v = [np.zeros_like(p) for p in params]
        self.t = 0

    def step(self, grads: list[np.ndarray], max_norm: float = 0.5) -> None:
        norm = math.sqrt(sum(float((g**2).sum()) for g in grads))
        scale = min(1.0, max_norm / (norm + 1e-12))
        self.t += 1
        b1, b2 = self.betas
        for p, g, m, v in zip(self.params, grads, self.m, self.v, strict=True):
            g = g * scale
            m *= b1
            m += (1 - b1) * g
            v *= b2
            v += (1 - b2) * g * g
            p -= self.lr * (m / (1 - b1**self.t)) / (np.sqrt(v / (1 - b2**self.t)) + 1e-8)


@dataclass(frozen=True)
class PPOSettings:
    gamma: float = 0.98
    lam: float = 0.95
    clip: float = 0.2
    epochs: int = 4
    minibatch: int = 4096
    lr: float = 5e-4
    ent_coef: float = 0.0
    init_log_std: float = -2.0


class PPO:
    """A shared Gaussian MLP policy and a value MLP, updated from flat batches of (obs, action, old log prob,
    advantage, return)."""

    def __init__(self, inputs: int, actions: int, hidden: int, rng: np.random.Generator, s: PPOSettings):
        self.s = s
        self.rng = rng
        self.policy = MLPPolicy(MLP.init([inputs, hidden, hidden, actions], rng), np.full(actions, s.init_log_std))
        self.value = MLP.init([inputs, hidden, hidden, 1], rng, out_scale=1.0 / math.sqrt(hidden))
        self.pi_opt = Adam([*self.policy.mlp.params, self.policy.log_std], s.lr)
        self.v_opt = Adam(self.value.params, s.lr)

    def sample(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Actions drawn for observations ``x (B, in)``, their log probabilities and the values ``(B,)``."""
        mean = self.policy.mlp(x)
        a = mean + np.exp(self.policy.log_std) * self.rng.standard_normal(mean.shape)
        return a, log_prob(a, mean, self.policy.log_std), self.value(x)[:, 0]

    def losses_and_grads(
        self, x: np.ndarray, a: np.ndarray, logp_old: np.ndarray, adv: np.ndarray, ret: np.ndarray
    ) -> tuple[dict[str, float], list[np.ndarray], list[np.ndarray]]:
        """Losses of one minibatch and the gradients of the policy (MLP params + log_std) and of the value MLP."""
        mean, acts = self.policy.mlp.forward(x)
        log_std = self.policy.log_std
        logp = log_prob(a, mean, log_std)
        ratio = np.exp(logp - logp_old)
        pi_loss, g_logp = clipped_surrogate(ratio, adv, self.s.clip)
        var = np.exp(2.0 * log_std)
        g_mean = g_logp[:, None] * (a - mean) / var
        g_log_std = (g_logp[:, None] * ((a - mean) ** 2 / var - 1.0)).sum(axis=0) - self.s.ent_coef
        pi_grads = [*self.policy.mlp.backward(acts, g_mean), g_log_std]
        v, v_acts = self.value.forward(x)
        v_loss, g_v = value_loss(v[:, 0], ret)
        v_grads = self.value.backward(v_acts, g_v[:, None])
        clipped = float((np.abs(ratio - 1) > self.s.clip).mean())
        info = {"policy_loss": pi_loss, "value_loss": v_loss, "clip_fraction": clipped}
        return info, pi_grads, v_grads

    def update(self, x: np.ndarray, a: np.ndarray, logp: np.ndarray, adv: np.ndarray, ret: np.ndarray) -> dict:
        """``epochs`` passes over the batch in shuffled minibatches; advantages normalized per minibatch."""
        n = x.shape[0]
        info: dict[str, float] = {}
        for _ in range(self.s.epochs):
            idx = self.rng.permutation(n)
            for lo in range(0, n, self.s.minibatch):
                b = idx[lo : lo + self.s.minibatch]
                info, pg, vg = self.losses_and_grads(x[b], a[b], logp[b], normalize(adv[b]), ret[b])
                self.pi_opt.step(pg)
                self.v_opt.step(vg)
        return info
