"""The Follower's numba kernels against their plain-Python twins (tests/naive), also with NUMBA_DISABLE_JIT=1."""

from __future__ import annotations

import os

import numpy as np
import pytest
from fleetmind.planners.mapf import _follower_kernels as fk
from fleetmind.planners.mapf._kernels import neighbour_table
from fleetmind.planners.mapf.follower import lane_costs, retreat_table
from fleetmind.tasks.mapf_lifelong import _kernels as world_k
from hypothesis import given
from hypothesis import strategies as st
from naive import assert_twins_hold_without_jit, random_grid, twin_settings
from naive import follower_planners as naive_follower


@st.composite
def views(draw, max_side: int = 8, max_agents: int = 8):
    """A small random map, agents on distinct free cells, goals, each agent's view and random memories."""
    blocked, free, rng = random_grid(draw, max_side)
    h, w = blocked.shape
    n = draw(st.integers(1, min(max_agents, len(free))))
    pos = rng.choice(free, size=n, replace=False).astype(np.int64)
    goal = rng.choice(free, size=n).astype(np.int64)
    vis, nvis = world_k.visible_agents(pos // w, pos % w, h, w, draw(st.integers(1, 5)))
    return blocked, pos, goal, vis, nvis, rng


@twin_settings(150)
@given(views(), st.sampled_from([0.0, 1.0]), st.sampled_from([0, 1, 2, 5]), st.sampled_from([1.0, 1.5]))
def test_follower_paths_match_the_heapq_twin(inst, w_dir, window, h_weight):
    blocked, pos, goal, vis, nvis, rng = inst
    h, w = blocked.shape
    n, c_total = len(pos), h * w
    nbr = neighbour_table(blocked)
    static = rng.random(c_total)
    static.flags.writeable = False  # read-only, as the Follower's memoized centrality: one compile of the kernel
    cell_cost = 1.0 + 0.7 * static
    hpool = np.stack([naive_follower.cost_to_go(nbr, cell_cost, int(g)) for g in goal]).astype(np.float32)
    dyn = (rng.random((n, c_total)) * 3).astype(np.float32)
    steps = rng.integers(0, 5, n).astype(np.int64)
    vis_cost = rng.random(vis.shape) * 4.0
    move_cost = lane_costs(blocked, w_dir)
    agents = rng.permutation(n).astype(np.int64)
    p_len = int(rng.integers(2, 8))
    args = (agents, pos, goal, hpool, np.arange(n), static, dyn, steps, vis, nvis, vis_cost, nbr, move_cost)
    got_paths = np.zeros((n, p_len), dtype=np.int64)
    want_paths = np.zeros((n, p_len), dtype=np.int64)
    got = fk.follower_paths(*args, 0.7, 1.5, h_weight, w, window, got_paths)
    want = naive_follower.follower_paths(*args, 0.7, 1.5, h_weight, w, window, want_paths)
    if h_weight == 1.0:  # optimal: the same cost (ties may pick other cells)
        assert got == pytest.approx(want, abs=1e-6)
    else:
        assert np.array_equal(got < 0, want < 0)
    for m, i in enumerate(agents):
        cells = [int(pos[i]), *got_paths[i, 1 : 1 + got_paths[i, 0]].tolist()]
        for a, b in zip(cells, cells[1:], strict=False):
            assert b in nbr[a, 1:], "the stored path walks along free neighbours"
        if got[m] == 0:
            assert got_paths[i, 0] == 0 and pos[i] == goal[i]


@twin_settings(80)
@given(views(), views())
def test_still_runs_match_twin(now, before):
    blocked, pos, _, vis, nvis, rng = now
    h, w = blocked.shape
    other = before[1] % (h * w)
    last, last_n = world_k.visible_agents(other // w, other % w, h, w, 3)
    k = min(len(vis), len(last))
    last_run = rng.integers(1, 6, last[:k].shape).astype(np.int64)
    args = (vis[:k], nvis[:k], last[:k], last_n[:k], last_run, h * w)
    assert np.array_equal(fk.still_runs(*args), naive_follower.still_runs(*args))


def test_retreat_table_on_a_corridor_with_a_pocket():
    blocked = np.array([[False] * 6, [True, True, False, True, True, True]])  # a pocket below (0, 2)
    dist, move = retreat_table(neighbour_table(blocked))
    assert dist[3, 4] == 1 and move[3, 4] == 3  # at (0,3) backing away from (0,4): one step left to (0,2)
    assert dist[2, 4] == 0  # (0,2) has three free neighbours: a passing place
    assert dist[4, 3] == 99  # backing right from (0,4) ends in the dead end at (0,5)


@pytest.mark.skipif(os.environ.get("NUMBA_DISABLE_JIT") == "1", reason="already running without the JIT")
def test_follower_kernel_twins_also_hold_without_jit():
    """The same comparisons with numba's JIT off (coverage of the kernels' Python source)."""
    assert_twins_hold_without_jit(__file__)
