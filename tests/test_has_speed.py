"""The fast exploration loop (sensing only for robots that moved, soft collisions on reused scratch, the shared map
merging only the cells first seen, the frontier kept up to date around them, the cluster searches and goal rows on
buffers kept across steps, PIBT priorities as arrays) decides exactly what the full recomputation decides: same
positions, coverage, map, frontier and goals, step for step, for B1-B4."""

from __future__ import annotations

import numpy as np
import pytest
from fleetmind.planners.has._kernels import frontier_cells
from fleetmind.planners.has.baselines import FrontierCore
from fleetmind.planners.has.motion import Motion
from fleetmind.planners.has.platform import InfoPlatform
from fleetmind.planners.mapf._kernels import neighbour_table, pibt_preferences, pibt_step
from fleetmind.sim.explore import ExploreWorld
from fleetmind.sim.explore._kernels import sense_all
from fleetmind.tasks.has.maps import generate
from fleetmind.tasks.mapf_lifelong._kernels import DC, DR, soft_resolve
from fleetmind.tasks.mapf_lifelong.shield import conflict_pairs

from tests.naive.explore import GoalFieldsTwin


class FullWorld(ExploreWorld):
    """The world as it was: every robot senses every step, collisions from the shield's lists."""

    def sense(self) -> None:
        self.cells, self.counts = sense_all(
            self.blocked, self.pos[:, 0].copy(), self.pos[:, 1].copy(), self.active, self.radius
        )
        seen = self.cells[self.cells >= 0]
        self.sensed += len(seen)
        self.covered[seen] = True
        self.covered_free = int((self.covered & ~self.blocked.ravel()).sum())

    def step(self, actions: np.ndarray) -> np.ndarray:
        on = np.flatnonzero(self.active)
        pos, acts = self.pos[on], np.asarray(actions, dtype=np.int64)[on]
        vertex, swaps = conflict_pairs(pos, acts, self.blocked)
        self.collisions += len(vertex) + len(swaps)
        done = soft_resolve(pos[:, 0].copy(), pos[:, 1].copy(), acts.copy(), self.blocked)
        executed = np.zeros(self.num, dtype=np.int64)
        executed[on] = done
        self.pos[on, 0] += DR[done]
        self.pos[on, 1] += DC[done]
        self.sense()
        return executed


class FullPlatform(InfoPlatform):
    """The frontier recomputed over the whole map at every call."""

    def frontier_cells(self) -> np.ndarray:
        return frontier_cells(self.known, self.h, self.w)

    def frontier_mask(self) -> np.ndarray:
        mask = np.zeros(self.h * self.w, dtype=bool)
        mask[self.frontier_cells()] = True
        return mask


class FullMotion(Motion):
    """PIBT as it was: priorities in dicts, one robot at a time, fresh goal rows (bookkept in numpy) and a fresh
    neighbour table on every rebuild, and PIBT on fresh occupancy tables."""

    def actions(self, known, robots, pos, goal, step):
        stale = self.free is None or step - self.built >= self.refresh_every
        outside = self.free is not None and not self.free[goal[goal >= 0]].all()
        if stale or not self.free[pos].all() or (outside and step - self.built >= self.min_rebuild):
            blocked = np.ascontiguousarray((known != 0).reshape(self.h, self.w))
            self.free = ~blocked.ravel()
            self.nbr = neighbour_table(blocked)
            self.cache = GoalFieldsTwin(np.where(self.free, 0, 1), self.h, self.w, len(pos) + 16)
            self.built = step
        old = self.__dict__.setdefault("old", {"priority": {}, "last_goal": {}})
        last = np.array([old["last_goal"].get(r, -1) for r in robots.tolist()], dtype=np.int64)
        ok = (goal >= 0) & self.free[np.maximum(goal, 0)]
        ok_last = (last >= 0) & self.free[np.maximum(last, 0)]
        goal = np.where(ok, goal, np.where(ok_last, last, pos)).astype(np.int64)
        prio = np.empty(len(pos))
        for k, (r, g, p) in enumerate(zip(robots.tolist(), goal.tolist(), pos.tolist(), strict=True)):
            rest = old["last_goal"].get(r) != g or p == g
            old["priority"][r] = (r % 97) * 1e-4 if rest else old["priority"].get(r, 0.0) + 1.0
            old["last_goal"][r] = g
            prio[k] = old["priority"][r]
        rows = self.cache.rows(goal, pos)
        order = pibt_preferences(pos, self.nbr, self.cache.pool, rows, self.rng.random((len(pos), 5)) * 0.975, 0.5)
        ranked = np.argsort(-prio, kind="stable").astype(np.int64)
        return pibt_step(pos, order, self.nbr, ranked, self.nbr.shape[0], goal, self.cache.pool, rows, True)


@pytest.mark.parametrize("method", ["nearest", "explore_lite", "utility", "hungarian"])
def test_fast_loop_decides_as_the_full_recomputation(method):
    emap = generate("open", 40, 3)
    names = [f"robot_{i}" for i in range(8)]
    fast, full = ExploreWorld(emap, 8, 4), FullWorld(emap, 8, 4)
    fast.reset(3)
    full.reset(3)
    a = FrontierCore(method, InfoPlatform(emap.shape, names), 4, 3)
    b = FrontierCore(method, FullPlatform(emap.shape, names), 4, 3)
    b.scratch = None  # fresh buffers for every search
    b.motion = FullMotion(40, 40, 3)
    flat = emap.blocked.ravel()
    coverage = []
    for step in range(70):
        wall = flat[fast.fresh]
        a.p.ingest_seen(step, fast.pos, fast.active, fast.fresh[~wall], fast.fresh[wall])
        free = [full.cells[i, : full.counts[i]][~flat[full.cells[i, : full.counts[i]]]] for i in range(8)]
        walls = [full.cells[i, : full.counts[i]][flat[full.cells[i, : full.counts[i]]]] for i in range(8)]
        b.p.ingest_cells(step, full.pos, full.active, free, walls)
        assert np.array_equal(a.p.known, b.p.known)
        assert a.p.frontier_cells().tolist() == frontier_cells(b.p.known, 40, 40).tolist()
        acts_a, acts_b = a.act(step), b.act(step)
        assert acts_a.tolist() == acts_b.tolist() and a.goal.tolist() == b.goal.tolist()
        assert a.motion.priority == b.motion.old["priority"] and a.motion.last_goal == b.motion.old["last_goal"]
        fast.step(acts_a)
        full.step(acts_b)
        assert fast.pos.tolist() == full.pos.tolist()
        assert np.array_equal(fast.covered, full.covered) and fast.covered_free == full.covered_free
        assert fast.sensed == full.sensed and fast.collisions == full.collisions
        assert fast.cells.tolist() == full.cells.tolist() and fast.counts.tolist() == full.counts.tolist()
        coverage.append(fast.coverage)
    assert coverage[-1] > 0.3 and coverage == sorted(coverage)  # the robots did explore


def test_ingest_seen_is_for_one_shared_map_only():
    p = InfoPlatform((4, 4), ["a"], comm_range=3)
    with pytest.raises(ValueError, match="comm_range"):
        p.ingest_seen(0, np.zeros((1, 2), dtype=np.int64), np.array([True]), np.array([0]), np.array([1]))
