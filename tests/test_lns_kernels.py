"""pibt_lns's kernels: the windowed space-time A* against a brute-force twin, LNS's contract, also without the JIT."""

from __future__ import annotations

import os

import numpy as np
import pytest
from fleetmind.planners.mapf import _lns_kernels as lk
from fleetmind.planners.mapf._kernels import neighbour_table, pibt_preferences, pibt_step
from fleetmind.tasks.mapf_lifelong._kernels import bfs_distances
from fleetmind.tasks.mapf_lifelong.validate import check_paths
from hypothesis import given
from hypothesis import strategies as st
from naive import assert_twins_hold_without_jit, random_grid, twin_settings
from naive import lns_planners as naive_lns


@st.composite
def windows(draw, max_side: int = 7, max_agents: int = 8):
    """A small random map, agents on distinct cells, goals, and a conflict-free joint plan (PIBT rolled out)."""
    blocked, free, rng = random_grid(draw, max_side)
    h, w = blocked.shape
    n = draw(st.integers(1, min(max_agents, len(free))))
    horizon = draw(st.integers(1, 5))
    nbr = neighbour_table(blocked)
    pos = rng.choice(free, size=n, replace=False).astype(np.int64)
    goal = rng.choice(free, size=n).astype(np.int64)
    steps = np.stack([np.minimum(bfs_distances(blocked, g // w, g % w).ravel(), 10_000) for g in goal]).astype(np.int64)
    dist = steps.astype(np.float32)  # the PIBT-LNS planner's cost-to-go pool is float32
    rows = np.arange(n, dtype=np.int64)
    plan = np.empty((horizon + 1, n), dtype=np.int64)
    plan[0] = pos
    for t in range(horizon):
        order = pibt_preferences(plan[t], nbr, steps, rows, rng.random((n, 5)), 0.5)
        slots = pibt_step(plan[t], order, nbr, rng.permutation(n).astype(np.int64), h * w, goal, steps, rows, True)
        plan[t + 1] = nbr[plan[t], slots]
    return blocked, nbr, plan, goal, dist, rows, rng


def _reservations(plan: np.ndarray, num_cells: int, skip: int) -> np.ndarray:
    res = np.full((plan.shape[0], num_cells), -1, dtype=np.int64)
    for t in range(plan.shape[0]):
        for i in range(plan.shape[1]):
            if i != skip:
                res[t, plan[t, i]] = i
    return res


@twin_settings(150)
@given(windows())
def test_window_astar_is_optimal_and_keeps_clear_of_the_others(inst):
    blocked, nbr, plan, goal, dist, _, rng = inst
    horizon, n = plan.shape[0] - 1, plan.shape[1]
    me = int(rng.integers(n))
    res = _reservations(plan, nbr.shape[0], me)
    states = (horizon + 1) * nbr.shape[0]
    path = np.empty(horizon + 1, dtype=np.int64)
    scratch = (np.empty(states, np.int64), np.zeros(states, np.int64), 1, np.empty(5 * states + 8))
    heap_c = np.empty(5 * states + 8, dtype=np.int64)
    start = int(plan[0, me])
    got = lk.window_astar(me, start, int(goal[me]), dist[me], res, nbr, path, *scratch, heap_c)
    want = naive_lns.window_astar_cost(me, start, int(goal[me]), dist[me], res, nbr)
    assert got == pytest.approx(want)
    assert want >= 0, "the agent's own PIBT path is always there to take"
    assert path[0] == start
    for t in range(horizon):
        assert path[t + 1] in nbr[path[t]] and path[t + 1] >= 0
        assert res[t + 1, path[t + 1]] in (-1, me), "entered a cell another agent holds"
        other = res[t, path[t + 1]]
        assert path[t + 1] == path[t] or other in (-1, me) or res[t + 1, path[t]] != other, "swapped"
    assert lk.window_cost(path, goal[me], dist[me]) <= got
    assert lk.window_cost(path, goal[me], dist[me]) == naive_lns.window_cost(path, goal[me], dist[me])


@twin_settings(100)
@given(windows(), st.integers(1, 6))
def test_lns_keeps_the_plan_conflict_free_and_never_raises_its_cost(inst, group):
    blocked, nbr, plan, goal, dist, rows, rng = inst
    w = blocked.shape[1]
    cost = sum(naive_lns.window_cost(plan[:, i], goal[i], dist[i]) for i in range(plan.shape[1]))
    before = plan.copy()
    lk.lns_improve(plan, goal, dist, rows, nbr, w, 40, group, int(rng.integers(2**31)))
    assert np.array_equal(plan[0], before[0])
    cells = np.stack(np.divmod(plan, w), axis=2)
    assert check_paths(cells, blocked) == [], "LNS broke the joint plan (vertex conflict, swap or jump)"
    assert sum(naive_lns.window_cost(plan[:, i], goal[i], dist[i]) for i in range(plan.shape[1])) <= cost


@pytest.mark.skipif(os.environ.get("NUMBA_DISABLE_JIT") == "1", reason="already running without the JIT")
def test_lns_kernel_twins_also_hold_without_jit():
    """The same comparisons with numba's JIT off (coverage of the kernels' Python source)."""
    assert_twins_hold_without_jit(__file__)
