"""The cost-to-go cache's multiple-queue Dijkstra against its plain-Python twin (tests/naive), also without the JIT,
and the cache's rows against the dense rows of the reference kernel on a generated warehouse."""

from __future__ import annotations

import os

import numpy as np
import pytest
from fleetmind.planners.mapf import _heuristic_kernels as heur_k
from fleetmind.planners.mapf import _kernels as plan_k
from hypothesis import given
from hypothesis import strategies as st

from tests.naive import assert_twins_hold_without_jit, random_grid, twin_settings
from tests.naive import mapf_planners as naive_plan


@st.composite
def grids(draw):
    blocked, free, rng = random_grid(draw, 7)
    return blocked, free, rng, draw(st.sampled_from([1, 3, 200]))


@twin_settings(30)
@given(grids())
def test_multiqueue_rows_match_twin(inst):
    """Exact cost-to-go for 1, 3 or up to 200 distinct cell costs, a blocked goal included, in the rows it is given;
    the threaded form fills the same values."""
    blocked, free, rng, spread = inst
    nbr = plan_k.neighbour_table(blocked)
    c_total = nbr.shape[0]
    icost = (64 + rng.integers(0, spread, c_total)).astype(np.int64)
    values, klass, starts = heur_k.cost_classes(icost, blocked.ravel())
    assert np.array_equal(values, np.unique(icost[~blocked.ravel()]))
    goals = np.concatenate(
        [rng.choice(free, size=min(3, len(free)), replace=False), np.flatnonzero(blocked.ravel())[:1]]
    )
    goals = goals.astype(np.int64)
    rows = np.arange(2, len(goals) + 2, dtype=np.int64)
    nbr4 = np.ascontiguousarray(nbr[:, 1:], dtype=np.int32)
    pool = np.zeros((len(goals) + 2, c_total), dtype=np.float32)
    heur_k.multiqueue_rows(nbr4, values, klass, starts, goals, rows, pool, 64.0)
    threaded = np.zeros_like(pool)
    heur_k.multiqueue_rows_parallel(nbr4, values, klass, starts, goals, rows, threaded, 64.0, 2)
    want = np.empty(c_total, dtype=np.float32)
    for k, g in enumerate(goals):
        naive_plan.dijkstra_distances(nbr, icost, int(g), want, 64.0)
        assert np.array_equal(pool[k + 2], want)
    assert not pool[:2].any()
    assert np.array_equal(threaded, pool)


@pytest.mark.skipif(os.environ.get("NUMBA_DISABLE_JIT") == "1", reason="already running without the JIT")
def test_heuristic_twins_also_hold_without_jit():
    assert_twins_hold_without_jit(__file__)


@pytest.mark.skipif(os.environ.get("NUMBA_DISABLE_JIT") == "1", reason="the JIT-off re-run checks the twins only")
@pytest.mark.parametrize("threads", [1, 2])
def test_guided_cache_rows_equal_dense_reference_rows(threads):
    """The planners' cache (rows shared per goal, LRU, computed by the multiple-queue kernel) holds exactly what
    the reference Dijkstra gives on the static-centrality costs of a generated warehouse, through eviction."""
    from fleetmind.planners.mapf._common import _SCALE, DistanceCache, static_centrality
    from fleetmind.tasks.mapf_lifelong.generators import warehouse

    grid = warehouse(24, 40, seed=3, shelf_length=6, margin=3)
    blocked = grid.obstacles
    cost = 1.0 + 2.0 * static_centrality(blocked)
    cache = DistanceCache(blocked, capacity=6, cell_cost=cost, threads=threads)
    nbr = plan_k.neighbour_table(np.ascontiguousarray(blocked))
    icost = np.floor(cost * _SCALE).astype(np.int64)
    assert len(np.unique(icost[~blocked.ravel()])) > 2  # several cost classes really in play
    rng = np.random.default_rng(1)
    want = np.empty(blocked.size, dtype=np.float32)
    for size in (5, 6, 3, 9):
        goals = rng.choice(grid.free_cells, size=size, replace=False).astype(np.int64)
        rows = cache.rows(goals)
        for g, r in zip(goals, rows, strict=True):
            heur_k.dijkstra_distances(nbr, icost, int(g), want, _SCALE)
            assert np.array_equal(cache.pool[r], want)
    assert cache.computed == 23 and cache.pool.shape[0] >= 9
