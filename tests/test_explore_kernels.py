"""The exploration kernels (line-of-sight sensing, HAS frontiers and BFS) against their plain-Python twins
(tests/naive/explore.py), also with NUMBA_DISABLE_JIT=1."""

from __future__ import annotations

import os

import numpy as np
import pytest
from fleetmind.planners.has._assign_kernels import burgard_spread, cheapest, goals_alone
from fleetmind.planners.has._kernels import (
    UNREACHED,
    WALL,
    bfs_field,
    bfs_fields,
    bfs_known,
    cluster_reach,
    cluster_reach_into,
    frontier_cells,
    frontier_reps,
    hungarian,
    label_frontier,
    label_frontier_into,
    update_frontier,
)
from fleetmind.planners.has._motion_kernels import off_map, pibt_move_into, prioritise, update_neighbours
from fleetmind.planners.has.baselines import ALONE
from fleetmind.planners.has.frontier import ReachScratch
from fleetmind.planners.has.motion import GoalFields, Motion
from fleetmind.sim.explore import ExploreWorld
from fleetmind.sim.explore._kernels import (
    count_conflicts,
    ray_templates,
    sense_all,
    sense_moved,
    visible_cells,
)
from fleetmind.tasks.has.maps import generate
from fleetmind.tasks.mapf_lifelong._kernels import soft_resolve_scratch
from fleetmind.tasks.mapf_lifelong.shield import conflict_pairs
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.naive import assert_twins_hold_without_jit, mapf_world, random_grid
from tests.naive import explore as naive
from tests.naive import mapf_planners as naive_plan


@st.composite
def sensing(draw):
    blocked, free, rng = random_grid(draw, 12)
    start = int(free[rng.integers(len(free))])
    return blocked, divmod(start, blocked.shape[1]), draw(st.integers(1, 5))


@settings(max_examples=40, deadline=None)
@given(sensing())
def test_visible_cells_match_twin(inst):
    blocked, (r, c), radius = inst
    out = np.empty((2 * radius + 1) ** 2, dtype=np.int64)
    n = visible_cells(np.ascontiguousarray(blocked), r, c, radius, out)
    assert sorted(out[:n].tolist()) == naive.visible(blocked, r, c, radius)


def test_line_of_sight_by_hand():
    """A wall at (2, 3) hides (2, 4) from (2, 2) but is itself seen; the cells beside it stay in view."""
    blocked = np.zeros((5, 7), dtype=bool)
    blocked[2, 3] = True
    cells, counts = sense_all(blocked, np.array([2]), np.array([2]), np.array([True]), 2)
    seen = {divmod(int(x), 7) for x in cells[0, : counts[0]]}
    assert (2, 3) in seen and (2, 4) not in seen and (1, 3) in seen and (3, 3) in seen
    assert (0, 2) in seen and (0, 0) not in seen  # radius is Euclidean: (0, 0) is sqrt(8) > 2 away
    assert len(seen) == 12
    cells, counts = sense_all(blocked, np.array([2, -1]), np.array([2, -1]), np.array([True, False]), 2)
    assert counts.tolist() == [12, 0]


@st.composite
def known_maps(draw):
    h, w = draw(st.integers(1, 9)), draw(st.integers(1, 9))
    rng = np.random.default_rng(draw(st.integers(0, 2**31 - 1)))
    known = rng.choice(np.array([-1, 0, 0, 1], dtype=np.int8), size=h * w)
    return known, h, w, int(rng.integers(h * w))


@settings(max_examples=40, deadline=None)
@given(known_maps())
def test_frontiers_and_bfs_match_twins(inst):
    known, h, w, source = inst
    assert frontier_cells(known, h, w).tolist() == naive.frontier_cells(known, h, w)
    dist = bfs_known(known, h, w, np.array([source], dtype=np.int64))[0]
    reached = {int(c): int(d) for c, d in enumerate(dist) if d < UNREACHED}
    assert reached == naive.bfs_known(known, h, w, source)


