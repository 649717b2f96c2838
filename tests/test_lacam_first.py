"""LaCAM*'s first-solution search as a numba kernel (``_search_kernels.py``, driven by ``lacam_first.py``): the kernel
against its plain-Python twin (same configurations explored, same solution), valid solutions, resuming in slices (and
through the arrays' growth) changes nothing, an unsolvable instance exhausts, zero agents, the memory cap, and the
portfolio's round-robin: the search that needs the fewest configurations wins. Also without the JIT."""

from __future__ import annotations

import os

import numpy as np
import pytest
from fleetmind.planners.mapf import lacam_star
from fleetmind.planners.mapf._kernels import neighbour_table
from fleetmind.planners.mapf._suo_kernels import scatter_slots
from fleetmind.planners.mapf.lacam_first import FirstSearch, portfolio
from fleetmind.tasks.mapf_lifelong._kernels import bfs_distances
from fleetmind.tasks.mapf_lifelong.maps import random_map
from fleetmind.tasks.mapf_lifelong.scen import random_scenario
from fleetmind.tasks.mapf_lifelong.validate import check_paths
from naive import assert_twins_hold_without_jit
from naive import lacam_search as naive

NO_JIT = os.environ.get("NUMBA_DISABLE_JIT") == "1"
# without the JIT, the kernels' splitmix64 runs on numpy uint64 scalars, whose wrap-around (by design) warns
pytestmark = pytest.mark.filterwarnings("ignore:overflow encountered in scalar:RuntimeWarning")


