"""Swarm worlds over the numba kernels: Vicsek flocking, Kuramoto oscillators, aggregation. Numbers in, numbers out.

Each world holds its state arrays, ``reset(seed)`` draws them (uniform positions, headings / phases, natural
frequencies) and ``step(actions)`` advances one step and returns a ``SwarmStep``: the world's order parameter and,
unless ``observe=False``, every agent's partial observation (the histogram of ``neighbour_histograms``: the
empirical distribution of its neighbours' headings / phases relative to its own, or of their bearings, within
``radius`` and the field of view). Actions are bounded: turn rate (Vicsek), frequency adjustment (Kuramoto),
velocity (aggregation); ``None`` means no control. Noise comes from the world's own generator, seeded by ``reset``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from fleetmind.sim.swarm import _kernels as k


@dataclass(frozen=True)
class SwarmStep:
    """What one step returns: ``order`` (Vicsek/Kuramoto: ``|mean exp(i angle)|`` in [0, 1]; aggregation: mean
    distance to the centroid) and ``observation`` (``(N, bins) float64`` rows summing to 1, or 0 for an agent
    without visible neighbours; None when not asked)."""

    order: float
    observation: np.ndarray | None


def _check(name: str, value: float, low: float, fix: str, *, strict: bool = True, high: float = math.inf) -> float:
    value = float(value)
    if not math.isfinite(value) or value < low or (strict and value == low) or value > high:
        raise ValueError(f"{name}={value!r} is out of range: {fix}")
    return value


class _SwarmWorld:
    """State and cell lists shared by the three worlds (``box`` side, neighbour ``radius``, periodic or walled)."""

    def __init__(self, agents: int, box: float, radius: float, periodic: bool, bins: int, fov: float, dt: float):
        if isinstance(agents, bool) or not isinstance(agents, int | np.integer) or agents < 1:
            raise ValueError(f"agents={agents!r} must be a whole number >= 1")
        if isinstance(bins, bool) or not isinstance(bins, int | np.integer) or bins < 1:
            raise ValueError(f"bins={bins!r} must be a whole number >= 1 (histogram bins per observation)")
        self.n = int(agents)
        self.box = _check("box", box, 0.0, "give the side of the square box, a finite number > 0")
        self.radius = _check("radius", radius, 0.0, "give the neighbour radius, a finite number > 0")
        if periodic and self.radius > 0.5 * self.box:
            raise ValueError(f"radius={self.radius} exceeds half the periodic box ({self.box}): use radius <= box / 2")
        self.dt = _check("dt", dt, 0.0, "give the time step, a finite number > 0")
        self.fov = _check("fov", fov, 0.0, "give the field of view in radians, in (0, 2 pi]", high=2 * math.pi)
        self.periodic = bool(periodic)
        self.bins = int(bins)
        self.ncx = int(k.cell_count(self.box, self.radius))
        self.pos = np.zeros((self.n, 2))
        self.rng = np.random.default_rng(0)
        self._cells: tuple[np.ndarray, np.ndarray] | None = None

    def _reset_positions(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        self.pos = self.rng.random((self.n, 2)) * self.box
        self._cells = None

    def cells(self) -> tuple[np.ndarray, np.ndarray]:
        """``(order, start)`` of the current positions (built once per move)."""
        if self._cells is None:
            self._cells = k.build_cells(self.pos, self.box, self.ncx)
        return self._cells

    def _histograms(self, values: np.ndarray, facing: np.ndarray, mode: int) -> np.ndarray:
        hist, _ = k.neighbour_histograms(
            self.pos, values, facing, self.fov, self.bins, mode, self.box, self.radius, self.periodic,
            *self.cells(), self.ncx,
        )  # fmt: skip
        return hist

    def _actions(self, actions: np.ndarray | None, shape: tuple[int, ...], bound: float, what: str) -> np.ndarray:
        if actions is None:
            return np.zeros(shape)
        a = np.asarray(actions, dtype=float)
        if a.shape != shape:
            raise ValueError(f"actions have shape {a.shape}: give {what} as an array of shape {shape}")
        if not np.isfinite(a).all():
            raise ValueError(f"actions hold NaN or infinity: give finite {what}")
        return np.clip(a, -bound, bound)

    def largest_cluster(self, radius: float | None = None) -> float:
        """Fraction of the agents in the largest group connected by links shorter than ``radius`` (default: the
        neighbour radius)."""
        r = self.radius if radius is None else _check("radius", radius, 0.0, "give a finite number > 0")
        ncx = int(k.cell_count(self.box, r))
        labels = k.cluster_labels(self.pos, self.box, r, self.periodic, *k.build_cells(self.pos, self.box, ncx), ncx)
        return float(np.bincount(labels).max() / self.n)


class VicsekWorld(_SwarmWorld):
    """Agents at constant ``speed`` aligning with their neighbours (``coupling`` 1: the classic Vicsek rule, 0: none)
    and turning at the commanded rate (bounded by ``max_turn`` rad/s); heading noise uniform in ``[-eta/2,
    eta/2]``. Observation: neighbours' headings relative to the agent's own."""

    def __init__(
        self,
        agents: int,
        box: float = 10.0,
        radius: float = 1.0,
        speed: float = 0.03,
        eta: float = 0.0,
        coupling: float = 1.0,
        max_turn: float = 1.0,
        periodic: bool = True,
        bins: int = 8,
        fov: float = 2 * math.pi,
        dt: float = 1.0,
    ):
        super().__init__(agents, box, radius, periodic, bins, fov, dt)
        self.speed = _check("speed", speed, 0.0, "give a finite speed >= 0", strict=False)
        self.eta = _check("eta", eta, 0.0, "give the noise amplitude in [0, 2 pi]", strict=False, high=2 * math.pi)
        self.coupling = _check("coupling", coupling, 0.0, "give an alignment weight in [0, 1]", strict=False, high=1.0)
        self.max_turn = _check("max_turn", max_turn, 0.0, "give a finite turn-rate bound >= 0", strict=False)
        self.theta = np.zeros(self.n)

    def reset(self, seed: int) -> SwarmStep:
        self._reset_positions(seed)
        self.theta = self.rng.uniform(-math.pi, math.pi, self.n)
        return SwarmStep(self.order(), self.observe())

    def order(self) -> float:
        return float(k.polar_order(self.theta))

    def observe(self) -> np.ndarray:
        return self._histograms(self.theta, self.theta, k.HIST_RELATIVE)

    def step(self, actions: np.ndarray | None = None, observe: bool = True) -> SwarmStep:
        """``actions``: ``(N,)`` turn rates (rad/s), clipped to ``max_turn``."""
        turn = self._actions(actions, (self.n,), self.max_turn, "turn rates")
        noise = self.rng.uniform(-0.5 * self.eta, 0.5 * self.eta, self.n)
        self.pos, self.theta = k.vicsek_step(
            self.pos, self.theta, turn, noise, self.box, self.radius, self.speed, self.dt, self.coupling,
            self.periodic, *self.cells(), self.ncx,
        )  # fmt: skip
        self._cells = None
        return SwarmStep(self.order(), self.observe() if observe else None)


class KuramotoWorld(_SwarmWorld):
    """Oscillators at fixed random positions, coupled (strength ``coupling``) to the neighbours within ``radius``;
    natural frequencies ``N(omega_mean, omega_std)``; phase noise ``sigma * sqrt(dt) * N(0, 1)``; actions adjust
    the frequency (bounded by ``max_dfreq``). Observation: neighbours' phases relative to the agent's own."""

    def __init__(
        self,
        agents: int,
        box: float = 10.0,
        radius: float = 1.0,
        coupling: float = 1.0,
        omega_mean: float = 0.0,
        omega_std: float = 0.1,
        sigma: float = 0.0,
        max_dfreq: float = 1.0,
        periodic: bool = True,
        bins: int = 8,
        dt: float = 0.1,
    ):
        super().__init__(agents, box, radius, periodic, bins, 2 * math.pi, dt)
        self.coupling = _check("coupling", coupling, -math.inf, "give a finite coupling strength")
        self.omega_mean = _check("omega_mean", omega_mean, -math.inf, "give a finite mean frequency")
        self.omega_std = _check("omega_std", omega_std, 0.0, "give a finite frequency spread >= 0", strict=False)
        self.sigma = _check("sigma", sigma, 0.0, "give a finite phase noise >= 0", strict=False)
        self.max_dfreq = _check("max_dfreq", max_dfreq, 0.0, "give a finite bound >= 0", strict=False)
        self.phase = np.zeros(self.n)
        self.omega = np.zeros(self.n)
        self._zero = np.zeros(self.n)

    def reset(self, seed: int) -> SwarmStep:
        self._reset_positions(seed)
        self.phase = self.rng.uniform(-math.pi, math.pi, self.n)
        self.omega = self.rng.normal(self.omega_mean, self.omega_std, self.n)
        return SwarmStep(self.order(), self.observe())

    def order(self) -> float:
        return float(k.polar_order(self.phase))

    def observe(self) -> np.ndarray:
        return self._histograms(self.phase, self._zero, k.HIST_RELATIVE)

    def step(self, actions: np.ndarray | None = None, observe: bool = True) -> SwarmStep:
        """``actions``: ``(N,)`` frequency adjustments (rad/s), clipped to ``max_dfreq``."""
        control = self._actions(actions, (self.n,), self.max_dfreq, "frequency adjustments")
        noise = self.rng.normal(0.0, self.sigma * math.sqrt(self.dt), self.n) if self.sigma else self._zero
        self.phase = k.kuramoto_step(
            self.pos, self.phase, self.omega, control, noise, self.box, self.radius, self.coupling, self.dt,
            self.periodic, *self.cells(), self.ncx,
        )  # fmt: skip
        return SwarmStep(self.order(), self.observe() if observe else None)


class AggregationWorld(_SwarmWorld):
    """Agents following velocity commands (speed capped at ``vmax``) with position noise ``sigma * sqrt(dt) *
    N(0, 1)`` per axis. Order: mean distance to the centroid (lower is more aggregated); ``largest_cluster()``
    gives the largest-cluster fraction. Observation: bearings of the neighbours (absolute, east = 0)."""

    def __init__(
        self,
        agents: int,
        box: float = 10.0,
        radius: float = 1.0,
        vmax: float = 0.1,
        sigma: float = 0.0,
        periodic: bool = True,
        bins: int = 8,
        dt: float = 1.0,
    ):
        super().__init__(agents, box, radius, periodic, bins, 2 * math.pi, dt)
        self.vmax = _check("vmax", vmax, 0.0, "give a finite speed bound >= 0", strict=False)
        self.sigma = _check("sigma", sigma, 0.0, "give a finite position noise >= 0", strict=False)
        self._zero = np.zeros(self.n)
        self._still = np.zeros((self.n, 2))

    def reset(self, seed: int) -> SwarmStep:
        self._reset_positions(seed)
        return SwarmStep(self.order(), self.observe())

    def order(self) -> float:
        return float(k.centroid_distance(self.pos, self.box, self.periodic))

    def observe(self) -> np.ndarray:
        return self._histograms(self._zero, self._zero, k.HIST_BEARING)

    def step(self, actions: np.ndarray | None = None, observe: bool = True) -> SwarmStep:
        """``actions``: ``(N, 2)`` velocities; each agent's speed is capped at ``vmax``."""
        velocity = self._actions(actions, (self.n, 2), math.inf, "velocities")
        noise = self.rng.normal(0.0, self.sigma * math.sqrt(self.dt), (self.n, 2)) if self.sigma else self._still
        self.pos = k.aggregation_step(self.pos, velocity, noise, self.box, self.vmax, self.dt, self.periodic)
        self._cells = None
        return SwarmStep(self.order(), self.observe() if observe else None)