@settings(max_examples=40, deadline=None)
@given(known_maps(), st.integers(0, 2**31 - 1))
def test_frontier_clusters_and_bounded_reach_match_twins(inst, seed):
    known, h, w, _ = inst
    cells = frontier_cells(known, h, w)
    label = label_frontier(cells, h, w)
    assert label.tolist() == naive.label_frontier(cells.tolist(), h, w)
    if len(cells) == 0:
        return
    t = int(label.max()) + 1
    got_reps, got_sizes = frontier_reps(cells, label, t, w)  # centroid members (ties: the first), sizes
    want_reps, want_sizes = naive.frontier_reps(cells, label, t, w)
    assert got_reps.tolist() == want_reps.tolist() and got_sizes.tolist() == want_sizes.tolist()
    assert got_sizes.dtype == want_sizes.dtype
    rng = np.random.default_rng(seed)
    reps = np.array([int(rng.choice(cells[label == k])) for k in range(t)], dtype=np.int64)
    cluster_of = np.full(h * w, -1, dtype=np.int64)
    cluster_of[cells] = label
    rep_of = np.full(h * w, -1, dtype=np.int64)
    rep_of[reps] = np.arange(t)
    sources = rng.integers(0, h * w, size=3).astype(np.int64)
    limit, slack = int(rng.choice([2**30, 3])), int(rng.choice([2**30, 0, 2]))
    near, rep = cluster_reach(known, h, w, sources, cluster_of, rep_of, t, limit, slack)
    clusters = [cells[label == k].tolist() for k in range(t)]
    for k, src in enumerate(sources.tolist()):
        want_near, want_rep = naive.cluster_reach(known, h, w, src, clusters, reps.tolist())
        # a search stops once it has every representative, passed the limit or passed the slack beyond the nearest
        # cluster; what lies within those bounds is exact
        bound = min(limit, min((x for x in want_near if x is not None), default=0) + slack)
        for got, want in ((near[k], want_near), (rep[k], want_rep)):
            assert got.tolist() == [x if x is not None and x <= bound else UNREACHED for x in want]


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**31 - 1), st.sampled_from([(1.0, 1e-3), (3.0, 1.0)]))
def test_nearest_and_explore_lite_choices_match_twin(seed, ab):
    rng = np.random.default_rng(seed)
    s, t = int(rng.integers(1, 7)), int(rng.integers(1, 7))
    near = rng.integers(0, 6, size=(s, t)).astype(np.int32)  # small values: ties
    near[rng.random((s, t)) < 0.3] = UNREACHED
    sizes = rng.integers(1, 5, size=t).astype(np.int64)
    got = cheapest(near, sizes, *ab, int(UNREACHED))
    assert got.tolist() == naive.cheapest(near, sizes, *ab, int(UNREACHED)).tolist()


@settings(max_examples=30, deadline=None)
@given(known_maps(), st.integers(0, 2**31 - 1))
def test_goal_field_matches_twin(inst, seed):
    known, h, w, goal = inst
    rng = np.random.default_rng(seed)
    targets = rng.integers(0, h * w, size=int(rng.integers(0, 3))).astype(np.int64)
    margin = int(rng.integers(1, 4))
    row = np.zeros(h * w, dtype=np.uint16)
    bound = bfs_field(known, h, w, goal, row, targets, margin)
    top = np.iinfo(np.uint16).max
    want = naive.bfs_known(known, h, w, goal)
    reached = {int(c): int(d) for c, d in enumerate(row) if d < top}
    assert all(want[c] == d for c, d in reached.items())  # what the row holds is exact
    assert {c: d for c, d in want.items() if d <= bound + 1} == {c: d for c, d in reached.items() if d <= bound + 1}
    if len(targets) == 0 or any(int(t) not in want for t in targets):
        assert bound == 2**62 and reached == want  # no targets, or one out of reach: the whole row
    else:
        assert bound == 2**62 or max(want[int(t)] for t in targets) <= bound  # every target well inside


