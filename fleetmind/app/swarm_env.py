"""A swarm task's world as an environment for its controllers: the world built from the task's config, every
agent's :class:`SwarmObservation` after each step, bounded actions, the task's metric and (for training) each
agent's reward. Chosen by the task's type, never its name.

Rewards (training only, centralized): half the swarm's metric (the team's goal) plus half a local term each agent
can influence: its alignment with its neighbours' mean (Vicsek, Kuramoto: the cosine moment) or how crowded its
neighbourhood is (aggregation: ``tanh(count / expected)``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from fleetmind.planners.swarm.observation import SwarmObservation
from fleetmind.sim.swarm import AggregationWorld, KuramotoWorld, VicsekWorld
from fleetmind.sim.swarm import _kernels as kernels
from fleetmind.tasks.swarm import AggregationTask, KuramotoTask, SwarmConfig, SwarmTask, VicsekTask


@dataclass
class Frame:
    """A snapshot for drawing: positions ``(N, 2)`` and one angle per agent (heading / phase; aggregation: 0)."""

    pos: np.ndarray
    angle: np.ndarray


def _world(task: SwarmTask, c: SwarmConfig) -> VicsekWorld | KuramotoWorld | AggregationWorld:
    noise = task.world_noise(c)
    common = {"box": c.box, "radius": c.radius, "bins": c.bins, "periodic": True}
    if isinstance(task, VicsekTask):
        return VicsekWorld(
            c.agents, speed=c.speed, eta=min(noise, 2 * math.pi), coupling=0.0, max_turn=c.max_turn, dt=c.dt, **common
        )
    if isinstance(task, KuramotoTask):
        return KuramotoWorld(
            c.agents, coupling=0.0, omega_std=c.omega_std, sigma=noise, max_dfreq=c.max_dfreq, dt=c.dt, **common
        )
    if isinstance(task, AggregationTask):
        return AggregationWorld(c.agents, vmax=c.vmax, sigma=noise, dt=c.dt, **common)
    raise TypeError(f"no swarm world for task {type(task).__name__}")


class SwarmEnv:
    """``reset(seed) -> obs``; ``step(actions) -> obs`` with ``actions`` in ``[-1, 1]`` units of the world's bound
    (``(N,)`` or ``(N, 2)``); ``metric()`` the task's figure; ``rewards(obs)`` each agent's training reward."""

    def __init__(self, task: SwarmTask, config: SwarmConfig):
        self.task, self.config = task, config
        self.world = _world(task, config)
        self.expected = config.density * math.pi * config.radius**2
        self.bound = {VicsekTask: "max_turn", KuramotoTask: "max_dfreq", AggregationTask: "vmax"}[type(task)]
        self.hist: np.ndarray | None = None
        self._order = 0.0

    def reset(self, seed: int) -> SwarmObservation:
        s = self.world.reset(seed)
        self.hist, self._order = s.observation, s.order
        return self.observe()

    def step(self, actions: np.ndarray | None) -> SwarmObservation:
        scaled = None if actions is None else np.asarray(actions, dtype=float) * getattr(self.config, self.bound)
        s = self.world.step(scaled)
        self.hist, self._order = s.observation, s.order
        return self.observe()

    def observe(self) -> SwarmObservation:
        """Every agent's view of the current state (the histogram is the world's own observation)."""
        assert self.hist is not None
        return local_view(self.world, self.hist, self.expected)

    def metric(self) -> float:
        """The task's figure, higher is better in [0, 1]: polar / phase order, or the largest-cluster fraction."""
        if isinstance(self.world, AggregationWorld):
            return self.world.largest_cluster(self.config.link)  # type: ignore[attr-defined]
        return self._order

    def rewards(self, obs: SwarmObservation, metric: float) -> np.ndarray:
        """``(N,)`` training rewards after a step (see the module's docstring)."""
        if isinstance(self.world, AggregationWorld):
            local = np.tanh(obs.count / max(self.expected, 1e-9))
        else:
            local = obs.moment[:, 0]
        return 0.5 * metric + 0.5 * local

    def frame(self) -> Frame:
        return Frame(self.world.pos.copy(), angle_of(self.world).copy())


def angle_of(w: VicsekWorld | KuramotoWorld | AggregationWorld) -> np.ndarray:
    """The agents' angle: headings (Vicsek), phases (Kuramoto), 0 (aggregation)."""
    return w.theta if isinstance(w, VicsekWorld) else w.phase if isinstance(w, KuramotoWorld) else np.zeros(w.n)


def local_view(
    w: VicsekWorld | KuramotoWorld | AggregationWorld, hist: np.ndarray, expected: float
) -> SwarmObservation:
    """Every agent's :class:`SwarmObservation` in world ``w`` (periodic), with its histogram rows ``hist``: the
    exact first circular moment of the neighbours' relative angles (Vicsek, Kuramoto) or their mean offset over the
    radius (aggregation: per axis a circular mean on the torus), the neighbour count and the own state."""
    n = w.n
    own = np.zeros((n, 0))

    def sums(angle: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        # writable, as every other caller passes: a read-only array (the Kuramoto phases) would compile a 2nd kernel
        angle = angle if angle.flags.writeable else angle.copy()
        return kernels.circular_neighbour_sums(w.pos, angle, w.box, w.radius, True, *w.cells(), w.ncx)

    if isinstance(w, AggregationWorld):
        moment = np.zeros((n, 2))
        for axis in range(2):
            a = w.pos[:, axis] * (2 * math.pi / w.box)
            c, s, count = sums(a)
            rel = np.arctan2(s * np.cos(a) - c * np.sin(a), c * np.cos(a) + s * np.sin(a))
            moment[:, axis] = np.where(count > 0, rel * w.box / (2 * math.pi) / w.radius, 0.0)
    else:
        angle = angle_of(w)
        c, s, count = sums(angle)
        safe = np.maximum(count, 1)
        ca, sa = np.cos(angle), np.sin(angle)
        moment = np.stack([(c * ca + s * sa) / safe, (s * ca - c * sa) / safe], axis=1)  # rotated by -angle
        if isinstance(w, KuramotoWorld):
            own = w.omega[:, None].copy()
    return SwarmObservation(np.asarray(hist, dtype=float), moment, count.astype(float), own, expected)


def steady_state(series: list[float] | np.ndarray) -> float:
    """Mean of the last quarter of a metric series (at least one value)."""
    a = np.asarray(series, dtype=float)
    return float(a[-max(1, len(a) // 4) :].mean())
