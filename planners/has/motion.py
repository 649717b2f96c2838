"""How members move: lifelong PIBT (the MAPF planners' kernels, :mod:`fleetmind.planners.mapf`) on the known free
cells, toward the goals their leader (or baseline) gave them. No LLM in this loop.

The motion map is rebuilt every ``refresh_every`` steps, at once when a robot lies outside it, and when a goal does,
at most every ``min_rebuild`` steps (meanwhile that robot keeps its last goal); known free cells never turn into
walls, so a stale map only misses shortcuts. Priorities grow by one each step a robot
is away from its goal, as in :class:`fleetmind.planners.mapf.pibt.PibtCore`.
"""

from __future__ import annotations

import numpy as np
from fleetmind.planners.has._motion_kernels import (
    frame_known,
    goal_rows,
    move_step,
    off_map,
    pibt_move_into,
    update_neighbours,
)
from fleetmind.planners.mapf._kernels import neighbour_table


class GoalFields:
    """Cost-to-go rows (``pool``: ``(K, H*W)`` uint16, or uint32 on maps over 65,536 cells; unreached: the dtype's
    maximum) per goal cell on one snapshot of the known map, each written in place by :func:`bfs_fields` only as far
    as the robots heading there need: ``margin`` steps beyond the farthest of them. A row is searched again, farther,
    when one of its robots stands where its neighbours may lie beyond the row's exact part (pushed away, or a robot
    new to the goal), so PIBT always reads exact distances around every robot. Rows of goals nobody uses any more are
    reused when the pool is full; it doubles when the goals in use outnumber it. :meth:`reset` starts over on a new
    snapshot keeping the pool (every row is rewritten whole before it is read)."""

    def __init__(self, known: np.ndarray, h: int, w: int, capacity: int, margin: int = 6) -> None:
        self.h, self.w = h, w
        self.margin = margin
        dtype = np.uint16 if h * w <= 65_536 else np.uint32
        self.pool = np.empty((max(capacity, 4), h * w), dtype=dtype)
        self.top = int(np.iinfo(dtype).max)
        self.slot = np.full(h * w, -1, dtype=np.int64)  # goal cell -> its row (-1: none)
        self.goal_of = np.full(self.pool.shape[0], -1, dtype=np.int64)  # row -> its goal cell (-1: spare)
        self.bound = np.zeros(self.pool.shape[0], dtype=np.int64)
        self.span = np.tile(np.array([0, h * w], dtype=np.int64), (self.pool.shape[0], 1))  # rows not yet written
        self.queue = np.empty((2, (h + 2) * (w + 2)), dtype=np.uint32)  # the searches' scratch
        self.framed = np.ones((h + 2) * (w + 2), dtype=np.int8)  # the snapshot framed by a wall (frame_known)
        self.mark = np.zeros(h * w, dtype=np.int64)  # goal_rows' scratch (left all 0)
        self.computed = 0
        self.reset(known)

    def reset(self, known: np.ndarray) -> None:
        """A new snapshot of the known map (``(H*W,)``, 0 free): every row is forgotten."""
        self.known = np.ascontiguousarray(known, dtype=np.int8).copy()
        frame_known(self.known, self.h, self.w, self.framed)
        self.slot[self.goal_of[self.goal_of >= 0]] = -1
        self.goal_of[:] = -1

    @property
    def row_of(self) -> dict[int, int]:
        """Goal cell -> row, for the goals that hold a row."""
        rows = np.flatnonzero(self.goal_of >= 0)
        return dict(zip(self.goal_of[rows].tolist(), rows.tolist(), strict=True))

    def rows(self, goals: np.ndarray, pos: np.ndarray | None = None) -> np.ndarray:
        """``(M,) int64`` goal cells (>= 0) of robots at cells ``pos`` (``None``: whole rows) -> ``(M,) int64`` rows."""
        goals = np.asarray(goals, dtype=np.int64)
        pos = np.zeros(0, dtype=np.int64) if pos is None else np.asarray(pos, dtype=np.int64)
        while True:
            rows, searched, shortfall = goal_rows(
                goals, pos, self.slot, self.goal_of, self.bound, self.span, self.pool, self.framed, self.h, self.w,
                self.margin, self.queue, self.mark,
            )  # fmt: skip
            if shortfall == 0:
                break
            while shortfall > 0:  # the pool doubles until the goals in use fit
                size = self.pool.shape[0]
                self.pool = np.concatenate([self.pool, np.empty_like(self.pool)])
                self.bound = np.concatenate([self.bound, np.zeros(size, dtype=np.int64)])
                self.span = np.concatenate([self.span, np.tile(np.array([0, self.h * self.w]), (size, 1))])
                self.goal_of = np.concatenate([self.goal_of, np.full(size, -1, dtype=np.int64)])
                shortfall -= size
        self.computed += int(searched)
        return rows


