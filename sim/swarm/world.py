"""Swarm worlds over the numba kernels: Vicsek flocking, Kuramoto oscillators, aggregation. Numbers in, numbers out.

Each world holds its state arrays, ``reset(seed)`` draws them (uniform positions, headings / phases, natural
frequencies) and ``step(actions)`` advances one step and returns a ``SwarmStep``: the world's order parameter and,
unless ``observe=False``, every agent's partial observation: the empirical distribution of its neighbours' headings
/ phases relative to its own, or of their positions, within ``radius`` and the field of view, as a histogram
(``observation="histogram"``, ``neighbour_histograms``) or a kernel mean embedding (``observation="rbf"``,
``neighbour_embedding``: von Mises bumps on the circle, Gaussian bumps over the neighbourhood disc). ``obs_noise``
(std. dev.) perturbs what the agents read: every agent's broadcast heading / phase (radians) and, for positions, its
offset (in units of ``radius``; the bearing histogram has none), one draw per agent per observation from a generator
of its own (observing never changes the dynamics' noise). Actions are bounded: turn rate (Vicsek), frequency
adjustment (Kuramoto), velocity (aggregation, formation); ``None`` means no control. Noise comes from the world's
own generator, seeded by ``reset``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from fleetmind.sim.swarm import _embed_kernels as e
from fleetmind.sim.swarm import _kernels as k
from fleetmind.sim.swarm import _measure_kernels as m
from fleetmind.sim.swarm import _pair_kernels as p
from fleetmind.sim.swarm import _vicsek_kernels as v

OBSERVATIONS = ("histogram", "rbf")


@dataclass(frozen=True)
class SwarmStep:
    """What one step returns: ``order`` (Vicsek/Kuramoto: ``|mean exp(i angle)|`` in [0, 1]; aggregation: mean
    distance to the centroid; formation: the shape distance) and ``observation`` (``(N, obs_dim) float64``: histogram
    rows summing to 1, or embeddings in [0, 1]; a row of 0 for an agent without visible neighbours; None when not
    asked)."""

    order: float
    observation: np.ndarray | None


def _check(name: str, value: float, low: float, fix: str, *, strict: bool = True, high: float = math.inf) -> float:
    value = float(value)
    if not math.isfinite(value) or value < low or (strict and value == low) or value > high:
        raise ValueError(f"{name}={value!r} is out of range: {fix}")
    return value


class _SwarmWorld:
    """State and cell lists shared by the three worlds (``box`` side, neighbour ``radius``, periodic or walled)."""

    def __init__(
        self,
        agents: int,
        box: float,
        radius: float,
        periodic: bool,
        bins: int,
        fov: float,
        dt: float,
        observation: str = "histogram",
        obs_noise: float = 0.0,
    ):
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
        if observation not in OBSERVATIONS:
            raise ValueError(f"observation={observation!r} is unknown: use one of {', '.join(OBSERVATIONS)}")
        self.observation = observation
        self.obs_noise = _check("obs_noise", obs_noise, 0.0, "give a finite noise std. dev. >= 0", strict=False)
        self.obs_rng = np.random.default_rng(1)
        side = max(2, round(math.sqrt(self.bins)))  # position centres: a side x side grid over [-1, 1]^2
        grid = np.linspace(-1.0, 1.0, side)
        self._pos_centres = np.stack(np.meshgrid(grid, grid, indexing="xy"), axis=-1).reshape(-1, 2)
        self._angle_centres = (-math.pi + (np.arange(self.bins) + 0.5) * 2 * math.pi / self.bins).reshape(-1, 1)
        self.ncx = int(k.cell_count(self.box, self.radius))
        self.pos = np.zeros((self.n, 2))
        self.rng = np.random.default_rng(0)
        self._cells: tuple[np.ndarray, np.ndarray] | None = None
        # preallocated: the cell lists (two sets: a step reads one while the world keeps the other) and scratch
        self._cell_buf = [(np.empty(self.n, np.int64), np.empty(self.ncx * self.ncx + 1, np.int64)) for _ in range(2)]
        self._cell_scratch = np.empty(self.n, np.int64)

    def _reset_positions(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        self.obs_rng = np.random.default_rng([seed, 1])
        pos = self.rng.random((self.n, 2)) * self.box
        # agents numbered in cell order (a relabelling of exchangeable agents): neighbours sit close in memory, and
        # the kernels' reads and writes by agent index walk the arrays in order instead of jumping around
        self.pos = pos[k.build_cells(pos, self.box, self.ncx)[0]]
        self._cells = None

    def cells(self) -> tuple[np.ndarray, np.ndarray]:
        """``(order, start)`` of the current positions (built once per move, into preallocated arrays)."""
        if self._cells is None:
            self._cell_buf.reverse()
            order, start = self._cell_buf[0]
            self._cells = k.build_cells_into(self.pos, self.box, self.ncx, self._cell_scratch, order, start)
        return self._cells

    @property
    def obs_dim(self) -> int:
        """Length of one agent's observation row."""
        if self.observation == "rbf" and self._positional:
            return len(self._pos_centres)
        return self.bins

    _positional = False  # True: the world observes neighbours' positions, not their headings / phases

    def _histograms(self, values: np.ndarray, facing: np.ndarray, mode: int) -> np.ndarray:
        """The observation of every agent (``(N, obs_dim)``): ``values`` are the angles observed (RELATIVE mode) or
        ignored (positions)."""
        if self.obs_noise and not self._positional:
            values = values + self.obs_rng.normal(0.0, self.obs_noise, self.n)
        if self.observation == "rbf":
            return self.embedding(values, facing)
        hist, _ = m.neighbour_histograms(
            self.pos, values, facing, self.fov, self.bins, mode, self.box, self.radius, self.periodic,
            *self.cells(), self.ncx,
        )  # fmt: skip
        return hist

    def embedding(self, values: np.ndarray, facing: np.ndarray) -> np.ndarray:
        """The kernel mean embedding of the neighbours (``(N, obs_dim)``; ``_embed_kernels.neighbour_embedding``):
        of their relative angles ``values`` (widths: one bin), or of their relative positions (positional worlds,
        width: one grid step, position noise ``obs_noise * radius``)."""
        if self._positional:
            centres, mode = self._pos_centres, e.EMBED_POSITION
            width = 2.0 / (math.isqrt(len(centres)) - 1)
            shift = np.zeros((self.n, 2))
            if self.obs_noise:
                shift = self.obs_rng.normal(0.0, self.obs_noise * self.radius, (self.n, 2))
        else:
            centres, mode, width = self._angle_centres, e.EMBED_ANGLE, 2 * math.pi / self.bins
            shift = np.zeros((1, 2))  # read only for positions
        emb, _ = e.neighbour_embedding(
            self.pos, values, facing, shift, self.fov, centres, width, mode, self.box, self.radius, self.periodic,
            *self.cells(), self.ncx,
        )  # fmt: skip
        return emb

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
        labels = m.cluster_labels(self.pos, self.box, r, self.periodic, *k.build_cells(self.pos, self.box, ncx), ncx)
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
        *,
        observation: str = "histogram",
        obs_noise: float = 0.0,
    ):
        super().__init__(agents, box, radius, periodic, bins, fov, dt, observation, obs_noise)
        self.speed = _check("speed", speed, 0.0, "give a finite speed >= 0", strict=False)
        self.eta = _check("eta", eta, 0.0, "give the noise amplitude in [0, 2 pi]", strict=False, high=2 * math.pi)
        self.coupling = _check("coupling", coupling, 0.0, "give an alignment weight in [0, 1]", strict=False, high=1.0)
        self.max_turn = _check("max_turn", max_turn, 0.0, "give a finite turn-rate bound >= 0", strict=False)
        self.head = np.zeros((self.n, 2))  # headings as unit vectors (cos theta, sin theta): no trig in the step
        self.head[:, 0] = 1.0
        # the step's scratch: agents in cell order as records (x, y, head) ``(N, 4)``, their neighbour sums ``(N, 2)``
        # and the turns' sin and cos ``(2, N)``: views of one block (``_kernels.vicsek_step_into`` takes the block)
        self._scratch = np.empty((8, self.n))
        flat = self._scratch.reshape(-1)
        self._p = flat[: 4 * self.n].reshape(self.n, 4)
        self._acc = flat[4 * self.n : 6 * self.n].reshape(self.n, 2)
        self._rot = flat[6 * self.n :].reshape(2, self.n)
        self._part = np.empty((v.CHUNKS, 2))
        self._noise = np.empty(self.n)
        self._still = np.zeros(self.n)

    @property
    def theta(self) -> np.ndarray:
        """Headings (radians, ``[-pi, pi]``), from the unit vectors ``head``."""
        return np.arctan2(self.head[:, 1], self.head[:, 0])

    @theta.setter
    def theta(self, value: np.ndarray) -> None:
        value = np.asarray(value, dtype=float)
        self.head = np.stack([np.cos(value), np.sin(value)], axis=1)

    def reset(self, seed: int) -> SwarmStep:
        self._reset_positions(seed)
        self.theta = self.rng.uniform(-math.pi, math.pi, self.n)
        return SwarmStep(self.order(), self.observe())

    def order(self) -> float:
        return float(k.vector_order(self.head))

    def observe(self) -> np.ndarray:
        theta = self.theta
        return self._histograms(theta, theta, m.HIST_RELATIVE)

    def step(self, actions: np.ndarray | None = None, observe: bool = True) -> SwarmStep:
        """``actions``: ``(N,)`` turn rates (rad/s), clipped to ``max_turn``."""
        turn = self._still if actions is None else self._actions(actions, (self.n,), self.max_turn, "turn rates")
        noise, shift, scale = self._still, 0.0, 0.0
        if self.eta:  # uniform draws into a preallocated array; the kernel takes (u - 0.5) * eta: [-eta/2, eta/2)
            noise, shift, scale = self.rng.random(out=self._noise), 0.5, self.eta
        # fresh state arrays each step (a caller's snapshot of ``pos`` / ``head`` stays valid); scratch is reused
        new_pos, new_head = np.empty((self.n, 2)), np.empty((self.n, 2))
        # the cell lists of the current positions built with the gather into cell order (one pass), into the buffer
        # set that ``self._cells`` does not hold
        self._cell_buf.reverse()
        cells, start = self._cell_buf[0]
        v.sort_into(self.pos, self.head, self.box, self.ncx, self._cell_scratch, cells, start, self._p)
        order = v.advance(
            self._p, self._acc, self._rot, cells, start, self.ncx, turn, noise, shift, scale, self.box, self.radius,
            self.speed, self.dt, self.coupling, self.periodic, self.n >= k.VICSEK_PARALLEL_MIN_AGENTS, self._part,
            new_pos, new_head,
        )  # fmt: skip
        self.pos, self.head = new_pos, new_head
        self._cells = None
        return SwarmStep(float(order), self.observe() if observe else None)


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
        *,
        observation: str = "histogram",
        obs_noise: float = 0.0,
    ):
        super().__init__(agents, box, radius, periodic, bins, 2 * math.pi, dt, observation, obs_noise)
        self.coupling = _check("coupling", coupling, -math.inf, "give a finite coupling strength")
        self.omega_mean = _check("omega_mean", omega_mean, -math.inf, "give a finite mean frequency")
        self.omega_std = _check("omega_std", omega_std, 0.0, "give a finite frequency spread >= 0", strict=False)
        self.sigma = _check("sigma", sigma, 0.0, "give a finite phase noise >= 0", strict=False)
        self.max_dfreq = _check("max_dfreq", max_dfreq, 0.0, "give a finite bound >= 0", strict=False)
        self.phase = np.zeros(self.n)
        self.omega = np.zeros(self.n)
        self._zero = np.zeros(self.n)
        self._noise = np.empty(self.n)
        # cos/sin of the phases in cell order, kept between steps; valid while the cell lists and the phase array are
        # the ones the last step saw
        self._trig = (np.empty((2, self.n)), np.empty((2, self.n)))
        self._seen: tuple | None = None
        # every agent's neighbours (compressed rows in cell order, ``_pair_kernels.neighbour_lists``) for the cells
        # they were built from: stepping sums over them without a distance check
        self._lists: tuple | None = None

    @property
    def phase(self) -> np.ndarray:
        """Phases (radians, ``[-pi, pi)``); read-only: assign a new array to change them."""
        return self._phase

    @phase.setter
    def phase(self, value: np.ndarray) -> None:
        self._adopt(np.array(value, dtype=float))
        self._seen = None

    def _adopt(self, phase: np.ndarray) -> None:
        """Take ``phase`` (a fresh array the world owns) as the phases: the kernels read it writable (the one type
        they are compiled for, as the Vicsek headings and the tests pass), callers get a read-only view of it."""
        self._phase_w = phase
        self._phase = phase.view()
        self._phase.flags.writeable = False

    def reset(self, seed: int) -> SwarmStep:
        self._reset_positions(seed)
        self.phase = self.rng.uniform(-math.pi, math.pi, self.n)
        self.omega = self.rng.normal(self.omega_mean, self.omega_std, self.n)
        return SwarmStep(self.order(), self.observe())

    def order(self) -> float:
        return float(m.polar_order(self._phase_w))

    def observe(self) -> np.ndarray:
        return self._histograms(self._phase_w, self._zero, m.HIST_RELATIVE)

    def step(self, actions: np.ndarray | None = None, observe: bool = True) -> SwarmStep:
        """``actions``: ``(N,)`` frequency adjustments (rad/s), clipped to ``max_dfreq``."""
        control = self._zero
        if actions is not None:
            control = self._actions(actions, (self.n,), self.max_dfreq, "frequency adjustments")
        noise = self._zero
        if self.sigma:  # N(0, sigma^2 dt), drawn into a preallocated array
            noise = self.rng.standard_normal(out=self._noise)
            noise *= self.sigma * math.sqrt(self.dt)
        cells = self.cells()
        if self._lists is None or self._lists[0] is not cells:  # the agents do not move: lists built once
            first, nbr = p.neighbour_lists(self.pos[cells[0], 0].copy(), self.pos[cells[0], 1].copy(), cells[1],
                                           self.ncx, self.box, self.radius, self.periodic)  # fmt: skip
            self._lists = (cells, first, nbr)
        _, first, nbr = self._lists
        fresh = self._seen is not None and self._seen[0] is cells and self._seen[1] is self._phase
        out = np.empty(self.n)
        order = p.kuramoto_step_lists(
            self._phase_w, self.omega, control, noise, self.coupling, self.dt, cells[0], first, nbr, self._trig[0],
            fresh, self.n >= k.PARALLEL_MIN_AGENTS, out, self._trig[1],
        )  # fmt: skip
        self._adopt(out)  # callers see it read-only: the cached cos/sin belong to this array, no change in place
        self._trig = (self._trig[1], self._trig[0])
        self._seen = (cells, self._phase)
        return SwarmStep(float(order), self.observe() if observe else None)


