"""LaCAM* for one-shot MAPF (Okumura, AAAI 2023 / IJCAI 2023): lazy constraint addition over configurations,
PIBT as the successor generator (numba), anytime: after the first solution it keeps improving the sum of
costs (Dijkstra-style cost updates over the explored graph) until the time limit.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from dataclasses import dataclass, field

import numpy as np
from fleetmind.planners.mapf._common import DistanceCache
from fleetmind.planners.mapf._kernels import neighbour_table, pibt_configure, pibt_preferences

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LacamResult:
    """``paths``: ``(T+1, N, 2) int64`` (row, col) or None if unsolved; ``cost``: sum of costs (agents not
    resting on their goal, summed over steps); ``nodes``: configurations explored; ``first_solution_s``."""

    paths: np.ndarray | None
    cost: int
    nodes: int
    seconds: float
    first_solution_s: float | None
    optimal: bool


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
) -> LacamResult:
    """Solve one-shot MAPF. ``starts``/``goals``: ``(N, 2) int`` (row, col); ``blocked``: ``(H, W) bool``;
    ``swap``: PIBT with LaCAM3's swap as the successor generator (off: plain PIBT)."""
    t0 = time.perf_counter()
    blocked = np.ascontiguousarray(blocked, dtype=np.bool_)
    h, w = blocked.shape
    nbr = neighbour_table(blocked)
    num_cells = h * w
    start = np.asarray(starts, dtype=np.int64) @ np.array([w, 1])
    goal = np.asarray(goals, dtype=np.int64) @ np.array([w, 1])
    n = len(start)
    cache = DistanceCache(blocked, capacity=n + 4)
    rows = cache.rows(goal)
    dist = cache.pool[rows].astype(np.int64)  # (N, C)
    agents = np.arange(n, dtype=np.int64)
    rng = np.random.default_rng(seed)
    goal_key = goal.tobytes()

    def make_node(cfg: np.ndarray, parent: _Node | None, g: int) -> _Node:
        d = dist[agents, cfg]
        if parent is None:
            priority = d / max(1, int(d.max())) * 0.99
        else:  # agents away from their goal gain priority; one at its goal drops to its fraction
            priority = np.where(cfg != goal, parent.priority + 1.0, parent.priority - np.floor(parent.priority))
        order = np.argsort(-priority, kind="stable").astype(np.int64)
        node = _Node(cfg, parent, g, int(d.sum()), order, priority, _preferences(cfg, dist, nbr, rng))
        node.tree.append(((), ()))
        return node

    def edge_cost(a: np.ndarray, b: np.ndarray) -> int:
        return int(np.count_nonzero((a != goal) | (b != goal)))

    root = make_node(start, None, 0)
    explored: dict[bytes, _Node] = {start.tobytes(): root}
    open_stack: list[_Node] = [root]
    best: _Node | None = None
    first_solution: float | None = None
    nodes = 1
    while open_stack and time.perf_counter() - t0 < time_limit and nodes < node_limit:
        node = open_stack[-1]
        if best is None and node.config.tobytes() == goal_key:
            best = node
            first_solution = time.perf_counter() - t0
            log.debug("LaCAM*: first solution, cost %d, %d nodes, %.3fs", node.g, nodes, first_solution)
            if not anytime:
                break
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
        slot = pibt_configure(
            node.config,
            node.prefs,
            nbr,
            node.order,
            num_cells,
            np.array(who, dtype=np.int64),
            np.array(where, dtype=np.int64),
            goal,
            dist,
            agents,
            swap,
        )
        if slot[0] < 0:
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
        return LacamResult(None, -1, nodes, seconds, None, False)
    best = explored[goal_key]
    configs = []
    cur: _Node | None = best
    while cur is not None:
        configs.append(cur.config)
        cur = cur.parent
    cells = np.array(configs[::-1])  # (T+1, N)
    paths = np.stack(np.divmod(cells, w), axis=2)
    return LacamResult(paths, best.g, nodes, seconds, first_solution, optimal=not open_stack)


def _preferences(cfg: np.ndarray, dist: np.ndarray, nbr: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``(N, 5) int64`` action slots per agent: nearest to the goal first, then free cells, then random ties."""
    agents = np.arange(len(cfg), dtype=np.int64)
    return pibt_preferences(cfg, nbr, dist, agents, rng.random((len(cfg), 5)) * 0.25, 0.5)


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