@settings(max_examples=30, deadline=None)
@given(known_maps(), st.integers(0, 2**31 - 1))
def test_searches_on_kept_scratch_match_fresh_ones_call_after_call(inst, seed):
    """The planner's scratch (ReachScratch, the goal rows' queue) is reused while the map fills in: labels, cluster
    distances and goal rows equal the fresh-buffer kernels' at every call, and the scratch is left clean."""
    known, h, w, goal = inst
    known = known.copy()
    rng = np.random.default_rng(seed)
    scratch = ReachScratch(h, w)
    queue = np.full((3, h * w), 7, dtype=np.int64)  # dirty on purpose: the searches must not read it
    for _ in range(3):
        cells = frontier_cells(known, h, w)
        label = label_frontier_into(cells, h, w, scratch.slot)
        assert label.tolist() == naive.label_frontier(cells.tolist(), h, w) and (scratch.slot == -1).all()
        if len(cells):
            t = int(label.max()) + 1
            reps = np.array([int(rng.choice(cells[label == k])) for k in range(t)], dtype=np.int64)
            cluster_of = np.full(h * w, -1, dtype=np.int64)
            cluster_of[cells] = label
            rep_of = np.full(h * w, -1, dtype=np.int64)
            rep_of[reps] = np.arange(t)
            sources = rng.integers(0, h * w, size=3).astype(np.int64)
            limit, slack = int(rng.choice([2**30, 3])), int(rng.choice([2**30, 0, 2]))
            want = cluster_reach(known, h, w, sources, cluster_of, rep_of, t, limit, slack)
            s = scratch
            near, rep, s.tagged = cluster_reach_into(
                known, h, w, sources, cells, label, reps, limit, slack, s.dist, s.tag, s.queue, s.tagged
            )
            assert near.tolist() == want[0].tolist() and rep.tolist() == want[1].tolist()
            framed = np.full((h + 2, w + 2), True)  # the searches leave stamps on free cells, WALL elsewhere
            framed[1:-1, 1:-1] = known.reshape(h, w) != 0
            assert ((s.dist == WALL) == framed.ravel()).all() and (np.delete(s.tag, s.tagged) == -1).all()
        goals = np.unique(np.append(rng.integers(0, h * w, size=2), goal)).astype(np.int64)
        targets = rng.integers(0, h * w, size=2 * len(goals)).astype(np.int64)
        offsets = np.arange(0, 2 * len(goals) + 1, 2, dtype=np.int64)
        pool = np.zeros((len(goals) + 1, h * w), dtype=np.uint16)
        rows = np.arange(1, len(goals) + 1, dtype=np.int64)[::-1].copy()
        bounds = bfs_fields(known, h, w, goals, pool, rows, targets, offsets, 2, queue)
        for k, g in enumerate(goals.tolist()):
            row = np.zeros(h * w, dtype=np.uint16)
            assert bounds[k] == bfs_field(known, h, w, g, row, targets[2 * k : 2 * k + 2], 2)
            assert pool[rows[k]].tolist() == row.tolist()
        unknown = np.flatnonzero(known < 0)  # the map fills in: some unknown cells become free or walls
        seen = rng.choice(unknown, size=min(len(unknown), int(rng.integers(1, 6))), replace=False)
        known[seen] = rng.choice(np.array([0, 0, 1], dtype=np.int8), size=len(seen))


@settings(max_examples=30, deadline=None)
@given(known_maps(), st.integers(0, 2**31 - 1), st.sampled_from(sorted(ALONE)))
def test_goals_of_robots_planned_alone_in_one_call_match_twin_call_after_call(inst, seed, method):
    """B1/B2's step of goals in one kernel call (stale robots picked, frontier labelled, clusters searched on the kept
    scratch, cheapest chosen) gives the numpy path's goals while the map fills in; robots with and without goals."""
    known, h, w, _ = inst
    known = known.copy()
    rng = np.random.default_rng(seed)
    n = 4
    scratch = ReachScratch(h, w)
    goal = rng.integers(-1, h * w, size=n).astype(np.int64)
    want = goal.copy()
    a, b, div, add = ALONE[method]
    for call in range(3):
        active = rng.random(n) < 0.8
        positions = np.stack(np.divmod(rng.integers(0, h * w, size=n), w), axis=1).astype(np.int64)
        fcells = frontier_cells(known, h, w)
        fmask = np.zeros(h * w, dtype=bool)
        fmask[fcells] = True
        replan = call == 1
        s = scratch
        s.tagged = goals_alone(
            goal,
            active,
            positions,
            w,
            known,
            h,
            fcells,
            fmask,
            replan,
            a,
            b,
            div,
            add,
            s.slot,
            s.dist,
            s.tag,
            s.queue,
            s.tagged,
        )
        naive.goals_alone(want, active, positions, known, h, w, replan, method)
        assert goal.tolist() == want.tolist()
        unknown = np.flatnonzero(known < 0)  # the map fills in
        seen = rng.choice(unknown, size=min(len(unknown), int(rng.integers(1, 6))), replace=False)
        known[seen] = rng.choice(np.array([0, 0, 1], dtype=np.int8), size=len(seen))


