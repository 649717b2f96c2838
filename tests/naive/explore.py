"""Twins of ``fleetmind.sim.explore._kernels``: line of sight by the textbook Bresenham line, as lists and sets."""

from __future__ import annotations

import numpy as np
from fleetmind.planners.has import _motion_kernels
from fleetmind.planners.has._kernels import bfs_fields
from fleetmind.planners.has._kernels import frontier_cells as frontier_cells_kernel
from fleetmind.planners.has.frontier import assign, cluster_costs, frontiers, slack_for
from fleetmind.planners.has.motion import GoalFields, Motion
from fleetmind.sim.explore import ExploreWorld
from fleetmind.sim.explore._kernels import count_conflicts
from fleetmind.tasks.mapf_lifelong._kernels import DC, DR, soft_resolve_scratch


def bresenham(r0: int, c0: int, r1: int, c1: int) -> list[tuple[int, int]]:
    """Every cell of the line from ``(r0, c0)`` to ``(r1, c1)``, both ends included."""
    cells = []
    dr, dc = abs(r1 - r0), abs(c1 - c0)
    sr, sc = (1 if r1 > r0 else -1), (1 if c1 > c0 else -1)
    err = dc - dr
    r, c = r0, c0
    while True:
        cells.append((r, c))
        if (r, c) == (r1, c1):
            return cells
        e2 = 2 * err
        if e2 > -dr:
            err -= dr
            c += sc
        if e2 < dc:
            err += dc
            r += sr


def visible(blocked: np.ndarray, r0: int, c0: int, radius: int) -> list[int]:
    """Row-major indices of the cells visible from ``(r0, c0)``, sorted."""
    h, w = blocked.shape
    out = []
    for r in range(h):
        for c in range(w):
            if (r - r0) ** 2 + (c - c0) ** 2 > radius**2:
                continue
            between = bresenham(r0, c0, r, c)[1:-1]
            if not any(blocked[cell] for cell in between):
                out.append(r * w + c)
    return out


def frontier_cells(known: np.ndarray, h: int, w: int) -> list[int]:
    """Known free cells (code 0) with an unknown (-1) 4-neighbour inside the map."""
    out = []
    for r in range(h):
        for c in range(w):
            if known[r * w + c] != 0:
                continue
            nbrs = [(r + dr, c + dc) for dr, dc in ((-1, 0), (1, 0), (0, -1), (0, 1))]
            if any(0 <= a < h and 0 <= b < w and known[a * w + b] == -1 for a, b in nbrs):
                out.append(r * w + c)
    return out


def bfs_known(known: np.ndarray, h: int, w: int, source: int) -> dict[int, int]:
    """Step distances over known free cells from ``source`` (cells not reached are absent)."""
    from collections import deque

    if known[source] != 0:
        return {}
    dist = {source: 0}
    queue = deque([source])
    while queue:
        cell = queue.popleft()
        r, c = divmod(cell, w)
        for a, b in ((r - 1, c), (r + 1, c), (r, c - 1), (r, c + 1)):
            nxt = a * w + b
            if 0 <= a < h and 0 <= b < w and known[nxt] == 0 and nxt not in dist:
                dist[nxt] = dist[cell] + 1
                queue.append(nxt)
    return dist


def assignment_cost(cost: np.ndarray) -> float:
    """The least total cost of giving each row its own column, by trying every choice (small matrices only)."""
    from itertools import permutations

    rows, cols = cost.shape
    return min(sum(cost[i, p[i]] for i in range(rows)) for p in permutations(range(cols), rows))


def label_frontier(cells: list[int], h: int, w: int) -> list[int]:
    """4-connected clusters of ``cells`` (sorted), numbered by their first cell, by flood fill over a set."""
    label: dict[int, int] = {}
    members = set(cells)
    for start in cells:
        if start in label:
            continue
        current = len(set(label.values()))
        stack = [start]
        label[start] = current
        while stack:
            r, c = divmod(stack.pop(), w)
            for a, b in ((r - 1, c), (r + 1, c), (r, c - 1), (r, c + 1)):
                nxt = a * w + b
                if 0 <= a < h and 0 <= b < w and nxt in members and nxt not in label:
                    label[nxt] = current
                    stack.append(nxt)
    return [label[c] for c in cells]


def cluster_reach(
    known: np.ndarray, h: int, w: int, source: int, clusters: list[list[int]], reps: list[int]
) -> tuple[list[int | None], list[int | None]]:
    """From one source: steps to the nearest cell of each cluster and to each representative (None: unreached)."""
    dist = bfs_known(known, h, w, source)
    near = [min((dist[c] for c in cells if c in dist), default=None) for cells in clusters]
    return near, [dist.get(r) for r in reps]


