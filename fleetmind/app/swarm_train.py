"""Dec-POMFC training (centralized training, decentralized execution): PPO on the finite-N swarm, every agent one
trajectory of the one shared policy, rewards from :mod:`fleetmind.app.swarm_env`. Each iteration plays a few
episodes at observation radii and noise levels drawn from the benchmark's grid, so one policy serves them all.
Seeded: the same seed and settings give the same weights (numpy only, single-threaded math)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from fleetmind.app.swarm_env import SwarmEnv, steady_state
from fleetmind.planners.swarm.laws import tuned_classic
from fleetmind.planners.swarm.observation import SwarmObservation
from fleetmind.planners.swarm.policy import MLPPolicy
from fleetmind.planners.swarm.ppo import PPO, PPOSettings, gae
from fleetmind.tasks.swarm import SwarmConfig, SwarmTask

log = logging.getLogger(__name__)

RADII = (0.5, 1.0, 2.0)
NOISES = (0.0, 0.5, 1.0, 2.0)


@dataclass(frozen=True)
class TrainSettings:
    iterations: int = 30
    episodes: int = 3
    agents: int = 100
    steps: int = 100
    hidden: int = 32
    seed: int = 0
    randomize: bool = True
    residual: bool = True
    """Learn a correction to the task's tuned classical law (its ``gains.json`` entry) instead of from scratch."""
    """Draw each episode's radius and noise from RADII x NOISES; False: the base config's."""
    ppo: PPOSettings = field(default_factory=PPOSettings)


@dataclass
class TrainResult:
    policy: MLPPolicy
    curve: list[float]
    """Mean reward per agent-step of each iteration."""
    metric_curve: list[float]
    """Steady-state metric (mean over the iteration's episodes) of each iteration."""
    env_steps: int
    agent_steps: int
    seconds: float


def rollout(env: SwarmEnv, act: Callable[[SwarmObservation], np.ndarray], seed: int, steps: int) -> list[float]:
    """The task's metric after each of ``steps`` steps under a deterministic controller (``act``)."""
    obs = env.reset(seed)
    series = []
    for _ in range(steps):
        obs = env.step(act(obs))
        series.append(env.metric())
    return series


def train(
    task: SwarmTask,
    base: SwarmConfig,
    s: TrainSettings,
    on_iteration: Callable[[int, float, float], None] | None = None,
) -> TrainResult:
    """PPO for ``s.iterations`` iterations; ``on_iteration(i, mean_reward, metric)`` after each."""
    rng = np.random.default_rng(s.seed)
    k = task.action_dim
    inputs = SwarmObservation.size(base.bins, task.own_dim)
    ppo = PPO(inputs, k, s.hidden, rng, s.ppo)
    if s.residual:  # start from the tuned classical law: the MLP learns a correction to it
        law = tuned_classic(task, task.tuned())
        ppo.policy.meta = {"base_law": law.law, "base_gains": law.gains}
    curve, metric_curve = [], []
    env_steps = 0
    start = time.perf_counter()
    for it in range(s.iterations):
        xs, acts, logps, advs, rets, rewards_seen, metrics = [], [], [], [], [], [], []
        for ep in range(s.episodes):
            values = {"agents": s.agents, "steps": s.steps}
            if s.randomize:  # the radii in turn (each iteration sees them all when episodes = 3), noise at random
                values |= {"radius": RADII[ep % len(RADII)], "noise": float(rng.choice(NOISES))}
            config = base.model_copy(update=values)
            env = SwarmEnv(task, config)
            obs = env.reset(int(rng.integers(1 << 31)))
            ep_x, ep_a, ep_lp, ep_v, ep_r, ep_m, series = [], [], [], [], [], [], []
            for _ in range(s.steps):
                x = obs.vector()
                a, lp, v = ppo.sample(x)
                command = np.clip(ppo.policy.command(a, obs), -1.0, 1.0)
                ep_m.append(obs.count > 0 if s.residual else np.ones(len(x), bool))
                obs = env.step(command[:, 0] if k == 1 else command)
                metric = env.metric()
                ep_x.append(x)
                ep_a.append(a)
                ep_lp.append(lp)
                ep_v.append(v)
                ep_r.append(env.rewards(obs, metric))
                series.append(metric)
            ep_v.append(ppo.value(obs.vector())[:, 0])  # bootstrap the truncated end
            adv, ret = gae(np.array(ep_r), np.array(ep_v), s.ppo.gamma, s.ppo.lam)
            keep = np.concatenate(ep_m)  # samples whose action mattered (a residual acts only beside neighbours)
            xs.append(np.concatenate(ep_x)[keep])
            acts.append(np.concatenate(ep_a)[keep])
            logps.append(np.concatenate(ep_lp)[keep])
            advs.append(adv.reshape(-1)[keep])
            rets.append(ret.reshape(-1)[keep])
            rewards_seen.append(float(np.mean(ep_r)))
            metrics.append(steady_state(series))
            env_steps += s.steps
        info = ppo.update(
            np.concatenate(xs), np.concatenate(acts), np.concatenate(logps), np.concatenate(advs), np.concatenate(rets)
        )
        curve.append(float(np.mean(rewards_seen)))
        metric_curve.append(float(np.mean(metrics)))
        log.debug("iteration %d: reward %.4f metric %.3f %s", it, curve[-1], metric_curve[-1], info)
        if on_iteration is not None:
            on_iteration(it, curve[-1], metric_curve[-1])
    seconds = time.perf_counter() - start
    meta = {
        "task": task.name,
        "iterations": s.iterations,
        "episodes": s.episodes,
        "agents": s.agents,
        "steps": s.steps,
        "seed": s.seed,
        "bins": base.bins,
        "env_steps": env_steps,
        "agent_steps": env_steps * s.agents,
        "seconds": round(seconds, 1),
    }
    ppo.policy.meta = {**ppo.policy.meta, **meta}
    return TrainResult(ppo.policy, curve, metric_curve, env_steps, env_steps * s.agents, seconds)