class AggregationWorld(_SwarmWorld):
    """Agents following velocity commands (speed capped at ``vmax``) with position noise ``sigma * sqrt(dt) *
    N(0, 1)`` per axis. Order: mean distance to the centroid (lower is more aggregated); ``largest_cluster()``
    gives the largest-cluster fraction. Observation: bearings of the neighbours (absolute, east = 0; histogram), or
    their relative positions (``observation="rbf"``)."""

    _positional = True

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
        *,
        observation: str = "histogram",
        obs_noise: float = 0.0,
    ):
        super().__init__(agents, box, radius, periodic, bins, 2 * math.pi, dt, observation, obs_noise)
        self.vmax = _check("vmax", vmax, 0.0, "give a finite speed bound >= 0", strict=False)
        self.sigma = _check("sigma", sigma, 0.0, "give a finite position noise >= 0", strict=False)
        self._zero = np.zeros(self.n)
        self._still = np.zeros((self.n, 2))

    def reset(self, seed: int) -> SwarmStep:
        self._reset_positions(seed)
        return SwarmStep(self.order(), self.observe())

    def order(self) -> float:
        return float(m.centroid_distance(self.pos, self.box, self.periodic))

    def observe(self) -> np.ndarray:
        return self._histograms(self._zero, self._zero, m.HIST_BEARING)

    def step(self, actions: np.ndarray | None = None, observe: bool = True) -> SwarmStep:
        """``actions``: ``(N, 2)`` velocities; each agent's speed is capped at ``vmax``."""
        velocity = self._actions(actions, (self.n, 2), math.inf, "velocities")
        noise = self.rng.normal(0.0, self.sigma * math.sqrt(self.dt), (self.n, 2)) if self.sigma else self._still
        self.pos = k.aggregation_step(self.pos, velocity, noise, self.box, self.vmax, self.dt, self.periodic)
        self._cells = None
        return SwarmStep(self.order(), self.observe() if observe else None)