class Motion:
    def __init__(self, h: int, w: int, seed: int = 0, refresh_every: int = 25, min_rebuild: int = 4) -> None:
        self.h, self.w = h, w
        self.refresh_every = refresh_every
        self.min_rebuild = min_rebuild
        self.rng = np.random.default_rng(seed)
        self.free: np.ndarray | None = None
        self.nbr: np.ndarray | None = None
        self.cache: GoalFields | None = None
        self.built = -(10**9)
        # PIBT's occupancy tables, kept across steps (left all -1 / 0 by each call)
        self.occ = np.full((2, h * w), -1, dtype=np.int64)
        self.count = np.zeros(h * w, dtype=np.int64)
        # per robot id: the priority and the goal of the last step (-1: none yet)
        self.prio = np.zeros(0, dtype=np.float64)
        self.last = np.zeros(0, dtype=np.int64)

    @property
    def priority(self) -> dict[int, float]:
        seen = np.flatnonzero(self.last >= 0)
        return dict(zip(seen.tolist(), self.prio[seen].tolist(), strict=True))

    @property
    def last_goal(self) -> dict[int, int]:
        seen = np.flatnonzero(self.last >= 0)
        return dict(zip(seen.tolist(), self.last[seen].tolist(), strict=True))

    def _rebuild(self, known: np.ndarray, step: int, agents: int) -> None:
        blocked = np.ascontiguousarray((known != 0).reshape(self.h, self.w))
        free = ~blocked.ravel()
        if self.nbr is None or self.free is None:
            self.nbr = neighbour_table(blocked)
        else:  # only cells whose status changed (and their neighbours) get new rows
            update_neighbours(self.nbr, blocked.ravel(), self.h, self.w, np.flatnonzero(free != self.free))
        self.free = free
        if self.cache is None:
            self.cache = GoalFields(blocked.ravel(), self.h, self.w, agents + 16)
        else:
            self.cache.reset(blocked.ravel())
        self.built = step

    def prepare(self, known: np.ndarray, robots: np.ndarray, pos: np.ndarray, goal: np.ndarray, step: int) -> None:
        """Rebuild the motion map if due (see the module) and grow the per-id tables to ``robots``."""
        stale = self.free is None or step - self.built >= self.refresh_every
        robot_off, goal_off = (True, False) if self.free is None else off_map(self.free, pos, goal)
        if stale or robot_off or (goal_off and step - self.built >= self.min_rebuild):
            self._rebuild(known, step, len(pos))
        top = int(robots.max()) + 1
        if top > len(self.last):
            grow = top - len(self.last)
            self.prio = np.concatenate([self.prio, np.zeros(grow)])
            self.last = np.concatenate([self.last, np.full(grow, -1, dtype=np.int64)])

    def actions(
        self, known: np.ndarray, robots: np.ndarray, pos: np.ndarray, goal: np.ndarray, step: int
    ) -> np.ndarray:
        """``(M,) int64`` conflict-free POGEMA actions of robots ``robots`` (their ids, for priorities) at cells
        ``pos`` toward cells ``goal`` (``(M,) int64``; a goal off the known free cells counts as staying)."""
        m = len(pos)
        if m == 0:
            return np.zeros(0, dtype=np.int64)
        self.prepare(known, robots, pos, goal, step)
        assert self.cache is not None and self.nbr is not None and self.free is not None
        # a goal the map does not hold yet (rebuilt at most every min_rebuild steps): keep the last goal meanwhile;
        # a new goal, or there: priority starts again (ties by id)
        noise = self.rng.random((m, 5)) * 0.975
        occ_now, occ_next = self.occ
        c = self.cache
        slots, goal, searched, short = move_step(
            self.free, robots, pos, goal, self.prio, self.last, c.slot, c.goal_of, c.bound, c.span, c.pool, c.framed,
            self.h, self.w, c.margin, c.queue, c.mark, self.nbr, noise, occ_now, occ_next, self.count,
        )  # fmt: skip
        c.computed += int(searched)
        if short == 0:
            return slots
        # the pool lacks rows (goals in use outnumber it): grow it, then the same step as prioritise + rows + PIBT
        ranked = np.argsort(-self.prio[robots], kind="mergesort").astype(np.int64)
        rows = c.rows(goal, pos)
        return pibt_move_into(
            pos, self.nbr, c.pool, rows, noise, 0.5, ranked, goal, True, occ_now, occ_next, self.count
        )