@pytest.mark.parametrize("seed", [0, 1])
def test_motion_step_in_one_kernel_matches_twin_step_after_step(seed):
    """``move_step`` (priorities, goal rows, PIBT in one call) moves the robots as the three calls did, step after
    step while the map fills in, also when the goals in use outnumber the row pool (seed 1: 6 robots build it with
    6 + 16 rows, then 40 robots with distinct goals need more and it grows)."""
    emap = generate("open", 16, seed)
    n = 6 if seed == 0 else 40
    free = np.flatnonzero(~emap.blocked.ravel())
    rng = np.random.default_rng(seed)
    fast, twin = Motion(16, 16, seed), naive.MotionStepTwin(16, 16, seed)
    known = np.where(emap.blocked.ravel(), 1, -1).astype(np.int8)
    pos = rng.choice(free, size=n, replace=False).astype(np.int64)
    goal = rng.choice(free, size=n, replace=False).astype(np.int64)
    for step in range(12):
        known[rng.choice(free, size=len(free) // 3)] = 0  # the map fills in
        if step % 4 == 0:
            goal = rng.choice(free, size=n, replace=False).astype(np.int64)
        on = np.arange(6 if step < 4 else n, dtype=np.int64)
        a = fast.actions(known, on, pos[on], goal[on], step)
        b = twin.actions(known, on, pos[on], goal[on], step)
        assert a.tolist() == b.tolist() and fast.prio.tolist() == twin.prio.tolist()
        assert fast.cache.row_of == twin.cache.row_of and fast.cache.computed == twin.cache.computed
        pos[on] = np.where(a >= 0, fast.nbr[pos[on], np.maximum(a, 0)], pos[on])
    assert (fast.cache.pool.shape[0] > 6 + 16) == (seed == 1)  # the pool grew with the 40 robots


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 7), st.integers(1, 9), st.integers(1, 6), st.integers(0, 2**31 - 1))
def test_burgard_with_drops_of_the_fixed_targets_matches_twin(s, t, radius, seed):
    """The drops computed for the fixed targets only give the assignment of the whole (T, T) drop matrix (targets a
    few cells apart: partial drops, equal distances, ties)."""
    rng = np.random.default_rng(seed)
    cost = rng.integers(0, 5, size=(s, t)) / 4.0
    cost[rng.random((s, t)) < 0.2] = np.inf
    rows, cols = rng.integers(0, 9, size=t), rng.integers(0, 9, size=t)
    utility = rng.integers(0, 4, size=t) / 2.0
    got = burgard_spread(cost, utility, rows, cols, radius, 1.0).tolist()
    assert got == naive.burgard_spread(cost, utility, rows, cols, radius, 1.0)


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 4), st.integers(0, 3), st.integers(0, 2**31 - 1))
def test_hungarian_is_optimal(rows, extra, seed):
    cost = np.random.default_rng(seed).integers(0, 20, size=(rows, rows + extra)).astype(np.float64)
    cols = hungarian(cost)
    assert len(set(cols.tolist())) == rows and cols.min() >= 0
    assert cost[np.arange(rows), cols].sum() == naive.assignment_cost(cost)


def test_frontiers_by_hand():
    """A 3x4 map whose right column is unknown: the free cells of column 2 are the frontier; a wall is not."""
    known = np.array([[0, 0, 0, -1], [0, 0, 1, -1], [0, 0, 0, -1]], dtype=np.int8).ravel()
    assert frontier_cells(known, 3, 4).tolist() == [2, 10]


