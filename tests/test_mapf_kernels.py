"""Every MAPF numba kernel against its plain-Python twin (tests/naive), also with NUMBA_DISABLE_JIT=1."""

from __future__ import annotations

import os

import numpy as np
import pytest
from fleetmind.planners.mapf import _heuristic_kernels as heur_k
from fleetmind.planners.mapf import _kernels as plan_k
from fleetmind.tasks.mapf_lifelong import _kernels as world_k
from hypothesis import given
from hypothesis import strategies as st
from naive import assert_twins_hold_without_jit, random_grid, twin_settings
from naive import mapf_planners as naive_plan
from naive import mapf_world as naive_world


@st.composite
def instances(draw, max_side: int = 7, max_agents: int = 10):
    """A small random map, agents on distinct free cells and random actions."""
    blocked, free, rng = random_grid(draw, max_side)
    w = blocked.shape[1]
    n = draw(st.integers(1, min(max_agents, len(free))))
    cells = rng.choice(free, size=n, replace=False)
    actions = rng.integers(0, 5, n).astype(np.int64)
    return blocked, cells // w, cells % w, actions, rng


@twin_settings(300)
@given(instances())
def test_soft_resolve_matches_pogema_twin(inst):
    blocked, rows, cols, actions, _ = inst
    got = world_k.soft_resolve(rows, cols, actions, blocked)
    assert np.array_equal(got, naive_world.soft_resolve(rows, cols, actions, blocked))


@twin_settings(60)
@given(instances())
def test_bfs_components_and_neighbours_match_twins(inst):
    blocked, rows, cols, _, _ = inst
    assert np.array_equal(
        world_k.bfs_distances(blocked, rows[0], cols[0]), naive_world.bfs_distances(blocked, rows[0], cols[0])
    )
    assert np.array_equal(world_k.components(blocked), naive_world.components(blocked))
    assert np.array_equal(plan_k.neighbour_table(blocked), naive_plan.neighbour_table(blocked))
    h, w = blocked.shape
    for radius in (1, 2, 5):
        got = world_k.visible_agents(rows, cols, h, w, radius)
        want = naive_world.visible_agents(rows, cols, h, w, radius)
        assert np.array_equal(got[0], want[0]) and np.array_equal(got[1], want[1])


