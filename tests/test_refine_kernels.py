"""LaCAM*'s refinement kernels: space-time A* against a brute-force twin, the reservation table against a loop,
LNS's contract (valid paths, sum of costs never rises, arrivals as the paths say); also without the JIT."""

from __future__ import annotations

import os

import numpy as np
import pytest
from fleetmind.planners.mapf import _refine_kernels as rk
from fleetmind.planners.mapf._kernels import neighbour_table, pibt_preferences, pibt_step
from fleetmind.planners.mapf._suo_kernels import scatter_slots
from fleetmind.planners.mapf.lacam import solution_costs
from fleetmind.tasks.mapf_lifelong._kernels import bfs_distances
from fleetmind.tasks.mapf_lifelong.validate import check_paths
from hypothesis import given
from hypothesis import strategies as st
from naive import assert_twins_hold_without_jit, random_grid, twin_settings
from naive import refine_planners as naive


@st.composite
def solutions(draw, max_side: int = 6, max_agents: int = 6):
    """A small map, agents with distinct starts and distinct goals, and a conflict-free joint plan that ends with
    every agent on its goal (PIBT rolled out; instances PIBT does not finish in 40 steps are dropped)."""
    blocked, free, rng = random_grid(draw, max_side)
    h, w = blocked.shape
    n = draw(st.integers(1, min(max_agents, len(free))))
    nbr = neighbour_table(blocked)
    pos = rng.choice(free, size=n, replace=False).astype(np.int64)
    goal = rng.choice(free, size=n, replace=False).astype(np.int64)
    dist = np.stack([bfs_distances(blocked, g // w, g % w).ravel() for g in goal]).astype(np.int64)
    if (dist[np.arange(n), pos] >= 2**30).any():
        dist = np.minimum(dist, 10_000)
        return blocked, nbr, None, goal, dist, rng
    rows = np.arange(n, dtype=np.int64)
    plan = [pos]
    for _ in range(40):
        if np.array_equal(plan[-1], goal):
            break
        order = pibt_preferences(plan[-1], nbr, dist, rows, rng.random((n, 5)) * 0.5, 0.5)
        slots = pibt_step(plan[-1], order, nbr, rng.permutation(n).astype(np.int64), h * w, goal, dist, rows, True)
        plan.append(nbr[plan[-1], slots])
    cells = np.array(plan) if np.array_equal(plan[-1], goal) else None
    return blocked, nbr, cells, goal, dist, rng


def _state(cells: np.ndarray, goal: np.ndarray, num_cells: int, slack: int):
    steps, n = cells.shape
    horizon = steps - 1 + slack
    paths = np.empty((n, horizon + 1), dtype=np.int64)
    paths[:, :steps] = cells.T
    paths[:, steps:] = goal[:, None]
    off = paths != goal[:, None]
    arrival = np.where(off.any(axis=1), horizon + 1 - np.argmax(off[:, ::-1], axis=1), 0).astype(np.int64)
    res = np.full((horizon + 1, num_cells), -1, dtype=np.int32)
    rk.reserve(paths, res)
    states = (horizon + 1) * num_cells
    scratch = (
        np.empty(states, np.int32),
        np.zeros(states, np.int32),
        np.empty(states, np.int32),
        np.empty(horizon + num_cells + 2, np.int32),
    )
    return paths, arrival, res, scratch


@twin_settings(150)
@given(solutions(), st.integers(0, 4), st.integers(0, 30))
def test_st_astar_is_optimal_and_keeps_clear_of_the_others(inst, slack, limit_cut):
    blocked, nbr, cells, goal, dist, rng = inst
    if cells is None:
        return
    paths, arrival, res, (parent, stamp, link, head) = _state(cells, goal, nbr.shape[0], slack)
    assert np.array_equal(res, naive.reserve(paths, nbr.shape[0]))
    me = int(rng.integers(len(goal)))
    for t in range(paths.shape[1]):
        res[t, paths[me, t]] = -1
    limit = int(arrival[me]) + 10 - limit_cut  # cuts the search below the agent's own old path sometimes
    path = np.full(paths.shape[1], -7, dtype=np.int64)
    got = rk.st_astar(me, paths[me, 0], goal[me], dist[me], res, nbr, limit, path, parent, stamp, 1, link, head)
    want = naive.st_astar_cost(me, int(paths[me, 0]), int(goal[me]), dist[me], res, nbr, limit)
    assert got == want
    if limit >= arrival[me]:
        assert 0 <= got <= arrival[me], "its own old path is always there to take"
    if got < 0:
        assert (path == -7).all(), "a failed search leaves the path alone"
        return
    assert path[0] == paths[me, 0] and (path[got:] == goal[me]).all() and (got == 0 or path[got - 1] != goal[me])
    for t in range(len(path) - 1):
        assert path[t + 1] in nbr[path[t]] and path[t + 1] >= 0
        assert res[t + 1, path[t + 1]] == -1, "entered a cell another agent holds"
        other = res[t, path[t + 1]]
        assert path[t + 1] == path[t] or other == -1 or res[t + 1, path[t]] != other, "swapped"


@twin_settings(100)
@given(solutions(), st.integers(1, 6), st.integers(0, 8))
def test_lns_keeps_the_solution_valid_and_never_raises_its_sum_of_costs(inst, group, slack):
    blocked, nbr, cells, goal, dist, rng = inst
    if cells is None:
        return
    w = blocked.shape[1]
    paths, arrival, res, scratch = _state(cells, goal, nbr.shape[0], slack)
    before = int(arrival.sum())
    assert before == solution_costs(cells, goal)[0]
    free = np.flatnonzero(nbr[:, 0] >= 0)
    weights = np.ones(rk.STRATEGIES)
    kept, tick = rk.lns_refine(
        paths, arrival, res, goal, dist, nbr, free, weights, 60, group, int(rng.integers(2**31)), 0, *scratch
    )
    assert tick >= kept >= 0 and (weights > 0).all()
    assert np.array_equal(paths[:, 0], cells[0]), "the starts stay"
    assert np.array_equal(res, naive.reserve(paths, nbr.shape[0])), "the reservations follow the paths"
    grid_paths = np.stack(np.divmod(paths.T, w), axis=2)
    starts, goals = np.stack(np.divmod(cells[0], w), axis=1), np.stack(np.divmod(goal, w), axis=1)
    assert check_paths(grid_paths, blocked, starts, goals) == [], "LNS broke the solution"
    soc, _, makespan = solution_costs(paths.T, goal)
    assert soc == int(arrival.sum()) <= before
    assert soc >= int(dist[np.arange(len(goal)), cells[0]].sum()), "below the lower bound"
    assert makespan == arrival.max()


@twin_settings(60)
@given(solutions(), st.integers(0, 4), st.integers(1, 4))
def test_scatter_matches_its_twin_and_leads_every_agent_home_within_the_margin(inst, margin, rounds):
    blocked, nbr, cells, goal, dist, rng = inst
    if cells is None:
        return
    start = cells[0]
    n = len(start)
    orders = np.stack([rng.permutation(n) for _ in range(rounds)]).astype(np.int64)
    slots = scatter_slots(start, goal, dist, nbr, margin, orders)
    assert np.array_equal(slots, naive.scatter_slots(start, goal, dist, nbr, margin, orders))
    for i in range(n):
        v, steps = int(start[i]), 0
        while v != goal[i]:
            k = int(slots[i, v])
            assert 1 <= k <= 4, f"agent {i}: no next slot at cell {v}"
            v, steps = int(nbr[v, k]), steps + 1
            assert steps <= dist[i, start[i]] + margin, f"agent {i}: path longer than shortest + margin"
        assert (slots[i] >= 0).sum() == steps, "slots only along the path"


@pytest.mark.skipif(os.environ.get("NUMBA_DISABLE_JIT") == "1", reason="already running without the JIT")
def test_refine_kernel_twins_also_hold_without_jit():
    """The same comparisons with numba's JIT off (coverage of the kernels' Python source)."""
    assert_twins_hold_without_jit(__file__)