def instance(side: int, density: float, agents: int, seed: int):
    grid = random_map(side, side, density, seed)
    scen = random_scenario(grid, agents, seed)
    w = side
    start, goal = scen.starts @ np.array([w, 1]), scen.goals @ np.array([w, 1])
    dist = np.stack([bfs_distances(grid.obstacles, g // w, g % w).ravel() for g in goal]).astype(np.int64)
    return grid, scen, start, goal, dist, neighbour_table(grid.obstacles)


# (side, obstacle density, agents, seed, options): dense enough that the searches backtrack (8x8 with 18 agents:
# 183 configurations for a 29-step solution), plus a sparse 16x16 one
CASES = [
    (8, 0.25, 18, 5, {}),
    (8, 0.2, 16, 0, {"tries": 2}),
    (8, 0.2, 20, 6, {"swap": False}),
    (16, 0.2, 20, 3, {}),
    (8, 0.0, 4, 0, {}),
]


def test_the_restart_from_the_root_is_taken_alike_by_kernel_and_twin():
    """LaCAM*'s restart (probability 0.001 on meeting a known configuration) was never taken by the cases above: on
    this dense 8x8 instance the twin takes it twice before its 410th configuration, and the kernel explores the same
    configurations and returns the same solution."""
    grid, scen, start, goal, dist, nbr = instance(8, 0.3, 16, 0)
    stats: dict[str, int] = {}
    found, nodes, cells = naive.first_solution(start, goal, dist, nbr, 0, stats=stats)
    assert found and stats == {"restarts": 2} and nodes == 410
    search = FirstSearch(start, goal, dist, nbr, 0)
    search.run(100_000)
    assert search.found and search.nodes == nodes and np.array_equal(search.solution(), cells)
    assert check_paths(np.stack(np.divmod(cells, 8), axis=2), grid.obstacles, scen.starts, scen.goals) == []


@pytest.mark.parametrize(("side", "density", "agents", "seed", "options"), CASES, ids=str)
def test_kernel_and_twin_explore_the_same_configurations_and_return_the_same_solution(
    side, density, agents, seed, options
):
    grid, scen, start, goal, dist, nbr = instance(side, density, agents, seed)
    search = FirstSearch(start, goal, dist, nbr, seed, **options)
    search.run(100_000)
    found, nodes, cells = naive.first_solution(start, goal, dist, nbr, seed, **options)
    assert search.found and found
    assert search.nodes == nodes >= len(cells)
    assert np.array_equal(search.solution(), cells)
    assert search.sum_of_loss == np.count_nonzero((cells[:-1] != goal) | (cells[1:] != goal))
    assert check_paths(np.stack(np.divmod(cells, side), axis=2), grid.obstacles, scen.starts, scen.goals) == []


def test_suo_guided_kernel_matches_its_twin():
    grid, scen, start, goal, dist, nbr = instance(12, 0.15, 12, 4)
    orders = np.stack([np.random.default_rng(k).permutation(len(start)) for k in range(3)]).astype(np.int64)
    slots = scatter_slots(start, goal, dist, nbr, 4, orders)
    search = FirstSearch(start, goal, dist, nbr, 7, slots)
    search.run(100_000)
    found, nodes, cells = naive.first_solution(start, goal, dist, nbr, 7, slots)
    assert search.found and found and search.nodes == nodes
    assert np.array_equal(search.solution(), cells)


def test_resumed_in_slices_and_through_growth_equals_one_call():
    grid, scen, start, goal, dist, nbr = instance(16, 0.2, 20, 3)
    whole = FirstSearch(start, goal, dist, nbr, 5)
    whole.run(100_000)
    sliced = FirstSearch(start, goal, dist, nbr, 5, capacity=4)  # grows from 4 configurations
    calls = 0
    while sliced.searching:
        sliced.run(1)
        calls += 1
    assert whole.found and sliced.found
    assert calls >= sliced.nodes - 1 > 4  # one new configuration a call, and it outgrew its first arrays
    assert sliced.nodes == whole.nodes and sliced.sum_of_loss == whole.sum_of_loss
    assert np.array_equal(sliced.solution(), whole.solution())


def test_a_passed_deadline_stops_a_search_before_its_budget():
    grid, scen, start, goal, dist, nbr = instance(16, 0.2, 20, 3)
    search = FirstSearch(start, goal, dist, nbr, 5)
    search.run(1000, deadline=0.0)  # perf_counter() is past 0 already
    assert search.nodes == 1 and search.searching
    search.run(1000)
    assert search.found


def test_an_unsolvable_instance_is_exhausted_and_lacam_star_returns_no_paths():
    blocked = np.array([[False, False, False]])  # a 1x3 corridor: two agents cannot pass each other
    starts, goals = np.array([[0, 0], [0, 1]]), np.array([[0, 1], [0, 0]])
    nbr = neighbour_table(blocked)
    start, goal = starts[:, 1].copy(), goals[:, 1].copy()
    dist = np.stack([bfs_distances(blocked, 0, int(g)).ravel() for g in goal]).astype(np.int64)
    search = FirstSearch(start, goal, dist, nbr, 0)
    search.run(1000)
    assert search.exhausted and not search.found and not search.out_of_memory
    assert search.nodes == naive.first_solution(start, goal, dist, nbr, 0)[1] == 3  # agent 0 left of agent 1
    r = lacam_star(blocked, starts, goals, time_limit=5.0, anytime=False)
    assert r.paths is None and r.sum_of_costs == -1 and r.nodes >= 3


def test_zero_agents_and_an_agent_already_home():
    empty = np.zeros(0, dtype=np.int64)
    nbr = neighbour_table(np.zeros((2, 2), dtype=bool))
    search = FirstSearch(empty, empty, np.zeros((0, 4), dtype=np.int64), nbr, 0)
    search.run(10)
    assert search.found and search.nodes == 1 and search.solution().shape == (1, 0)
    home = FirstSearch(np.array([3]), np.array([3]), np.array([[2, 1, 1, 0]]), nbr, 0)
    home.run(10)
    assert home.found and home.nodes == 1 and home.solution().tolist() == [[3]] and home.sum_of_loss == 0


def test_a_search_over_its_memory_cap_reports_itself_exhausted_by_memory():
    grid, scen, start, goal, dist, nbr = instance(16, 0.2, 20, 3)
    search = FirstSearch(start, goal, dist, nbr, 5, capacity=4)
    cap = search.nbytes()  # no growth allowed
    search.max_bytes = cap
    search.run(100_000)
    assert search.out_of_memory and search.exhausted and not search.found
    assert search.nodes <= 4 and search.nbytes() == cap


def test_the_portfolio_winner_is_the_search_needing_fewest_configurations():
    """Turns of one configuration, never doubled: each search is deterministic, so the one that needs the fewest
    configurations alone (the earliest seed on a tie) finishes first, with exactly the paths it finds alone."""
    grid, scen, start, goal, dist, nbr = instance(16, 0.2, 20, 3)

    def make(s: int, guided: bool) -> FirstSearch:
        return FirstSearch(start, goal, dist, nbr, s)

    alone = []
    for s in range(4):
        one = make(s, False)
        one.run(100_000)
        alone.append(one)
    race = portfolio(make, [0, 1, 2, 3], float("inf"), 1, 10**6, grow_every=10**9)
    best = min(range(4), key=lambda k: alone[k].nodes)
    assert race.winner is not None and race.winner.seed == best
    assert np.array_equal(race.winner.solution(), alone[best].solution())
    assert race.nodes >= 4 * alone[best].nodes - 4  # every search had as many turns as the winner
    capped = portfolio(make, [0, 1], float("inf"), 1, 2)  # node limit: nobody finishes
    assert capped.winner is None and all(s.nodes == 2 for s in capped.searches)


def test_the_portfolio_widens_after_its_first_searches_had_their_share():
    """Two searches start; the other seeds, then SUO-guided searches of every seed, join once each had ``widen``
    configurations; guided="only" makes every search SUO-guided."""
    grid, scen, start, goal, dist, nbr = instance(16, 0.2, 20, 3)
    made = []

    def make(s: int, guided: bool) -> FirstSearch:
        made.append((s, guided))
        return FirstSearch(start, goal, dist, nbr, s, np.zeros((20, 256), dtype=np.int8) if guided else None)

    quick = portfolio(make, [0, 1, 2], float("inf"), 4, 10**6, first=2, widen=100, guided="join")
    assert quick.winner is not None and made == [(0, False), (1, False)]  # solved (22 configurations) before widening
    made.clear()
    wide = portfolio(make, [0, 1, 2], float("inf"), 4, 10**6, first=2, widen=8, guided="join")
    assert wide.winner is not None and made == [(0, False), (1, False), (2, False), (0, True), (1, True), (2, True)]
    made.clear()
    portfolio(make, [0, 1], float("inf"), 4, 10**6, first=1, widen=4, guided="only")
    assert made == [(0, True), (1, True)]


@pytest.mark.skipif(NO_JIT, reason="already running without the JIT")
def test_lacam_first_twins_also_hold_without_jit():
    assert_twins_hold_without_jit(__file__)
