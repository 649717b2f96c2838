"""The exploration world's core: robots on an :class:`~fleetmind.tasks.has.maps.ExploreMap`, POGEMA moves (soft
collisions, as in lifelong MAPF), sensing with line of sight, coverage. Pure arrays, no Fleet wrapping
(:mod:`fleetmind.sim.explore.fleet` does that), so benchmarks drive it directly.

Robots ``0 .. robots-1`` start online, packed around one seeded base cell (the cells nearest to it); the
``reserve`` robots after them start offline (position ``(-1, -1)``) and come online through :meth:`join`.
"""

from __future__ import annotations

import numpy as np
from fleetmind.robots.errors import BadInputError
from fleetmind.sim.explore._kernels import ray_templates, sense_moved, step_world
from fleetmind.tasks.has.maps import ExploreMap
from fleetmind.tasks.mapf_lifelong._kernels import DC, DR, bfs_distances

OFF = -1


class ExploreWorld:
    """``pos``: ``(N, 2) int64`` (row, col), ``(-1, -1)`` when offline; ``active``: ``(N,) bool``;
    ``covered``: ``(H*W,) bool`` cells anyone has sensed; ``sensed``: robot-cell sightings so far; ``fresh``: the
    cells first sensed by the last step (what a shared map must merge; everything else it knows already).

    Only robots that moved (or came online) sense again: on the static map a robot that stays sees what it saw."""

    def __init__(self, emap: ExploreMap, robots: int, radius: int, reserve: int = 0) -> None:
        if robots < 1 or robots + reserve > emap.free_count // 2:
            raise BadInputError(
                f"robots: map {emap.name} has {emap.free_count} free cells; {robots} robots (+{reserve} reserve) do "
                "not fit (use fewer robots or a larger map)"
            )
        self.emap = emap
        self.blocked = np.ascontiguousarray(emap.blocked)  # the sensing kernel reads it flat
        # a writable copy for bfs_distances, compiled for the writable maps the MAPF planners pass (one type)
        self._bfs_blocked = np.array(self.blocked)
        self.h, self.w = emap.shape
        self.robots, self.reserve, self.radius = robots, reserve, radius
        self.num = robots + reserve
        self.free_total = emap.free_count
        self.pos = np.full((self.num, 2), OFF, dtype=np.int64)
        self.active = np.zeros(self.num, dtype=np.bool_)
        self.covered = np.zeros(self.h * self.w, dtype=np.bool_)
        self.covered_free = 0
        self.sensed = 0
        self.collisions = 0
        self.base = (0, 0)
        self.start_dist: np.ndarray | None = None
        self.rng = np.random.default_rng(0)
        side = 2 * radius + 1
        self.cells = np.full((self.num, side * side), -1, dtype=np.int64)
        self.counts = np.zeros(self.num, dtype=np.int64)
        self.fresh = np.zeros(0, dtype=np.int64)
        self._fresh = np.empty(self.h * self.w, dtype=np.int64)
        self._templates = ray_templates(radius)
        self._flat_blocked = self.blocked.ravel()
        self._sensed_at = np.full((self.num, 2), OFF, dtype=np.int64)  # where each row of ``cells`` was sensed
        pad = (self.h + 2) * (self.w + 2)  # soft-collision scratch, zero between steps
        self._lists = np.empty((pad, 8), dtype=np.int64)
        self._slots = np.zeros(pad, dtype=np.int64)
        self._edges = np.zeros(pad * 5, dtype=np.int64)

    def reset(self, seed: int) -> None:
        self.rng = np.random.default_rng([seed, 7])
        free = np.flatnonzero(~self.blocked.ravel())
        base = int(free[self.rng.integers(len(free))])
        self.base = divmod(base, self.w)
        dist = bfs_distances(self._bfs_blocked, self.base[0], self.base[1]).ravel()
        self.start_dist = dist
        order = np.argsort(dist, kind="stable")[: self.robots]
        self.pos[:] = OFF
        self.active[:] = False
        self.pos[: self.robots] = np.stack(np.divmod(order, self.w), axis=1)
        self.active[: self.robots] = True
        self.covered[:] = False
        self.covered_free = 0
        self.sensed = 0
        self.collisions = 0
        self._sensed_at[:] = OFF
        self.sense()

    def sense(self) -> None:
        """Every online robot senses (``self.cells``/``self.counts``, as :func:`sense_all`: robots that did not move
        keep their rows); coverage grows and ``fresh`` lists the cells sensed for the first time."""
        moved = (self.pos != self._sensed_at).any(axis=1) | ~self.active
        rows, cols = self.pos[:, 0].copy(), self.pos[:, 1].copy()
        n, sightings = sense_moved(
            self.blocked, rows, cols, self.active, moved, self._templates, self.covered, self.cells, self.counts,
            self._fresh,
        )  # fmt: skip
        self._sensed_at[:] = np.where(self.active[:, None], self.pos, OFF)
        self.fresh = self._fresh[:n].copy()
        self.sensed += int(sightings)
        self.covered_free += int(n - self._flat_blocked[self.fresh].sum())

    def seen_mask(self) -> np.ndarray:
        """``(H*W,) bool`` cells visible this step (any robot)."""
        mask = np.zeros(self.h * self.w, dtype=np.bool_)
        mask[self.cells[self.cells >= 0]] = True
        return mask

    @property
    def coverage(self) -> float:
        return self.covered_free / self.free_total

    @property
    def redundancy(self) -> float:
        """Robot-cell sightings per distinct cell sensed (1.0: nothing seen twice)."""
        return self.sensed / max(1, int(self.covered.sum()))

    def walls(self) -> np.ndarray:
        """``(N, 4) bool``: whether each robot's up/down/left/right neighbour is a wall or off the map (what it
        senses next to it); offline robots: all True."""
        out = np.ones((self.num, 4), dtype=np.bool_)
        for k in range(4):
            r, c = self.pos[:, 0] + DR[k + 1], self.pos[:, 1] + DC[k + 1]
            inside = (r >= 0) & (r < self.h) & (c >= 0) & (c < self.w) & self.active
            out[inside, k] = self.blocked[r[inside], c[inside]]
        return out

    def step(self, actions: np.ndarray) -> np.ndarray:
        """Apply ``(N,) int`` POGEMA actions (offline robots must wait) under the soft collision rules; counts the
        vertex/swap conflicts among what was asked (``collisions``: the shield keeps it 0), then senses. Returns the
        executed actions."""
        acts = np.ascontiguousarray(actions, dtype=np.int64)
        executed, conflicts, n, sightings, free = step_world(
            self.blocked, self.pos, self.active, acts, self._templates, self.covered, self.cells, self.counts,
            self._fresh, self._sensed_at, self._lists, self._slots, self._edges,
        )  # fmt: skip
        self.collisions += int(conflicts)
        self.fresh = self._fresh[:n].copy()
        self.sensed += int(sightings)
        self.covered_free += int(free)
        return executed

    def drop(self, robots: np.ndarray) -> None:
        """Take ``robots`` offline (they leave the map)."""
        self.active[robots] = False
        self.pos[robots] = OFF

    def join(self, robots: np.ndarray) -> None:
        """Bring offline ``robots`` online at seeded free cells at least ``2 radius`` from every online robot
        (elsewhere on the map); nearer ones when the map has no such cells."""
        free = np.flatnonzero(~self.blocked.ravel())
        on = self.pos[self.active]
        fr, fc = np.divmod(free, self.w)
        if len(on):
            far = np.min(np.abs(fr[:, None] - on[None, :, 0]) + np.abs(fc[:, None] - on[None, :, 1]), axis=1)
            pool = free[far >= 2 * self.radius]
            if len(pool) < len(robots):
                pool = free[far > 0]
        else:
            pool = free
        spot = int(pool[self.rng.integers(len(pool))])
        dist = bfs_distances(self._bfs_blocked, spot // self.w, spot % self.w).ravel()
        taken = set((self.pos[self.active, 0] * self.w + self.pos[self.active, 1]).tolist())
        cells = [int(c) for c in np.argsort(dist, kind="stable") if int(c) not in taken][: len(robots)]
        for robot, cell in zip(robots.tolist(), cells, strict=True):
            self.pos[robot] = divmod(cell, self.w)
            self.active[robot] = True
        self.sense()