@st.composite
def robots_on_grid(draw):
    blocked, free, rng = random_grid(draw, 12)
    n = int(rng.integers(1, min(6, len(free)) + 1))
    cells = rng.choice(free, size=n, replace=False)
    rows, cols = np.divmod(cells.astype(np.int64), blocked.shape[1])
    return np.ascontiguousarray(blocked), rows, cols, free, rng


@settings(max_examples=40, deadline=None)
@given(robots_on_grid(), st.integers(1, 5))
def test_sensing_by_templates_only_for_moved_robots_matches_twin(inst, radius):
    """Ray templates give each robot the twin's visible set in the same order as the full kernel; a robot flagged as
    not moved keeps its row; ``fresh`` lists exactly the cells first covered."""
    blocked, rows, cols, free, rng = inst
    n, w = len(rows), blocked.shape[1]
    active = rng.random(n) < 0.8
    templates = ray_templates(radius)
    cells = np.full((n, (2 * radius + 1) ** 2), 7, dtype=np.int64)
    counts = np.zeros(n, dtype=np.int64)
    covered = np.zeros(blocked.size, dtype=bool)
    fresh = np.empty(blocked.size, dtype=np.int64)
    nf, seen = sense_moved(blocked, rows, cols, active, np.ones(n, bool), templates, covered, cells, counts, fresh)
    want, want_counts = sense_all(blocked, rows, cols, active, radius)
    assert cells.tolist() == want.tolist() and counts.tolist() == want_counts.tolist() and seen == counts.sum()
    for i in np.flatnonzero(active).tolist():
        assert cells[i, : counts[i]].tolist() == naive.visible(blocked, int(rows[i]), int(cols[i]), radius)
    union = sorted({c for i in range(n) for c in cells[i, : counts[i]].tolist()})
    assert sorted(fresh[:nf].tolist()) == union == np.flatnonzero(covered).tolist()
    moved = rng.random(n) < 0.5  # these move to new cells; the others stay and must keep their rows
    new = rng.choice(free, size=n)
    rows2 = np.where(moved, new // w, rows)
    cols2 = np.where(moved, new % w, cols)
    before = covered.copy()
    nf, seen = sense_moved(blocked, rows2, cols2, active, moved, templates, covered, cells, counts, fresh)
    want, want_counts = sense_all(blocked, rows2, cols2, active, radius)
    assert cells.tolist() == want.tolist() and counts.tolist() == want_counts.tolist()
    assert sorted(fresh[:nf].tolist()) == sorted(set(want[want >= 0].tolist()) - set(np.flatnonzero(before).tolist()))


@pytest.mark.parametrize("seed", [0, 1])
def test_world_step_in_one_kernel_matches_twin_step_after_step(seed):
    """``step_world`` (conflicts, soft collisions, moves, sensing of the robots that moved, in one call) leaves the
    world as the numpy step around the kernels does: executed actions, positions, collisions, rows sensed, coverage,
    fresh cells, sightings, step after step with robots dropping out and joining (random actions: conflicts)."""
    emap = generate("caves" if seed else "open", 24, seed)
    fast, twin = ExploreWorld(emap, 10, 3, reserve=3), naive.WorldStepTwin(emap, 10, 3, reserve=3)
    fast.reset(seed)
    twin.reset(seed)
    rng = np.random.default_rng(seed)
    for step in range(40):
        if step in (10, 25):  # robots leave, others join (offline robots wait)
            drop = rng.choice(np.flatnonzero(fast.active), size=2, replace=False)
            for world in (fast, twin):
                world.drop(drop)
                world.join(np.flatnonzero(~world.active)[:2])
        acts = np.where(fast.active, rng.integers(0, 5, size=fast.num), 0)
        assert fast.step(acts).tolist() == twin.step(acts).tolist()
        assert fast.pos.tolist() == twin.pos.tolist() and fast.collisions == twin.collisions
        assert fast.cells.tolist() == twin.cells.tolist() and fast.counts.tolist() == twin.counts.tolist()
        assert fast.fresh.tolist() == twin.fresh.tolist() and np.array_equal(fast.covered, twin.covered)
        assert (fast.sensed, fast.covered_free) == (twin.sensed, twin.covered_free)
    assert twin.collisions > 0 and fast.coverage > 0.2  # random moves did collide and did explore


@settings(max_examples=60, deadline=None)
@given(robots_on_grid(), st.integers(0, 2**31 - 1))
def test_soft_collisions_on_scratch_match_twin_and_leave_the_scratch_zero(inst, seed):
    blocked, rows, cols, _, _ = inst
    h, w = blocked.shape
    pad = (h + 2) * (w + 2)
    lists, slots, edges = np.empty((pad, 8), dtype=np.int64), np.zeros(pad, np.int64), np.zeros(pad * 5, np.int64)
    rng = np.random.default_rng(seed)
    for _ in range(3):  # the same scratch, reused
        acts = rng.integers(0, 5, size=len(rows)).astype(np.int64)
        got = soft_resolve_scratch(rows, cols, acts, blocked, lists, slots, edges)
        assert got.tolist() == mapf_world.soft_resolve(rows, cols, acts, blocked).tolist()
        assert not slots.any() and not edges.any()
        vertex, swaps = conflict_pairs(np.stack([rows, cols], axis=1), acts, blocked)
        assert count_conflicts(rows, cols, acts, blocked) == len(vertex) + len(swaps)


def test_conflicts_counted_by_hand():
    """Two robots into one cell (1 vertex conflict), two trading cells (1 swap), a bump into a wall is a stay."""
    blocked = np.zeros((3, 5), dtype=bool)
    blocked[0, 4] = True
    rows, cols = np.array([1, 1, 2, 2, 0]), np.array([0, 2, 3, 4, 3])
    acts = np.array([4, 3, 4, 3, 4])  # 0 and 1 both into (1, 1); 2 and 3 swap; 4 bumps the wall
    assert count_conflicts(rows, cols, acts, blocked) == 2


@settings(max_examples=40, deadline=None)
@given(known_maps(), st.integers(0, 2**31 - 1))
def test_frontier_updated_around_changed_cells_matches_twin(inst, seed):
    known, h, w, _ = inst
    rng = np.random.default_rng(seed)
    mask = np.zeros(h * w, dtype=bool)
    mask[naive.frontier_cells(known, h, w)] = True
    unknown = np.flatnonzero(known < 0)
    changed = rng.choice(unknown, size=int(rng.integers(0, len(unknown) + 1)), replace=False).astype(np.int64)
    after = known.copy()
    after[changed] = rng.choice(np.array([0, 0, 1], dtype=np.int8), size=len(changed))
    update_frontier(after, h, w, changed, mask)
    assert np.flatnonzero(mask).tolist() == naive.frontier_cells(after, h, w)


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_neighbour_table_updated_around_changed_cells_matches_twin(data):
    blocked, _, rng = random_grid(data.draw, 10)
    h, w = blocked.shape
    nbr = naive_plan.neighbour_table(blocked)
    for _ in range(4):  # cells open up (and, for the kernel's sake, close) a few at a time
        cells = rng.choice(h * w, size=int(rng.integers(0, 4)), replace=False).astype(np.int64)
        before = blocked.ravel().copy()
        blocked.ravel()[cells] = rng.random(len(cells)) < 0.3
        changed = np.flatnonzero(before != blocked.ravel())
        update_neighbours(nbr, blocked.ravel(), h, w, changed)
        assert nbr.tolist() == naive_plan.neighbour_table(blocked).tolist()


@settings(max_examples=60, deadline=None)
@given(st.data(), st.booleans())
def test_pibt_on_kept_tables_matches_twin_call_after_call_and_leaves_them_clean(data, swap):
    blocked, free, rng = random_grid(data.draw, 9)
    h, w = blocked.shape
    nbr = naive_plan.neighbour_table(blocked)
    known = np.where(blocked.ravel(), 1, 0).astype(np.int8)
    occ_now, occ_next = np.full((2, h * w), -1, dtype=np.int64)
    count = np.zeros(h * w, dtype=np.int64)
    for _ in range(3):
        n = int(rng.integers(1, min(len(free), 10) + 1))
        pos = rng.choice(free, size=n, replace=False).astype(np.int64)
        goal = rng.choice(free, size=n).astype(np.int64)
        dist = np.full((n, h * w), 65535, dtype=np.uint16)
        for i, g in enumerate(goal.tolist()):
            for c, d in naive.bfs_known(known, h, w, g).items():
                dist[i, c] = d
        drow = rng.permutation(n).astype(np.int64)  # rows shared out in any order
        noise = rng.random((n, 5)) * 0.975
        prio = rng.permutation(n).astype(np.int64)
        got = pibt_move_into(pos, nbr, dist, drow, noise, 0.5, prio, goal, swap, occ_now, occ_next, count)
        order = naive_plan.pibt_preferences(pos, nbr, dist, drow, noise, 0.5)
        want = naive_plan.pibt_step(pos, order, nbr, prio, h * w, goal, dist, drow, swap)
        assert got.tolist() == want.tolist()
        assert (occ_now == -1).all() and (occ_next == -1).all() and (count == 0).all()


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_goal_rows_bookkeeping_matches_twin_call_after_call(data):
    blocked, free, rng = random_grid(data.draw, 10)
    h, w = blocked.shape
    known = np.where(blocked.ravel(), 1, 0).astype(np.int8)
    known[rng.random(h * w) < 0.3] = -1  # part of the map unknown yet
    capacity, margin = int(rng.integers(1, 5)), int(rng.integers(1, 4))
    fast, twin = GoalFields(known, h, w, capacity, margin), naive.GoalFieldsTwin(known, h, w, capacity, margin)
    for call in range(8):
        if call == 4:  # a new snapshot: more of the map known
            known = np.where(blocked.ravel(), 1, 0).astype(np.int8)
            fast.reset(known)
            twin.reset(known)
        n = int(rng.integers(1, 9))
        goals = rng.choice(free, size=n).astype(np.int64)  # repeated goals share a row
        pos = None if rng.random() < 0.2 else rng.choice(free, size=n).astype(np.int64)
        got, want = fast.rows(goals, pos), twin.rows(goals, pos)
        assert got.tolist() == want.tolist() and fast.computed == twin.computed
        assert fast.slot.tolist() == twin.slot.tolist() and fast.goal_of.tolist() == twin.goal_of.tolist()
        used = np.flatnonzero(fast.goal_of >= 0)
        assert fast.bound[used].tolist() == twin.bound[used].tolist()
        assert np.array_equal(fast.pool[used], twin.pool[used]) and not fast.mark.any()


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**31 - 1))
def test_motion_goals_and_priorities_match_twin_step_after_step(seed):
    rng = np.random.default_rng(seed)
    cells = int(rng.integers(4, 30))
    free = rng.random(cells) < 0.7
    prio, last = np.zeros(40), np.full(40, -1, dtype=np.int64)
    prio_t, last_t = prio.copy(), last.copy()
    for _ in range(6):
        m = int(rng.integers(1, 12))
        robots = np.sort(rng.choice(40, size=m, replace=False)).astype(np.int64)
        pos = rng.integers(0, cells, m).astype(np.int64)
        goal = np.where(rng.random(m) < 0.2, -1, rng.integers(0, cells, m)).astype(np.int64)
        if rng.random() < 0.5:  # half the robots keep their goals: their priorities grow
            goal[: m // 2] = np.maximum(last[robots[: m // 2]], 0)
        assert off_map(free, pos, goal) == naive.off_map(free, pos, goal)
        got = prioritise(free, robots, pos, goal, prio, last)
        want = naive.prioritise(free, robots, pos, goal, prio_t, last_t)
        assert got[0].tolist() == want[0].tolist() and got[1].tolist() == want[1].tolist()
        assert prio.tolist() == prio_t.tolist() and last.tolist() == last_t.tolist()


@pytest.mark.skipif(os.environ.get("NUMBA_DISABLE_JIT") == "1", reason="already running without the JIT")
def test_kernel_twins_also_hold_without_jit():
    assert_twins_hold_without_jit(__file__)
