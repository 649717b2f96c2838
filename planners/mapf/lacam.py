"""LaCAM* for one-shot MAPF (Okumura, AAAI 2023 / IJCAI 2023): lazy constraint addition over configurations,
PIBT as the successor generator (numba), anytime: after the first solution it keeps improving its sum of loss
(Dijkstra-style cost updates over the explored graph) and, as LaCAM3 does, refines the incumbent by large
neighbourhood search with space-time A* (``_refine_kernels.py``) on the sum of costs, both within the time limit.
As LaCAM3, PIBT first tries each agent's next cell on a path found beforehand to meet few others (space utilisation
optimisation, :func:`scatter_slots`), which makes first solutions on dense instances cheaper; since those paths take
up to ~0.4 s at 500 agents, the first solution comes from searches without them and the SUO-guided search runs as
the first part of the anytime phase, the cheaper of the two solutions refined.

The first solution comes from the numba search (``lacam_first.py``): a portfolio of searches with different
tie-break seeds in turns of equal small budgets, since the configurations one search needs are heavy-tailed in its
seed; the anytime phase is the Python search (``lacam_search.py``) started from that solution.

Costs, as the MAPF literature names them: the *sum of costs* is the sum over agents of the time of their last
arrival at the goal (after which they never leave it); the *sum of loss* (LaCAM's own objective) counts the moves
and waits of agents not resting on their goal, so an agent that waits on its goal and leaves again pays nothing for
the wait. The *lower bound* is the sum of single-agent shortest distances.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass

import numpy as np
from fleetmind.planners.mapf._common import DistanceCache
from fleetmind.planners.mapf._kernels import neighbour_table
from fleetmind.planners.mapf._suo_kernels import scatter_slots
from fleetmind.planners.mapf.lacam_first import FirstSearch, portfolio
from fleetmind.planners.mapf.lacam_refiner import MAX_STATES, Refiner
from fleetmind.planners.mapf.lacam_search import _Search
from fleetmind.robots.errors import BadInputError
from fleetmind.tasks.mapf_lifelong.scen import first_off_free, first_shared

log = logging.getLogger(__name__)

_SLICE_S = 0.02  # LaCAM*'s turn between refinement turns (the refiner gets nine times as long)
_GUIDED_SHARE = 0.3  # fast_first: the SUO-guided first solution is waited for this share of the limit
_PORTFOLIO = 4  # first solution: up to this many searches (seeds seed, seed + 1, ...) in turns
_PORTFOLIO_START = 2  # the first this many; the rest join after max(_RACE_NODES, _RACE_FACTOR x distance) each
_TURN_NODES = 32  # configurations per search and turn, doubled every four rounds
_RACE_NODES = 64  # the other seeds (and, with fast_first, the SUO-guided searches) join after this many a search
_RACE_FACTOR = 6  # or this many times the longest start-goal distance, if more
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
    ``fast_first`` (with ``scatter``): the first solution comes from searches without SUO (SUO's paths take up to
    ~0.4 s at 500 agents) unless none finds one within max(64, 6 x the longest distance) configurations, after
    which SUO-guided searches with the same seeds join the turns; with ``anytime``, the SUO-guided search of the
    winner's seed then runs for up to 30% of the limit as the first part of the anytime phase, the cheaper of the
    two solutions kept. The first solution comes from searches with seeds ``seed`` and ``seed + 1`` in turns of 32
    configurations each (doubled every four rounds), joined by ``seed + 2`` and ``seed + 3`` at that same
    max(64, 6 x the longest distance), the first to reach the goal winning; ``nodes`` counts the configurations of
    every search."""
    _check_options(time_limit, seed, node_limit, group, tries)
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

    slots: list[np.ndarray] = []  # the SUO paths, computed once, when a search first needs them

    def make(s: int, guided: bool) -> FirstSearch:
        if guided and not slots:
            slots.append(suo())
        return FirstSearch(start, goal, dist, nbr, s, slots[0] if guided else None, swap, tries)

    racing = use_suo and fast_first
    widen = max(_RACE_NODES, _RACE_FACTOR * int(dist[agents, start].max()))
    seeds = [seed + k for k in range(_PORTFOLIO)]
    guided = "join" if racing else "only" if use_suo else "never"
    race = portfolio(make, seeds, deadline, _TURN_NODES, node_limit, _PORTFOLIO_START, widen, guided)
    if race.winner is None:
        return LacamResult(None, -1, -1, -1, lower_bound, -1, race.nodes, time.perf_counter() - t0, None, False)
    first_solution = time.perf_counter() - t0
    winner = race.winner
    cells = winner.solution()
    first_soc = solution_costs(cells, goal)[0]
    log.debug("LaCAM*: first solution, sum of costs %d, %.3fs, %d nodes", first_soc, first_solution, race.nodes)
    if anytime and racing and not winner.guided:  # the SUO-guided first solution, if it comes soon and is cheaper
        other = next((s for s in race.searches if s.guided and s.seed == winner.seed), None)
        if other is None:
            other = make(winner.seed, True)
            race.searches.append(other)
        until = min(deadline, t0 + _GUIDED_SHARE * time_limit)
        while other.searching and other.nodes < node_limit and time.perf_counter() < until:
            other.run(min(8 * _TURN_NODES, node_limit - other.nodes), until)
        if other.found and solution_costs(other_cells := other.solution(), goal)[0] < first_soc:
            winner, cells = other, other_cells
    nodes = race.nodes
    lacam = _Search(start, goal, dist, nbr, winner.seed, slots[0] if winner.guided else None, swap, tries, anytime,
                    node_limit)  # fmt: skip
    if anytime:  # LaCAM*'s own anytime search goes on from the first solution
        lacam.seed(cells)
    seeded = lacam.nodes
    refiner = Refiner(cells, goal, dist, nbr, seed, group) if anytime and refine else None
    if refiner is not None and not Refiner.fits(len(cells), num_cells):
        log.info("LaCAM*: no refinement, %d steps x %d cells exceed its scratch", len(cells), num_cells)
        refiner = None
    refined_g = lacam.best.g if lacam.best is not None else 0  # its sum of loss when the refiner last looked
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
    nodes += lacam.nodes - seeded
    kept = 0
    if refiner is not None:
        refiner.adopt(lacam.solution())
        cells, kept = refiner.cells(), refiner.kept
    elif anytime:
        cells = lacam.solution()
    soc, sol, makespan = solution_costs(cells, goal)
    log.debug("LaCAM*: sum of costs %d -> %d (%d refinements), lower bound %d", first_soc, soc, kept, lower_bound)
    paths = np.stack(np.divmod(cells, w), axis=2)
    optimal = anytime and not lacam.open
    return LacamResult(paths, soc, sol, makespan, lower_bound, first_soc, nodes, seconds, first_solution, optimal, kept)


def _check_options(time_limit: float, seed: int, node_limit: int, group: int, tries: int) -> None:
    """One line (:class:`BadInputError`) for a search option out of range: a negative or NaN limit read as "no
    solution", a negative seed failed deep inside numpy, an infinite limit never ended the anytime phase."""
    if not (isinstance(time_limit, int | float) and math.isfinite(time_limit) and time_limit > 0):
        raise BadInputError(f"time_limit: a finite number of seconds > 0, got {time_limit!r}")
    for name, value, least in (
        ("seed", seed, 0),
        ("node_limit", node_limit, 1),
        ("group", group, 1),
        ("tries", tries, 1),
    ):
        if not isinstance(value, int | np.integer) or isinstance(value, bool) or value < least:
            raise BadInputError(f"{name}: an integer >= {least}, got {value!r}")


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
