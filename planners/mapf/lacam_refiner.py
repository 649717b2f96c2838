"""LaCAM*'s refinement stage: large neighbourhood search on the incumbent one-shot solution with space-time A*
(``_refine_kernels.py``), its state kept between batches."""

from __future__ import annotations

import time

import numpy as np
from fleetmind.planners.mapf._refine_kernels import STRATEGIES, lns_refine, reserve

MAX_STATES = 20_000_000  # space-time states (16 bytes each: reservations and A* scratch); beyond, no refinement


def solution_soc(cells: np.ndarray, goal: np.ndarray) -> int:
    """The sum of costs (each agent's last arrival at its goal) of ``cells`` ``(T+1, N)``."""
    off = cells != goal[None, :]
    return int(np.where(off.any(axis=0), len(cells) - np.argmax(off[::-1], axis=0), 0).sum()) if off.size else 0


class Refiner:
    """The refinement stage's state: every agent's path to a horizon of 1.5x the incumbent's makespan (+16),
    the reservation table and A*'s scratch, kept between :func:`lns_refine` batches."""

    def __init__(self, cells: np.ndarray, goal: np.ndarray, dist: np.ndarray, nbr: np.ndarray, seed: int, group: int):
        self.goal, self.dist, self.nbr, self.group, self.seed = goal, dist, nbr, group, seed
        free = nbr[:, 0] >= 0
        hubs = np.flatnonzero(free & ((nbr[:, 1:] >= 0).sum(axis=1) >= 3))
        self.hubs = hubs if len(hubs) else np.flatnonzero(free)
        self.weights = np.ones(STRATEGIES)
        self.lower_bound = int(dist[np.arange(len(goal)), cells[0]].sum())
        self.calls = self.kept = self.tick = self.stall = 0
        self.stall_limit = max(2000, 20 * len(goal))  # neighbourhoods without a gain before it gives up
        self.iters = 16  # neighbourhoods per batch, adapted to about 10 ms per batch
        self.scratch_states = -1
        self._load(cells)

    @staticmethod
    def horizon(steps: int) -> int:
        makespan = steps - 1
        return makespan + max(makespan // 2, 16)

    @staticmethod
    def fits(steps: int, num_cells: int) -> bool:
        return (Refiner.horizon(steps) + 1) * num_cells <= MAX_STATES

    def _load(self, cells: np.ndarray) -> None:
        steps, n = cells.shape
        horizon = self.horizon(steps)
        c = self.nbr.shape[0]
        self.paths = np.empty((n, horizon + 1), dtype=np.int64)
        self.paths[:, :steps] = cells.T
        self.paths[:, steps:] = self.goal[:, None]
        off = self.paths != self.goal[:, None]
        self.arrival = np.where(off.any(axis=1), horizon + 1 - np.argmax(off[:, ::-1], axis=1), 0).astype(np.int64)
        self.res = np.full((horizon + 1, c), -1, dtype=np.int32)
        reserve(self.paths, self.res)
        states = (horizon + 1) * c
        if states != self.scratch_states:
            self.scratch_states = states
            self.parent = np.empty(states, dtype=np.int32)
            self.stamp = np.zeros(states, dtype=np.int32)
            self.link = np.empty(states, dtype=np.int32)
            self.head = np.empty(horizon + c + 2, dtype=np.int32)
            self.tick = 0

    @property
    def sum_of_costs(self) -> int:
        return int(self.arrival.sum())

    @property
    def stalled(self) -> bool:
        return self.sum_of_costs <= self.lower_bound or self.stall >= self.stall_limit

    def run(self, until: float) -> None:
        """LNS batches until ``until`` (``time.perf_counter()``) or until it stalls."""
        while not self.stalled and (now := time.perf_counter()) < until:
            kept, self.tick = lns_refine(
                self.paths, self.arrival, self.res, self.goal, self.dist, self.nbr, self.hubs, self.weights,
                self.iters, self.group, (self.seed * 1_000_003 + self.calls) % 2**32, self.tick, self.parent,
                self.stamp, self.link, self.head,
            )  # fmt: skip
            self.calls += 1
            self.kept += kept
            self.stall = 0 if kept else self.stall + self.iters
            took = time.perf_counter() - now
            if took < 0.005:
                self.iters *= 2
            elif took > 0.02 and self.iters > 1:
                self.iters //= 2

    def adopt(self, cells: np.ndarray) -> bool:
        """Refine ``cells`` (``(T+1, N)``) from now on if its sum of costs is lower than the incumbent's."""
        if solution_soc(cells, self.goal) < self.sum_of_costs and self.fits(len(cells), self.nbr.shape[0]):
            self._load(cells)
            self.stall = 0
            return True
        return False

    def cells(self) -> np.ndarray:
        """The incumbent: ``(T+1, N) int64`` cells up to its makespan."""
        return np.ascontiguousarray(self.paths[:, : int(self.arrival.max()) + 1].T)
