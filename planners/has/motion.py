"""How members move: lifelong PIBT (the MAPF planners' kernels, :mod:`fleetmind.planners.mapf`) on the known free
cells, toward the goals their leader (or baseline) gave them. No LLM in this loop.

The motion map is rebuilt every ``refresh_every`` steps, at once when a robot lies outside it, and when a goal does,
at most every ``min_rebuild`` steps (meanwhile that robot keeps its last goal); known free cells never turn into
walls, so a stale map only misses shortcuts. Priorities grow by one each step a robot
is away from its goal, as in :class:`fleetmind.planners.mapf.pibt.PibtCore`.
"""

from __future__ import annotations

import numpy as np
from fleetmind.planners.has._kernels import bfs_field
from fleetmind.planners.mapf._kernels import neighbour_table, pibt_preferences, pibt_step


class GoalFields:
    """Cost-to-go rows (``pool``: ``(K, H*W)`` uint16, or uint32 on maps over 65,536 cells; unreached: the dtype's
    maximum) per goal cell on one snapshot of the known map, each written in place by :func:`bfs_field` only as far
    as the robots heading there need: ``margin`` steps beyond the farthest of them. A row is searched again, farther,
    when one of its robots stands where its neighbours may lie beyond the row's exact part (pushed away, or a robot
    new to the goal), so PIBT always reads exact distances around every robot. Rows of goals nobody uses any more are
    reused when the pool is full; it doubles when the goals in use outnumber it."""

    def __init__(self, known: np.ndarray, h: int, w: int, capacity: int, margin: int = 6) -> None:
        self.known = np.ascontiguousarray(known, dtype=np.int8).copy()
        self.h, self.w = h, w
        self.margin = margin
        dtype = np.uint16 if h * w <= 65_536 else np.uint32
        self.pool = np.empty((max(capacity, 4), h * w), dtype=dtype)
        self.top = int(np.iinfo(dtype).max)
        self.row_of: dict[int, int] = {}
        self.bound = np.zeros(self.pool.shape[0], dtype=np.int64)
        self.spare = list(range(self.pool.shape[0]))
        self.computed = 0

    def rows(self, goals: np.ndarray, pos: np.ndarray | None = None) -> np.ndarray:
        """``(M,) int64`` goal cells of robots at cells ``pos`` (``None``: whole rows) -> ``(M,) int64`` rows."""
        goal_list = goals.tolist()
        if pos is None:
            pos = np.zeros(0, dtype=np.int64)
        if len(pos):  # a cached row must be exact around each of its robots
            rows = np.array([self.row_of.get(g, 0) for g in goal_list], dtype=np.int64)
            have = np.array([g in self.row_of for g in goal_list], dtype=bool)
            value = self.pool[rows, pos].astype(np.int64)
            short = have & ((value == self.top) | (value > self.bound[rows])) & (self.bound[rows] < 2**62)
            redo = list(dict.fromkeys(goals[short].tolist()))
        else:
            redo = []
        missing = list(dict.fromkeys(g for g in goal_list if g not in self.row_of))
        if len(missing) > len(self.spare):
            used = set(goal_list)
            for g in [g for g in self.row_of if g not in used]:
                self.spare.append(self.row_of.pop(g))
        while len(missing) > len(self.spare):
            size = self.pool.shape[0]
            self.pool = np.concatenate([self.pool, np.empty_like(self.pool)])
            self.bound = np.concatenate([self.bound, np.zeros(size, dtype=np.int64)])
            self.spare.extend(range(size, 2 * size))
        for g in missing:
            self.row_of[g] = self.spare.pop()
        for g in missing + redo:
            row = self.row_of[g]
            targets = pos[goals == g] if len(pos) else np.zeros(0, dtype=np.int64)
            self.bound[row] = bfs_field(self.known, self.h, self.w, g, self.pool[row], targets, self.margin)
        self.computed += len(missing) + len(redo)
        return np.array([self.row_of[g] for g in goal_list], dtype=np.int64)


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
        self.priority: dict[int, float] = {}
        self.last_goal: dict[int, int] = {}

    def _rebuild(self, known: np.ndarray, step: int, agents: int) -> None:
        blocked = np.ascontiguousarray((known != 0).reshape(self.h, self.w))
        self.free = ~blocked.ravel()
        self.nbr = neighbour_table(blocked)
        self.cache = GoalFields(np.where(self.free, 0, 1), self.h, self.w, agents + 16)
        self.built = step

    def actions(
        self, known: np.ndarray, robots: np.ndarray, pos: np.ndarray, goal: np.ndarray, step: int
    ) -> np.ndarray:
        """``(M,) int64`` conflict-free POGEMA actions of robots ``robots`` (their ids, for priorities) at cells
        ``pos`` toward cells ``goal`` (``(M,) int64``; a goal off the known free cells counts as staying)."""
        m = len(pos)
        if m == 0:
            return np.zeros(0, dtype=np.int64)
        stale = self.free is None or step - self.built >= self.refresh_every
        outside = self.free is not None and not self.free[goal[goal >= 0]].all()
        if stale or not self.free[pos].all() or (outside and step - self.built >= self.min_rebuild):  # type: ignore[index]
            self._rebuild(known, step, m)
        assert self.cache is not None and self.nbr is not None and self.free is not None
        # a goal the map does not hold yet (rebuilt at most every min_rebuild steps): keep the last goal meanwhile
        last = np.array([self.last_goal.get(r, -1) for r in robots.tolist()], dtype=np.int64)
        ok = (goal >= 0) & self.free[np.maximum(goal, 0)]
        ok_last = (last >= 0) & self.free[np.maximum(last, 0)]
        goal = np.where(ok, goal, np.where(ok_last, last, pos)).astype(np.int64)
        prio = np.empty(m)
        for k, (r, g, p) in enumerate(zip(robots.tolist(), goal.tolist(), pos.tolist(), strict=True)):
            rest = self.last_goal.get(r) != g or p == g
            self.priority[r] = (r % 97) * 1e-4 if rest else self.priority.get(r, 0.0) + 1.0
            self.last_goal[r] = g
            prio[k] = self.priority[r]
        rows = self.cache.rows(goal, pos)
        noise = self.rng.random((m, 5)) * 0.975
        order = pibt_preferences(pos, self.nbr, self.cache.pool, rows, noise, 0.5)
        ranked = np.argsort(-prio, kind="stable").astype(np.int64)
        return pibt_step(pos, order, self.nbr, ranked, self.nbr.shape[0], goal, self.cache.pool, rows, True)
