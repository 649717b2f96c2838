"""Shared pieces of the MAPF planners: cost-to-go cache per goal, static centrality, map from observations."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from fleetmind.planners.mapf._heuristic_kernels import cost_classes, multiqueue_rows, multiqueue_rows_parallel
from fleetmind.planners.mapf._kernels import neighbour_table
from fleetmind.robots.commands import Command
from fleetmind.robots.fleet import Observation
from fleetmind.robots.ids import RobotId
from fleetmind.robots.planner import Planner
from fleetmind.tasks.mapf_lifelong._kernels import bfs_distances
from fleetmind.tasks.mapf_lifelong.maps import parse_string_map
from fleetmind.tasks.mapf_lifelong.shield import settle_plan

_SCALE = 64.0  # cost units per step in the integer Dijkstra


class DistanceCache:
    """Exact cost-to-go per goal cell, kept as rows of ``pool`` (``(K, C)``): unit-cost BFS (uint16 on maps up to
    256x256, int32 beyond; unreachable cells hold the dtype's maximum), or with ``cell_cost`` (``(C,)``, >= 1,
    the cost of entering each cell) Dijkstra in float32 on costs rounded down to 1/64 step. Rows of goals no
    agent uses are evicted least recently used first.

    Rows are shared per goal cell, so memory is (distinct goals in use + LRU slack) x cells, never agents x cells;
    the pool grows in place only when more distinct goals are in use than ``capacity``. Rows of new goals come
    from :func:`multiqueue_rows` (exact, the same values as ``dijkstra_distances``), on ``threads`` threads when
    several are missing at once."""

    def __init__(
        self, blocked: np.ndarray, capacity: int, cell_cost: np.ndarray | None = None, threads: int = 1
    ) -> None:
        self.blocked = np.ascontiguousarray(blocked, dtype=np.bool_)
        h, w = blocked.shape
        self.width = w
        self.cell_cost = cell_cost
        self.nbr = neighbour_table(self.blocked) if cell_cost is not None else None
        # Dijkstra runs on integer costs (1/64 steps, rounded down: never above the true cost-to-go, so the
        # Follower's A* heuristic stays consistent)
        self.icost = np.floor(np.asarray(cell_cost) * _SCALE).astype(np.int64) if cell_cost is not None else None
        # the cost of entering each cell that the rows hold exactly (A* on it with these rows stays consistent)
        self.entry_cost = self.icost / _SCALE if self.icost is not None else np.ones(h * w)
        self.threads = threads
        self.computed = 0  # rows computed so far (misses), for benchmarks
        if self.icost is not None:
            self._klass = cost_classes(self.icost, self.blocked.ravel())
            self._nbr4 = np.ascontiguousarray(self.nbr[:, 1:], dtype=np.int32)
        if cell_cost is not None:
            self.dtype: type = np.float32
        else:
            self.dtype = np.uint16 if h * w <= 65_536 else np.int32  # a path never exceeds C - 1 steps
        self.pool = np.zeros((max(capacity, 4), h * w), dtype=self.dtype)
        self._row_of = np.full(h * w, -1, dtype=np.int64)  # goal cell -> its row, -1 if not cached
        self._goal_of = np.full(self.pool.shape[0], -1, dtype=np.int64)  # row -> its goal cell, -1 if free
        self._used = np.zeros(self.pool.shape[0], dtype=np.int64)  # row -> last call that asked for it
        self._calls = 0

    def rows(self, goals: np.ndarray) -> np.ndarray:
        """``(N,) int64`` goal cells -> ``(N,) int64`` rows of ``pool`` holding their cost-to-go."""
        goals = np.asarray(goals, dtype=np.int64)
        self._calls += 1
        out = self._row_of[goals]
        missing = out < 0
        if missing.any():
            new_goals = np.unique(goals[missing])
            new_rows = self._allocate(len(new_goals), goals)
            self.computed += len(new_goals)
            if self.icost is not None:
                values, klass, starts = self._klass
                if self.threads > 1 and len(new_goals) > 1:
                    threads = min(self.threads, len(new_goals))
                    args = (self._nbr4, values, klass, starts, new_goals, new_rows, self.pool, _SCALE, threads)
                    multiqueue_rows_parallel(*args)
                else:
                    multiqueue_rows(self._nbr4, values, klass, starts, new_goals, new_rows, self.pool, _SCALE)
            else:
                top = np.iinfo(self.dtype).max
                for g, row in zip(new_goals.tolist(), new_rows.tolist(), strict=True):
                    d = bfs_distances(self.blocked, g // self.width, g % self.width).ravel()
                    self.pool[row] = np.minimum(d, top)
            self._row_of[new_goals] = new_rows
            self._goal_of[new_rows] = new_goals
            out = self._row_of[goals]
        self._used[out] = self._calls
        return out

    def _allocate(self, count: int, keep: np.ndarray) -> np.ndarray:
        """``count`` rows: free ones first, then the least recently used rows whose goal is not in ``keep``; the
        pool doubles when that is not enough."""
        free = np.flatnonzero(self._goal_of < 0)
        if len(free) < count:
            never = np.iinfo(np.int64).max
            age = np.where(self._goal_of < 0, never, self._used)
            held = self._row_of[keep]
            age[held[held >= 0]] = never  # rows in use now stay
            oldest = np.argsort(age, kind="stable")[: count - len(free)]
            oldest = oldest[age[oldest] < never]
            self._row_of[self._goal_of[oldest]] = -1
            self._goal_of[oldest] = -1
            free = np.concatenate([free, oldest])
        while len(free) < count:
            size = self.pool.shape[0]
            self.pool = np.concatenate([self.pool, np.zeros_like(self.pool)])
            self._goal_of = np.concatenate([self._goal_of, np.full(size, -1, dtype=np.int64)])
            self._used = np.concatenate([self._used, np.zeros(size, dtype=np.int64)])
            free = np.concatenate([free, np.arange(size, 2 * size)])
        return free[:count]


_CENTRALITY: dict[tuple[bytes, tuple[int, int], int, int], np.ndarray] = {}


def static_centrality(blocked: np.ndarray, samples: int = 128, seed: int = 0) -> np.ndarray:
    """How often a cell lies on shortest paths between random free cells, scaled to [0, 1]; ``(C,) float64``.

    The static cost of the Follower and of guided PIBT: central corridors cost more, so traffic spreads out.
    Computed once per map (memoized; the result is read-only).
    """
    key = (np.ascontiguousarray(blocked, dtype=np.bool_).tobytes(), blocked.shape, samples, seed)
    if key not in _CENTRALITY:
        if len(_CENTRALITY) > 64:
            _CENTRALITY.clear()
        value = _centrality(blocked, samples, seed)
        value.flags.writeable = False
        _CENTRALITY[key] = value
    return _CENTRALITY[key]


def _centrality(blocked: np.ndarray, samples: int, seed: int) -> np.ndarray:
    h, w = blocked.shape
    free = np.flatnonzero(~blocked.ravel())
    counts = np.zeros(h * w)
    if len(free) < 2:
        return counts
    rng = np.random.default_rng(seed)
    nbr = neighbour_table(blocked)
    for _ in range(samples):
        a, b = rng.choice(free, size=2, replace=False)
        d = bfs_distances(blocked, int(b) // w, int(b) % w).ravel()
        if d[a] >= 2**30:
            continue
        c = int(a)
        while c != b:
            counts[c] += 1
            options = nbr[c, 1:]
            options = options[options >= 0]
            c = int(options[np.argmin(d[options])])
    top = counts.max()
    return counts / top if top > 0 else counts


def splitmix(seed: int, agent: np.ndarray, step: int) -> np.ndarray:
    """Per-agent uniform numbers in [0, 1) from (seed, agent, step) alone: ``(N,) float64``.

    Each agent's random choices depend on nothing but its own index, so they stay decentralized.
    """
    with np.errstate(over="ignore"):
        z = (np.uint64(seed) * np.uint64(0x9E3779B97F4A7C15)) ^ (
            agent.astype(np.uint64) * np.uint64(0xBF58476D1CE4E5B9)
        )
        z = z ^ (np.uint64(step + 1) * np.uint64(0x94D049BB133111EB))
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(11)).astype(np.float64) / float(2**53)


class MapPlanner(Planner):
    """Base of the MAPF planners: builds the planner's core from the observed static map on first use and
    again whenever the map changes; ``reset`` drops it so each episode starts from its own seed."""

    def __init__(self, task: str = "mapf_lifelong") -> None:
        self.task = task
        self.core: Any = None
        self._grid_text: str | None = None
        self._seed = 0

    def reset(self, observation: Observation, seed: int) -> None:
        self._seed = seed
        self.core = None

    @abstractmethod
    def make_core(self, blocked: np.ndarray, num_agents: int, seed: int) -> Any:
        """The planner's core for an obstacle map ``(H, W) bool``."""

    def replan(
        self, observation: Observation, plan: Mapping[RobotId, Command], violations: Sequence[str]
    ) -> dict[RobotId, Command]:
        """The shield refused vertex or swap conflicts: the agents in conflict wait, in POGEMA's own priority order
        and in cascade (the moves the soft-collision world would have carried out), until none is left."""
        return settle_plan(observation, plan)

    def core_for(self, observation: Observation) -> Any:
        text = observation.world["grid"]  # the static map only
        if self.core is None or text != self._grid_text:
            self.core = self.make_core(parse_string_map(text).obstacles, len(observation.robot_ids), self._seed)
            self._grid_text = text
        return self.core
