"""Lifelong and one-shot MAPF episode metrics as small composable pieces (POGEMA's metric wrappers).

Each metric sees, after every step, the step count, which agents are on their goal (``(N,) bool``) and
whether the episode just finished; on the finishing step it reports its figures. :class:`MetricSet`
composes several. The MAPF grid world (:mod:`fleetmind.sim.grid.mapf`) feeds them, and the PyBullet backend
reports the figures of the grid world it wraps; the real-robot fleet has no MAPF task and does not use them.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np


class Metric(ABC):
    """One episode metric. ``update`` returns the metric's figures on the finishing step, else ``{}``."""

    def reset(self, num_agents: int, episode_steps: int) -> None:
        self.num_agents = num_agents
        self.episode_steps = episode_steps

    @abstractmethod
    def update(self, step: int, on_goal: np.ndarray, finished: bool) -> dict[str, float]: ...


class AvgThroughput(Metric):
    """Lifelong: goals reached (summed over agents) per episode step."""

    def reset(self, num_agents: int, episode_steps: int) -> None:
        super().reset(num_agents, episode_steps)
        self.reached = 0

    def update(self, step: int, on_goal: np.ndarray, finished: bool) -> dict[str, float]:
        self.reached += int(np.count_nonzero(on_goal))
        if finished:
            return {"avg_throughput": self.reached / self.episode_steps}
        return {}


class CSR(Metric):
    """One-shot, agents stay: 1.0 if every agent is on its goal when the episode ends."""

    def update(self, step: int, on_goal: np.ndarray, finished: bool) -> dict[str, float]:
        return {"CSR": float(bool(np.all(on_goal)))} if finished else {}


class ISR(Metric):
    """One-shot, agents stay: fraction of agents on their goal when the episode ends."""

    def update(self, step: int, on_goal: np.ndarray, finished: bool) -> dict[str, float]:
        return {"ISR": float(np.count_nonzero(on_goal)) / self.num_agents} if finished else {}


class SumOfCostsAndMakespan(Metric):
    """One-shot: each agent's cost is the step after which it stayed on its goal (or the episode length)."""

    def reset(self, num_agents: int, episode_steps: int) -> None:
        super().reset(num_agents, episode_steps)
        self.arrived = np.full(num_agents, -1, dtype=np.int64)

    def update(self, step: int, on_goal: np.ndarray, finished: bool) -> dict[str, float]:
        newly = (self.arrived < 0) & (on_goal | finished)
        self.arrived[newly] = step
        if not finished:
            self.arrived[~on_goal] = -1
            return {}
        return {"SoC": float(self.arrived.sum()), "makespan": float(self.arrived.max())}


class MetricSet(Metric):
    """Several metrics as one; figures are merged."""

    def __init__(self, *metrics: Metric) -> None:
        self.metrics = metrics

    def reset(self, num_agents: int, episode_steps: int) -> None:
        super().reset(num_agents, episode_steps)
        for m in self.metrics:
            m.reset(num_agents, episode_steps)

    def update(self, step: int, on_goal: np.ndarray, finished: bool) -> dict[str, float]:
        out: dict[str, float] = {}
        for m in self.metrics:
            out.update(m.update(step, on_goal, finished))
        return out


def lifelong_metrics() -> MetricSet:
    return MetricSet(AvgThroughput())


def one_shot_metrics() -> MetricSet:
    return MetricSet(CSR(), ISR(), SumOfCostsAndMakespan())