def burgard(cost: np.ndarray, utility: np.ndarray, drop: np.ndarray, beta: float) -> list[int]:
    """Burgard's greedy assignment with whole-matrix numpy (argmax takes the first maximum in row-major order)."""
    s = cost.shape[0]
    u = utility.astype(float).copy()
    out = [-1] * s
    free = np.ones(s, dtype=bool)
    for _ in range(s):
        with np.errstate(invalid="ignore"):
            score = u[None, :] - beta * cost
        score[~free] = -np.inf
        i, j = np.unravel_index(np.argmax(score), score.shape)
        if not np.isfinite(score[i, j]):
            break
        out[int(i)] = int(j)
        free[i] = False
        u = u - drop[j]
    return out


def burgard_spread(
    cost: np.ndarray, utility: np.ndarray, rows: np.ndarray, cols: np.ndarray, radius: int, beta: float
) -> list[int]:
    """Burgard's drop as the whole ``(T, T)`` numpy matrix (``planners/has/frontier.py: seen_share`` of the targets'
    distances), then :func:`burgard`."""
    d = np.hypot(rows[:, None] - rows[None, :], cols[:, None] - cols[None, :])
    return burgard(cost, utility, np.clip(1.0 - d / max(radius, 1), 0.0, None), beta)


class GoalFieldsTwin(GoalFields):
    """``GoalFields.rows`` as it was in numpy (the twin of ``planners/has/_motion_kernels.py: goal_rows``); the
    searches themselves are the ``bfs_fields`` kernel on the plain map (the twin of ``field_framed``), checked
    against ``bfs_known`` on its own."""

    def rows(self, goals: np.ndarray, pos: np.ndarray | None = None) -> np.ndarray:
        """``(M,) int64`` goal cells (>= 0) of robots at cells ``pos`` (``None``: whole rows) -> ``(M,) int64`` rows."""
        goals = np.asarray(goals, dtype=np.int64)
        if pos is None:
            pos = np.zeros(0, dtype=np.int64)
        rows = self.slot[goals]
        have = rows >= 0
        if len(pos):  # a cached row must be exact around each of its robots
            r = np.maximum(rows, 0)
            value = self.pool[r, pos].astype(np.int64)
            short = have & ((value == self.top) | (value > self.bound[r])) & (self.bound[r] < 2**62)
            if not short.any() and have.all():  # the usual step: every row exists and is exact around its robots
                return rows
            redo = _first_seen(goals[short])
        else:
            redo = goals[:0]
        missing = _first_seen(goals[~have])
        spare = np.flatnonzero(self.goal_of < 0)
        if len(missing) > len(spare):  # rows of goals nobody uses now become spare
            idle = np.flatnonzero((self.goal_of >= 0) & ~np.isin(self.goal_of, goals))
            self.slot[self.goal_of[idle]] = -1
            self.goal_of[idle] = -1
            spare = np.flatnonzero(self.goal_of < 0)
        while len(missing) > len(spare):
            size = self.pool.shape[0]
            self.pool = np.concatenate([self.pool, np.empty_like(self.pool)])
            self.bound = np.concatenate([self.bound, np.zeros(size, dtype=np.int64)])
            self.goal_of = np.concatenate([self.goal_of, np.full(size, -1, dtype=np.int64)])
            spare = np.flatnonzero(self.goal_of < 0)
        new_rows = spare[: len(missing)]
        self.slot[missing] = new_rows
        self.goal_of[new_rows] = missing
        todo = np.concatenate([missing, redo])
        if len(todo):
            # the robots heading to each goal searched for (targets), grouped by goal
            if len(pos):
                order = np.argsort(goals, kind="stable")
                g_sorted = goals[order]
                lo = np.searchsorted(g_sorted, todo, side="left")
                hi = np.searchsorted(g_sorted, todo, side="right")
                counts = hi - lo
                idx = np.repeat(lo - np.concatenate([[0], np.cumsum(counts)[:-1]]), counts) + np.arange(counts.sum())
                targets = pos[order[idx]]
            else:
                counts = np.zeros(len(todo), dtype=np.int64)
                targets = np.zeros(0, dtype=np.int64)
            offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
            todo_rows = self.slot[todo]
            queue = np.empty((3, self.h * self.w), dtype=np.int64)
            self.bound[todo_rows] = bfs_fields(
                self.known, self.h, self.w, todo, self.pool, todo_rows, targets, offsets, self.margin, queue
            )
        self.computed += len(todo)
        return self.slot[goals]


def _first_seen(values: np.ndarray) -> np.ndarray:
    """The distinct values in the order they first occur."""
    if len(values) < 2:
        return values.astype(np.int64)
    uniq, first = np.unique(values, return_index=True)
    return uniq[np.argsort(first)].astype(np.int64)


def off_map(free: np.ndarray, pos: np.ndarray, goal: np.ndarray) -> tuple[bool, bool]:
    return bool(not free[pos].all()), bool(not free[goal[goal >= 0]].all())


