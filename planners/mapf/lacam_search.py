"""LaCAM*'s search over configurations in Python (``lacam.py``'s anytime phase): the explored graph with its
neighbour links, so that LaCAM*'s Dijkstra-style cost updates lower the sum of loss of known configurations, and
pruning by the incumbent. :meth:`_Search.seed` starts it from a first solution found by the numba search
(``lacam_first.py``): the solution's configurations become its explored chain, its open stack and its incumbent.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from dataclasses import dataclass, field

import numpy as np
from fleetmind.planners.mapf._kernels import pibt_configure
from fleetmind.planners.mapf._oneshot_kernels import lacam_preferences

log = logging.getLogger(__name__)


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


class _Search:
    """LaCAM*'s search over configurations (one per guidance: plain PIBT or SUO-guided), run in slices by
    :meth:`run`; ``best`` is the goal node with the least sum of loss found so far."""

    def __init__(
        self, start: np.ndarray, goal: np.ndarray, dist: np.ndarray, nbr: np.ndarray, seed: int,
        suo: np.ndarray | None, swap: bool, tries: int, anytime: bool, node_limit: int,
    ):  # fmt: skip
        self.goal, self.dist, self.nbr, self.suo = goal, dist, nbr, suo
        self.swap, self.tries, self.anytime, self.node_limit = swap, tries, anytime, node_limit
        self.agents = np.arange(len(start), dtype=np.int64)
        self.rng = np.random.default_rng(seed)
        self.goal_key = goal.tobytes()
        self.root = self._node(start, None, 0)
        self.explored: dict[bytes, _Node] = {start.tobytes(): self.root}
        self.open: list[_Node] = [self.root]
        self.best: _Node | None = None
        self.nodes = 1

    @property
    def searching(self) -> bool:
        return bool(self.open) and self.nodes < self.node_limit

    def _node(self, cfg: np.ndarray, parent: _Node | None, g: int) -> _Node:
        d = self.dist[self.agents, cfg]
        if parent is None:
            priority = d / max(1, int(d.max())) * 0.99
        else:  # agents away from their goal gain priority; one at its goal drops to its fraction
            priority = np.where(cfg != self.goal, parent.priority + 1.0, parent.priority - np.floor(parent.priority))
        order = np.argsort(-priority, kind="stable").astype(np.int64)
        prefs = _preferences(cfg, self.dist, self.nbr, self.rng, self.suo)
        node = _Node(cfg, parent, g, int(d.sum()), order, priority, prefs)
        node.tree.append(((), ()))
        return node

    def edge_cost(self, a: np.ndarray, b: np.ndarray) -> int:
        return int(np.count_nonzero((a != self.goal) | (b != self.goal)))

    def run(self, until: float, first_only: bool = False, max_nodes: int | None = None) -> None:
        """Expand configurations until ``until`` (``time.perf_counter()``), until the search space or the node
        limit is exhausted, until it holds ``max_nodes`` configurations or, with ``first_only``, until there is a
        solution."""
        goal, dist, nbr, rng, agents = self.goal, self.dist, self.nbr, self.rng, self.agents
        n = len(goal)
        num_cells = nbr.shape[0]
        while self.searching and time.perf_counter() < until and (max_nodes is None or self.nodes < max_nodes):
            node = self.open[-1]
            if self.best is None and node.config.tobytes() == self.goal_key:
                self.best = node
                log.debug("LaCAM*: first solution, sum of loss %d, %d nodes", node.g, self.nodes)
                if first_only:
                    return
            if self.best is not None and node.g + node.h >= self.best.g:
                self.open.pop()  # cannot improve on the incumbent
                continue
            if not node.tree:
                self.open.pop()
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
            for draw in range(max(1, self.tries)):  # LaCAM3's Monte-Carlo successors: the best of a few tie-breaks
                prefs = node.prefs if draw == 0 else _preferences(node.config, dist, nbr, rng, self.suo)
                got = pibt_configure(
                    node.config, prefs, nbr, node.order, num_cells, fixed_who, fixed_where, goal, dist, agents,
                    self.swap,
                )  # fmt: skip
                if got[0] < 0:
                    continue
                if self.tries <= 1:
                    slot = got
                    break
                nxt = nbr[node.config, got]
                f = self.edge_cost(node.config, nxt) + int(dist[agents, nxt].sum())
                if slot is None or f < slot_f:
                    slot, slot_f = got, f
            if slot is None:
                continue
            cfg = nbr[node.config, slot]
            key = cfg.tobytes()
            known = self.explored.get(key)
            if known is not None:
                if self.anytime:
                    node.neighbours.add(known)
                    _relax(node, known, self.edge_cost)
                if self.best is None or known.g + known.h < self.best.g:
                    self.open.append(known)
                if rng.random() < 0.001:  # LaCAM*: occasional restart from the root escapes bad basins
                    self.open.append(self.root)
                continue
            child = self._node(cfg, node, node.g + self.edge_cost(node.config, cfg))
            node.neighbours.add(child)
            self.explored[key] = child
            self.open.append(child)
            self.nodes += 1

    def seed(self, cells: np.ndarray) -> None:
        """Start from a first solution found elsewhere: ``cells`` ``(T+1, N) int64``, from this search's start to
        its goal, each configuration once. They become the explored chain (with their neighbour links), the open
        stack (the goal on top, as the depth-first search would leave it) and the incumbent; their constraint trees
        are fresh, so exhausting the search still proves the incumbent's sum of loss optimal."""
        node = self.root
        for row in cells[1:]:
            cfg = np.ascontiguousarray(row, dtype=np.int64)
            child = self._node(cfg, node, node.g + self.edge_cost(node.config, cfg))
            node.neighbours.add(child)
            self.explored[cfg.tobytes()] = child
            self.open.append(child)
            self.nodes += 1
            node = child
        self.best = node

    def solution(self) -> np.ndarray:
        """The best solution's configurations: ``(T+1, N) int64`` cells (its node's path may have been rewired)."""
        assert self.best is not None
        return _cells(self.explored[self.goal_key])


def _cells(node: _Node) -> np.ndarray:
    """The configurations from the root to ``node``: ``(T+1, N) int64`` cells."""
    configs = []
    cur: _Node | None = node
    while cur is not None:
        configs.append(cur.config)
        cur = cur.parent
    return np.array(configs[::-1])


_NO_SLOTS = np.zeros((0, 0), dtype=np.int8)


def _preferences(
    cfg: np.ndarray, dist: np.ndarray, nbr: np.ndarray, rng: np.random.Generator, slots: np.ndarray | None = None
) -> np.ndarray:
    """``(N, 5) int64`` action slots per agent: the next cell of its SUO path (``slots``, from
    :func:`scatter_slots`) if it stands on that path, then nearest to the goal, then free cells, then random ties."""
    return lacam_preferences(cfg, nbr, dist, rng.random((len(cfg), 5)), _NO_SLOTS if slots is None else slots)


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
