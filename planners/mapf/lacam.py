"""LaCAM* for one-shot MAPF (Okumura, AAAI 2023 / IJCAI 2023): lazy constraint addition over configurations,
PIBT as the successor generator (numba), anytime: after the first solution it keeps improving its sum of loss
(Dijkstra-style cost updates over the explored graph) and, as LaCAM3 does, refines the incumbent by large
neighbourhood search with space-time A* (``_refine_kernels.py``) on the sum of costs, both within the time limit.
As LaCAM3, PIBT first tries each agent's next cell on a path found beforehand to meet few others (space utilisation
optimisation, :func:`scatter_slots`), which makes first solutions on dense instances cheaper; since those paths take
up to ~0.4 s at 500 agents, the first solution comes from a search without them and the SUO-guided search runs as
the first part of the anytime phase, the cheaper of the two solutions refined.

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
from fleetmind.planners.mapf._kernels import neighbour_table, pibt_configure
from fleetmind.planners.mapf._oneshot_kernels import lacam_preferences
from fleetmind.planners.mapf._refine_kernels import scatter_slots
from fleetmind.planners.mapf.lacam_refiner import MAX_STATES, Refiner
from fleetmind.robots.errors import BadInputError
from fleetmind.tasks.mapf_lifelong.scen import first_off_free, first_shared

log = logging.getLogger(__name__)

_SLICE_S = 0.02  # LaCAM*'s turn between refinement turns (the refiner gets nine times as long)
_GUIDED_SHARE = 0.3  # fast_first: the other search's first solution is waited for this share of the limit
_RACE_NODES = 64  # fast_first: the least nodes per turn of the race between the unguided and SUO-guided searches
_RACE_FACTOR = 6  # fast_first: or this many times the longest start-goal distance, if more
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

    def solution(self) -> np.ndarray:
        """The best solution's configurations: ``(T+1, N) int64`` cells (its node's path may have been rewired)."""
        assert self.best is not None
        return _cells(self.explored[self.goal_key])


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
    fast_first: bool = True,
) -> LacamResult:
    """Solve one-shot MAPF. ``starts``/``goals``: ``(N, 2) int`` (row, col); ``blocked``: ``(H, W) bool``;
    ``swap``: PIBT with LaCAM3's swap as the successor generator (off: plain PIBT); ``anytime``: keep improving
    after the first solution until ``time_limit``; ``refine`` (with ``anytime``): LNS over neighbourhoods of up
    to ``group`` agents takes nine tenths of that time, LaCAM*'s own search the rest; ``scatter``: PIBT first tries
    each agent's next cell on a path that meets few others (space utilisation optimisation, as LaCAM3); ``tries``:
    PIBT runs per successor with different tie-breaks, the one nearest the goals (cost + distances) kept;
    ``fast_first`` (with ``scatter``): the first solution comes from a search without SUO (SUO's paths take up to
    ~0.4 s at 500 agents) unless that one needs more than max(64, 6 x the longest distance) configurations, in
    which case it races the SUO-guided search (turns of that many configurations, doubled every round); the
    other search then runs as the first part of the anytime phase, the cheaper of the two solutions kept."""
    t0 = time.perf_counter()
    deadline = t0 + time_limit
    blocked = np.ascontiguousarray(blocked, dtype=np.bool_)
    if blocked.ndim != 2:
        raise BadInputError(f"blocked: a (H, W) grid of obstacles, got an array of shape {blocked.shape}")
    h, w = blocked.shape
    start = check_cells(blocked, starts, "starts") @ np.array([w, 1])
    goal = check_cells(blocked, goals, "goals") @ np.array([w, 1])
    if len(start) != len(goal):
        raise BadInputError(f"goals: {len(goal)} goals for {len(start)} starts; give one goal per agent")
    n = len(start)
    if n == 0:  # nothing to move: the empty solution
        return LacamResult(np.zeros((1, 0, 2), dtype=np.int64), 0, 0, 0, 0, 0, 1, 0.0, 0.0, True)
    nbr = neighbour_table(blocked)
    num_cells = h * w
    cache = DistanceCache(blocked, capacity=n + 4)
    dist = cache.pool[cache.rows(goal)].astype(np.int64)  # (N, C)
    agents = np.arange(n, dtype=np.int64)
    lower_bound = int(dist[agents, start].sum())
    use_suo = scatter and (int(dist[agents, start].max()) + _SCATTER_MARGIN + 1) * num_cells <= MAX_STATES

    def suo() -> np.ndarray:
        rng = np.random.default_rng(seed)
        orders = np.stack([rng.permutation(n) for _ in range(_SCATTER_ROUNDS)]).astype(np.int64)
        return scatter_slots(start, goal, dist, nbr, _SCATTER_MARGIN, orders)

    def search(slots: np.ndarray | None) -> _Search:
        return _Search(start, goal, dist, nbr, seed, slots, swap, tries, anytime, node_limit)

    racing = use_suo and fast_first
    budget = max(_RACE_NODES, _RACE_FACTOR * int(dist[agents, start].max()))  # per turn, doubled every round
    searches = [search(None if racing or not use_suo else suo())]
    lacam: _Search | None = None
    turn = 0
    while lacam is None and time.perf_counter() < deadline:
        live = [s for s in searches if s.searching]
        if not live:
            break
        s = live[turn % len(live)]
        s.run(deadline, first_only=True, max_nodes=s.nodes + budget if racing else None)
        if s.best is not None:
            lacam = s
        elif racing and len(searches) == 1:
            searches.append(search(suo()))  # the unguided search is slow here: race the SUO-guided one
        elif racing and turn % 2 == 1:
            budget *= 2
        turn += 1
    nodes = sum(s.nodes for s in searches)
    if lacam is None:
        return LacamResult(None, -1, -1, -1, lower_bound, -1, nodes, time.perf_counter() - t0, None, False)
    first_solution = time.perf_counter() - t0
    cells = lacam.solution()
    first_soc = solution_costs(cells, goal)[0]
    log.debug("LaCAM*: first solution, sum of costs %d, %.3fs", first_soc, first_solution)
    if anytime and racing:  # the other search's first solution, if it comes soon and is cheaper
        if len(searches) == 1:
            searches.append(search(suo()))
        other = searches[1] if lacam is searches[0] else searches[0]
        other.run(min(deadline, t0 + _GUIDED_SHARE * time_limit), first_only=True)
        if other.best is not None and solution_costs(other_cells := other.solution(), goal)[0] < first_soc:
            lacam, cells = other, other_cells
    refiner = Refiner(cells, goal, dist, nbr, seed, group) if anytime and refine else None
    if refiner is not None and not Refiner.fits(len(cells), num_cells):
        log.info("LaCAM*: no refinement, %d steps x %d cells exceed its scratch", len(cells), num_cells)
        refiner = None
    refined_g = lacam.best.g  # LaCAM*'s sum of loss when the refiner last looked at its best
    slice_end = 0.0
    while anytime and (now := time.perf_counter()) < deadline:
        searching = lacam.searching
        if refiner is not None and (now >= slice_end or not searching):
            if refiner.stalled and not searching:
                break
            if not refiner.stalled:
                refiner.run(min(deadline, now + 9 * _SLICE_S))
            if lacam.best.g < refined_g:  # LaCAM* found a better solution: refine it if it is
                refined_g = lacam.best.g
                refiner.adopt(lacam.solution())
            slice_end = time.perf_counter() + _SLICE_S
            continue
        if not searching:
            break
        lacam.run(slice_end if refiner is not None else deadline)
    seconds = time.perf_counter() - t0
    nodes = sum(s.nodes for s in searches)
    kept = 0
    if refiner is not None:
        refiner.adopt(lacam.solution())
        cells, kept = refiner.cells(), refiner.kept
    elif anytime:
        cells = lacam.solution()
    soc, sol, makespan = solution_costs(cells, goal)
    log.debug("LaCAM*: sum of costs %d -> %d (%d refinements), lower bound %d", first_soc, soc, kept, lower_bound)
    paths = np.stack(np.divmod(cells, w), axis=2)
    optimal = not lacam.open
    return LacamResult(paths, soc, sol, makespan, lower_bound, first_soc, nodes, seconds, first_solution, optimal, kept)


def check_cells(blocked: np.ndarray, cells: np.ndarray, name: str) -> np.ndarray:
    """``cells`` as ``(N, 2) int64`` (row, col), refused in one line (:class:`BadInputError`, naming ``name``) unless
    every one lies on a free cell of ``blocked`` (``(H, W)``) and no two agents share one: the kernels index the map
    with them unchecked (a cell off the map was read outside it, and a shared start gave a "solution" that
    collides)."""
    arr = np.asarray(cells)
    if arr.size == 0:
        return np.zeros((0, 2), dtype=np.int64)
    if arr.ndim != 2 or arr.shape[1] != 2 or not np.issubdtype(arr.dtype, np.integer):
        raise BadInputError(f"{name}: (N, 2) integer (row, col) cells, got shape {arr.shape} of {arr.dtype}")
    arr = arr.astype(np.int64)
    h, w = blocked.shape
    i = first_off_free(blocked, arr)
    if i is not None:
        r, c = arr[i].tolist()
        where = "is on an obstacle" if 0 <= r < h and 0 <= c < w else f"lies outside the {h}x{w} map"
        raise BadInputError(f"{name}: agent {i} at ({r}, {c}) {where}; give free cells of the map")
    shared = first_shared(arr)
    if shared is not None:
        i, j = shared
        raise BadInputError(f"{name}: agents {i} and {j} share the cell {tuple(arr[i].tolist())}; give each its own")
    return arr


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