@twin_settings(300)
@given(instances(max_agents=14), st.integers(0, 3), st.booleans())
def test_pibt_kernels_match_recursive_twin(inst, fixed, swap):
    blocked, rows, cols, _, rng = inst
    h, w = blocked.shape
    nbr = plan_k.neighbour_table(blocked)
    pos = (rows * w + cols).astype(np.int64)
    n = len(pos)
    free = np.flatnonzero(~blocked.ravel())
    goal = rng.choice(free, size=n).astype(np.int64)
    dist = np.stack([world_k.bfs_distances(blocked, g // w, g % w).ravel() for g in goal]).astype(np.int64)
    drow = np.arange(n, dtype=np.int64)
    noise = rng.random((n, 5)) * 0.9
    order = plan_k.pibt_preferences(pos, nbr, dist, drow, noise, 0.5)
    assert np.array_equal(order, naive_plan.pibt_preferences(pos, nbr, dist, drow, noise, 0.5))
    prio = rng.permutation(n).astype(np.int64)
    tail = (goal, dist, drow, swap)
    got = plan_k.pibt_step(pos, order, nbr, prio, h * w, *tail)
    assert np.array_equal(got, naive_plan.pibt_step(pos, order, nbr, prio, h * w, *tail))
    k = min(fixed, n)
    agents = rng.choice(n, size=k, replace=False).astype(np.int64)
    slots = rng.integers(0, 5, k).astype(np.int64)
    got = plan_k.pibt_configure(pos, order, nbr, prio, h * w, agents, slots, *tail)
    assert np.array_equal(got, naive_plan.pibt_configure(pos, order, nbr, prio, h * w, agents, slots, *tail))


def test_pibt_swap_passes_head_on_in_a_corridor():
    """Two agents head-on in a dead-end corridor with a branch behind one of them: with the swap the one that
    meets the other walks back, pulling it along, instead of pushing it deeper into the dead end."""
    blocked = np.array([[False] * 6, [True, False, True, True, True, True]])  # a pocket below cell (0, 1)
    w = 6
    nbr = plan_k.neighbour_table(blocked)
    pos = np.array([2, 3], dtype=np.int64)  # agent 0 at (0,2) wants (0,5); agent 1 at (0,3) wants (0,0)
    goal = np.array([5, 0], dtype=np.int64)
    dist = np.stack([world_k.bfs_distances(blocked, g // w, g % w).ravel() for g in goal]).astype(np.int64)
    drow = np.arange(2, dtype=np.int64)
    order = plan_k.pibt_preferences(pos, nbr, dist, drow, np.zeros((2, 5)), 0.5)
    prio = np.array([0, 1], dtype=np.int64)
    plain = plan_k.pibt_step(pos, order, nbr, prio, 2 * w, goal, dist, drow, False)
    swapped = plan_k.pibt_step(pos, order, nbr, prio, 2 * w, goal, dist, drow, True)
    assert nbr[pos[1], plain[1]] == 4, "plain PIBT pushes agent 1 deeper into the dead end"
    assert nbr[pos[0], swapped[0]] == 1 and nbr[pos[1], swapped[1]] == 2, "swap: 0 walks back, 1 follows"


@twin_settings(80)
@given(instances(max_agents=8), st.sampled_from([0.0, 1.0, 3.0]), st.sampled_from([0.0, 0.25]), st.integers(1, 6))
def test_flow_replan_finds_optimal_flow_aware_paths_and_keeps_the_flow_counts(inst, w_flow, w_load, window):
    """One agent at a time: its cost is the optimum of the flow-aware costs (the twin's Dijkstra on the flow the
    other agents' paths make), its stored path is a walk from its cell, and ``flow`` always equals the moves of
    all stored paths."""
    blocked, rows, cols, _, rng = inst
    h, w = blocked.shape
    nbr = plan_k.neighbour_table(blocked)
    pos = (rows * w + cols).astype(np.int64)
    n = len(pos)
    free = np.flatnonzero(~blocked.ravel())
    goal = rng.choice(free, size=n).astype(np.int64)
    cell_cost = 1.0 + rng.integers(0, 4, h * w) / 4.0
    hpool = np.empty((n, h * w), dtype=np.float32)
    for i in range(n):  # the cost-to-go on cell_cost alone: an admissible, consistent heuristic
        heur_k.dijkstra_distances(nbr, np.round(cell_cost * 64).astype(np.int64), int(goal[i]), hpool[i], 64.0)
    paths = np.zeros((n, window + 1), dtype=np.int64)
    head = np.zeros(n, dtype=np.int64)
    length = np.zeros(n, dtype=np.int64)
    flow = np.zeros((h * w, 5), dtype=np.int64)
    for i in list(range(n)) * 2:  # the second round replaces paths: old moves must leave the flow
        before = flow - naive_plan.flow_counts(paths[i : i + 1], head[i : i + 1], length[i : i + 1], nbr)
        want = naive_plan.flow_path_cost(int(pos[i]), int(goal[i]), cell_cost, before, nbr, w_flow, w_load)
        args = (pos, goal, hpool, np.arange(n), cell_cost, flow, nbr, w_flow, w_load, paths, head, length)
        got = plan_k.flow_replan(np.array([i], dtype=np.int64), *args)[0]
        assert got == pytest.approx(want, abs=1e-6)
        assert paths[i, 0] == pos[i] and head[i] == 0
        for t in range(length[i] - 1):
            assert paths[i, t + 1] in nbr[paths[i, t], 1:]
        if want >= 0 and length[i] - 1 < window:
            assert paths[i, length[i] - 1] == goal[i]
        assert np.array_equal(flow, naive_plan.flow_counts(paths, head, length, nbr))


@pytest.mark.skipif(os.environ.get("NUMBA_DISABLE_JIT") == "1", reason="already running without the JIT")
def test_kernel_twins_also_hold_without_jit():
    """The same comparisons with numba's JIT off (coverage of the kernels' Python source)."""
    assert_twins_hold_without_jit(__file__)


@twin_settings(60)
@given(instances(max_agents=3))
def test_dijkstra_cost_to_go_matches_twin(inst):
    blocked, rows, cols, _, rng = inst
    w = blocked.shape[1]
    nbr = plan_k.neighbour_table(blocked)
    icost = rng.integers(1, 200, nbr.shape[0]).astype(np.int64)
    goal = int(rows[0] * w + cols[0])
    got = np.empty(nbr.shape[0], dtype=np.float32)
    want = np.empty(nbr.shape[0], dtype=np.float32)
    heur_k.dijkstra_distances(nbr, icost, goal, got, 64.0)
    naive_plan.dijkstra_distances(nbr, icost, goal, want, 64.0)
    assert np.array_equal(got, want)
    goals = (rows * w + cols).astype(np.int64)  # the batched form fills the rows it is given
    pool = np.zeros((len(goals) + 2, nbr.shape[0]), dtype=np.float32)
    heur_k.dijkstra_rows(nbr, icost, goals, np.arange(2, len(goals) + 2), pool, 64.0)
    for k, g in enumerate(goals):
        naive_plan.dijkstra_distances(nbr, icost, int(g), want, 64.0)
        assert np.array_equal(pool[k + 2], want)
    assert not pool[:2].any()