def prioritise(free, robots, pos, goal, prio, last) -> tuple[np.ndarray, np.ndarray]:
    """The HAS motion's goals and priorities as it computed them in numpy (twin of ``prioritise``)."""
    before = last[robots]
    ok = (goal >= 0) & free[np.maximum(goal, 0)]
    ok_last = (before >= 0) & free[np.maximum(before, 0)]
    goal = np.where(ok, goal, np.where(ok_last, before, pos)).astype(np.int64)
    rest = (before != goal) | (pos == goal)
    p = np.where(rest, (robots % 97) * 1e-4, prio[robots] + 1.0)
    prio[robots] = p
    last[robots] = goal
    return goal, np.argsort(-p, kind="stable").astype(np.int64)


def frontier_reps(cells: np.ndarray, label: np.ndarray, t: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    """Twin of ``frontier_reps``: the frontier clusters' centroid members and sizes in whole-array numpy."""
    sizes = np.bincount(label, minlength=t)
    r, c = np.divmod(cells, w)
    mr = np.bincount(label, weights=r, minlength=t) / sizes
    mc = np.bincount(label, weights=c, minlength=t) / sizes
    off = (r - mr[label]) ** 2 + (c - mc[label]) ** 2
    order = np.lexsort((off, label))
    first = np.searchsorted(label[order], np.arange(t))
    return cells[order[first]], sizes


def cheapest(near: np.ndarray, sizes: np.ndarray, a: float, b: float, unreached: int) -> np.ndarray:
    """Twin of ``cheapest``: B1/B2's choice as ``assign`` made it in whole-matrix numpy."""
    reach = near < unreached
    cost = a * near.astype(np.float64) - b * sizes[None, :]
    cost[~reach] = np.inf
    out = np.argmin(cost, axis=1)
    return np.where(reach[np.arange(len(near)), out], out, -1).astype(np.int64)


class WorldStepTwin(ExploreWorld):
    """``ExploreWorld.step`` as it was in numpy around the kernels (the twin of ``sim/explore/_kernels.py:
    step_world``): conflicts counted and moves resolved for the online robots, then :meth:`ExploreWorld.sense`."""

    def step(self, actions: np.ndarray) -> np.ndarray:
        acts = np.asarray(actions, dtype=np.int64)
        on = np.flatnonzero(self.active)
        executed = np.zeros(self.num, dtype=np.int64)
        if len(on):
            pos = self.pos[on]
            rows, cols, asked = pos[:, 0].copy(), pos[:, 1].copy(), acts[on].copy()
            self.collisions += int(count_conflicts(rows, cols, asked, self.blocked))
            done = soft_resolve_scratch(rows, cols, asked, self.blocked, self._lists, self._slots, self._edges)
            executed[on] = done
            self.pos[on, 0] += DR[done]
            self.pos[on, 1] += DC[done]
        self.sense()
        return executed


def goals_alone(
    goal: np.ndarray,
    active: np.ndarray,
    positions: np.ndarray,
    known: np.ndarray,
    h: int,
    w: int,
    replan: bool,
    method: str,
) -> None:
    """B1/B2's goals of a step as ``FrontierCore.goals`` computes them in numpy (the twin of
    ``planners/has/_assign_kernels.py: goals_alone``): the stale (or, with ``replan``, all) online robots re-assigned
    from the whole-map frontier, searches on fresh buffers; ``goal`` updated in place."""
    on = np.flatnonzero(active)
    g = goal[on]
    fcells = frontier_cells_kernel(known, h, w)
    mask = np.zeros(h * w, dtype=bool)
    mask[fcells] = True
    stale = (g < 0) | (g == positions[on, 0] * w + positions[on, 1]) | ~mask[np.maximum(g, 0)]
    robots = on if replan else on[stale]
    goal[robots] = -1
    f = frontiers(known, h, w, fcells)
    if len(robots) == 0 or len(f.reps) == 0:
        return
    src = positions[robots, 0] * w + positions[robots, 1]
    choice = assign(method, cluster_costs(known, h, w, src, f, slack_for(method, f)), f, w, 1)
    goal[robots] = np.where(choice >= 0, f.reps[np.maximum(choice, 0)], -1)


class MotionStepTwin(Motion):
    """``Motion.actions`` after its rebuild check as it was: ``prioritise``, then ``GoalFields.rows`` (growing the
    pool when short), then ``pibt_move_into``, three calls (the twin of ``planners/has/_motion_kernels.py:
    move_step``)."""

    def actions(self, known, robots, pos, goal, step):
        self.prepare(known, robots, pos, goal, step)
        noise = self.rng.random((len(pos), 5)) * 0.975
        goal, ranked = _motion_kernels.prioritise(self.free, robots, pos, goal, self.prio, self.last)
        rows = self.cache.rows(goal, pos)
        occ_now, occ_next = self.occ
        pool = self.cache.pool
        pibt = _motion_kernels.pibt_move_into
        return pibt(pos, self.nbr, pool, rows, noise, 0.5, ranked, goal, True, occ_now, occ_next, self.count)
