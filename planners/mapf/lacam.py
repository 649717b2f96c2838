"""LaCAM* for one-shot MAPF (Okumura, AAAI 2023 / IJCAI 2023): lazy constraint addition over configurations,
PIBT as the successor generator (numba), anytime: after the first solution it keeps improving its sum of loss
(Dijkstra-style cost updates over the explored graph) and, as LaCAM3 does, refines the incumbent by large
neighbourhood search with space-time A* (``_refine_kernels.py``) on the sum of costs, both within the time limit.
As LaCAM3, PIBT first tries each agent's next cell on a path found beforehand to meet few others (space utilisation
optimisation, :func:`scatter_slots`), which makes first solutions on dense instances cheaper.

Costs, as the MAPF literature names them: the *sum of costs* is the sum over agents of the time of their last
arrival at the goal (after which they never leave it); the *sum of loss* (LaCAM's own objective) counts the moves
and waits of agents not resting on their goal, so an agent that waits on its goal and leaves again pays nothing for
the wait. The *lower bound* is the sum of single-agent shortest distances.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from dataclasses import dataclass, field

import numpy as np
from fleetmind.planners.mapf._common import DistanceCache
from fleetmind.planners.mapf._kernels import neighbour_table, pibt_configure, pibt_preferences
from fleetmind.planners.mapf._refine_kernels import STRATEGIES, lns_refine, reserve, scatter_slots

log = logging.getLogger(__name__)

_SLICE_S = 0.02  # LaCAM*'s turn between refinement turns (the refiner gets nine times as long)
_MAX_STATES = 20_000_000  # space-time states (16 bytes each: reservations and A* scratch); beyond, no refinement
_SCATTER_MARGIN = 10  # SUO: paths up to this many steps longer than the shortest (LaCAM3's default)
_SCATTER_ROUNDS = 8  # SUO: at most this many rounds over all agents


@dataclass(frozen=True)
class LacamResult:
    """``paths``: ``(T+1, N, 2) int64`` (row, col) or None if unsolved (then the costs are -1); ``sum_of_costs``,
    ``sum_of_loss``, ``makespan`` of those paths and ``lower_bound`` (sum of single-agent distances) as the module
    defines them; ``first_sum_of_costs``: the first solution's, before any improvement; ``nodes``: configurations
    explored; ``refined``: neighbourhoods the refinement kept; ``optimal``: LaCAM*'s search space was exhausted, so
    no solution has a smaller sum of loss than its best (the returned paths are those with the least sum of costs
    found)."""

    paths: np.ndarray | None
    sum_of_costs: int
    sum_of_loss: int
    makespan: int
    lower_bound: int
    first_sum_of_costs: int
    nodes: int
    seconds: float
    first_solution_s: float | None
    optimal: bool
    refined: int = 0


def solution_costs(cells: np.ndarray, goal: np.ndarray) -> tuple[int, int, int]:
    """``(sum of costs, sum of loss, makespan)`` of a joint plan ``cells`` ``(T+1, N) int`` ending on ``goal``
    ``(N,)`` (cells or any per-agent labels): each agent's cost is the time of its last arrival at its goal; its loss
    counts the steps t -> t+1 where it is off its goal at t or t+1; the makespan is the last arrival."""
    cells = np.asarray(cells)
    if cells.shape[1] == 0:
        return 0, 0, 0
    off = cells != np.asarray(goal)[None, :]
    arrival = np.where(off.any(axis=0), len(cells) - np.argmax(off[::-1], axis=0), 0)
    loss = int(np.count_nonzero(off[:-1] | off[1:]))
    return int(arrival.sum()), loss, int(arrival.max())


@dataclass(eq=False)
class _Node:
    config: np.ndarray  # (N,) int64 cells
    parent: _Node | None
    g: int
    h: int
    order: np.ndarray  # agents, most urgent first
    priority: np.ndarray  # (N,) float64, LaCAM2's carried-over PIBT priorities
    prefs: np.ndarray  # (N, 5) int64 action slots per agent, computed once per node
    tree: deque[tuple[tuple[int, ...], tuple[int, ...]]] = field(default_factory=deque)
    neighbours: set[_Node] = field(default_factory=set)


def lacam_star(
    blocked: np.ndarray,
    starts: np.ndarray,
    goals: np.ndarray,
    time_limit: float = 10.0,
    seed: int = 0,
    anytime: bool = True,
    node_limit: int = 2_000_000,
    swap: bool = True,
    refine: bool = True,
    group: int = 4,
    scatter: bool = True,
    tries: int = 1,
) -> LacamResult:
    """Solve one-shot MAPF. ``starts``/``goals``: ``(N, 2) int`` (row, col); ``blocked``: ``(H, W) bool``;
    ``swap``: PIBT with LaCAM3's swap as the successor generator (off: plain PIBT); ``anytime``: keep improving
    after the first solution until ``time_limit``; ``refine`` (with ``anytime``): LNS over neighbourhoods of up
    to ``group`` agents takes nine tenths of that time, LaCAM*'s own search the rest; ``scatter``: PIBT first tries
    each agent's next cell on a path that meets few others (space utilisation optimisation, as LaCAM3); ``tries``:
    PIBT runs per successor with different tie-breaks, the one nearest the goals (cost + distances) kept."""
    t0 = time.perf_counter()
    blocked = np.ascontiguousarray(blocked, dtype=np.bool_)
    h, w = blocked.shape
    start = np.asarray(starts, dtype=np.int64).reshape(-1, 2) @ np.array([w, 1])
    goal = np.asarray(goals, dtype=np.int64).reshape(-1, 2) @ np.array([w, 1])
    n = len(start)
    if n == 0:  # nothing to move: the empty solution
        return LacamResult(np.zeros((1, 0, 2), dtype=np.int64), 0, 0, 0, 0, 0, 1, 0.0, 0.0, True)
    nbr = neighbour_table(blocked)
    num_cells = h * w
    cache = DistanceCache(blocked, capacity=n + 4)
    rows = cache.rows(goal)
    dist = cache.pool[rows].astype(np.int64)  # (N, C)
    agents = np.arange(n, dtype=np.int64)
    rng = np.random.default_rng(seed)
    goal_key = goal.tobytes()
    lower_bound = int(dist[agents, start].sum())
    suo = None
    if scatter and (int(dist[agents, start].max()) + _SCATTER_MARGIN + 1) * num_cells <= _MAX_STATES:
        orders = np.stack([rng.permutation(n) for _ in range(_SCATTER_ROUNDS)]).astype(np.int64)
        suo = scatter_slots(start, goal, dist, nbr, _SCATTER_MARGIN, orders)

    def make_node(cfg: np.ndarray, parent: _Node | None, g: int) -> _Node:
        d = dist[agents, cfg]
        if parent is None:
            priority = d / max(1, int(d.max())) * 0.99
        else:  # agents away from their goal gain priority; one at its goal drops to its fraction
            priority = np.where(cfg != goal, parent.priority + 1.0, parent.priority - np.floor(parent.priority))
        order = np.argsort(-priority, kind="stable").astype(np.int64)
        node = _Node(cfg, parent, g, int(d.sum()), order, priority, _preferences(cfg, dist, nbr, rng, suo))
        node.tree.append(((), ()))
        return node

    def edge_cost(a: np.ndarray, b: np.ndarray) -> int:
        return int(np.count_nonzero((a != goal) | (b != goal)))

    root = make_node(start, None, 0)
    explored: dict[bytes, _Node] = {start.tobytes(): root}
    open_stack: list[_Node] = [root]
    best: _Node | None = None
    first_solution: float | None = None
    first_soc = -1
    refiner: _Refiner | None = None
    refined_g = 0  # LaCAM*'s sum of loss when the refiner last looked at its best
    slice_end = 0.0
    nodes = 1
    while (now := time.perf_counter()) - t0 < time_limit:
        searching = bool(open_stack) and nodes < node_limit
        if refiner is not None and (now >= slice_end or not searching):
            if refiner.stalled and not searching:
                break
            if not refiner.stalled:
                refiner.run(min(t0 + time_limit, now + 9 * _SLICE_S))
            if best is not None and best.g < refined_g:  # LaCAM* found a better solution: refine it if it is
                refined_g = best.g
                refiner.adopt(_cells(best))
            slice_end = time.perf_counter() + _SLICE_S
            continue
        if not searching:
            break
        node = open_stack[-1]
        if best is None and node.config.tobytes() == goal_key:
            best = node
            first_solution = time.perf_counter() - t0
            first_soc = solution_costs(_cells(best), goal)[0]
            log.debug("LaCAM*: first solution, sum of loss %d, %d nodes, %.3fs", node.g, nodes, first_solution)
            if not anytime:
                break
            if refine and _Refiner.fits(len(best_cells := _cells(best)), num_cells):
                refiner = _Refiner(best_cells, goal, dist, nbr, seed, group)
                refined_g = best.g
            elif refine:
                log.info("LaCAM*: no refinement, %d steps x %d cells exceed its scratch", len(best_cells), num_cells)
        if best is not None and node.g + node.h >= best.g:
            open_stack.pop()  # cannot improve on the incumbent
            continue
        if not node.tree:
            open_stack.pop()
            continue
        who, where = node.tree.popleft()
        depth = len(who)
        if depth < n:
            i = int(node.order[depth])
            slots = [k for k in range(5) if nbr[node.config[i], k] >= 0]
            rng.shuffle(slots)
            for k in slots:
                node.tree.append((who + (i,), where + (k,)))
        fixed_who, fixed_where = np.array(who, dtype=np.int64), np.array(where, dtype=np.int64)
        slot, slot_f = None, 0
        for draw in range(max(1, tries)):  # LaCAM3's Monte-Carlo successors: the best of a few PIBT tie-breaks
            prefs = node.prefs if draw == 0 else _preferences(node.config, dist, nbr, rng, suo)
            got = pibt_configure(
                node.config, prefs, nbr, node.order, num_cells, fixed_who, fixed_where, goal, dist, agents, swap
            )
            if got[0] < 0:
                continue
            nxt = nbr[node.config, got]
            f = edge_cost(node.config, nxt) + int(dist[agents, nxt].sum())
            if slot is None or f < slot_f:
                slot, slot_f = got, f
        if slot is None:
            continue
        cfg = nbr[node.config, slot]
        key = cfg.tobytes()
        known = explored.get(key)
        cost = edge_cost(node.config, cfg)
        if known is not None:
            if anytime:
                node.neighbours.add(known)
                _relax(node, known, edge_cost)
            if best is None or known.g + known.h < best.g:
                open_stack.append(known)
            if rng.random() < 0.001:  # LaCAM*: occasional restart from the root escapes bad basins
                open_stack.append(root)
            continue
        child = make_node(cfg, node, node.g + cost)
        node.neighbours.add(child)
        explored[key] = child
        open_stack.append(child)
        nodes += 1
    seconds = time.perf_counter() - t0
    if best is None:
        return LacamResult(None, -1, -1, -1, lower_bound, -1, nodes, seconds, None, False)
    cells = _cells(explored[goal_key])
    kept = 0
    if refiner is not None:
        refiner.adopt(cells)
        cells, kept = refiner.cells(), refiner.kept
    soc, sol, makespan = solution_costs(cells, goal)
    log.debug("LaCAM*: sum of costs %d -> %d (%d refinements), lower bound %d", first_soc, soc, kept, lower_bound)
    paths = np.stack(np.divmod(cells, w), axis=2)
    optimal = not open_stack
    return LacamResult(paths, soc, sol, makespan, lower_bound, first_soc, nodes, seconds, first_solution, optimal, kept)


def _cells(node: _Node) -> np.ndarray:
    """The configurations from the root to ``node``: ``(T+1, N) int64`` cells."""
    configs = []
    cur: _Node | None = node
    while cur is not None:
        configs.append(cur.config)
        cur = cur.parent
    return np.array(configs[::-1])


def _preferences(
    cfg: np.ndarray, dist: np.ndarray, nbr: np.ndarray, rng: np.random.Generator, slots: np.ndarray | None = None
) -> np.ndarray:
    """``(N, 5) int64`` action slots per agent: the next cell of its SUO path (``slots``, from
    :func:`scatter_slots`) if it stands on that path, then nearest to the goal, then free cells, then random ties."""
    agents = np.arange(len(cfg), dtype=np.int64)
    noise = rng.random((len(cfg), 5)) * 0.25
    if slots is not None:
        k = slots[agents, cfg].astype(np.int64)
        on = k > 0
        noise[on, k[on]] -= 1e6
    return pibt_preferences(cfg, nbr, dist, agents, noise, 0.5)


def _relax(node: _Node, known: _Node, edge_cost) -> None:  # noqa: ANN001 - local callable
    """LaCAM*'s cost update: if ``node`` offers ``known`` a cheaper path, rewire and propagate (Dijkstra)."""
    stack = [(node, known)]
    while stack:
        a, b = stack.pop()
        g = a.g + edge_cost(a.config, b.config)
        if g < b.g:
            b.g = g
            b.parent = a
            stack.extend((b, c) for c in b.neighbours)


class _Refiner:
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
        return (_Refiner.horizon(steps) + 1) * num_cells <= _MAX_STATES

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

    def adopt(self, cells: np.ndarray) -> None:
        """Refine ``cells`` (``(T+1, N)``) from now on if its sum of costs is lower than the incumbent's."""
        if solution_costs(cells, self.goal)[0] < self.sum_of_costs and self.fits(len(cells), self.nbr.shape[0]):
            self._load(cells)
            self.stall = 0

    def cells(self) -> np.ndarray:
        """The incumbent: ``(T+1, N) int64`` cells up to its makespan."""
        return np.ascontiguousarray(self.paths[:, : int(self.arrival.max()) + 1].T)
