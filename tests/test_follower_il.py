"""``follower_il``: decentralization (an agent's move ignores agents outside its radius), the shipped weights, a short
shielded run that beats random moves, determinism. The feature kernel's twin tests are in test_il_kernels.py."""

from __future__ import annotations

import numpy as np
import pytest
from fleetmind.planners.mapf import lifelong_core, visible_lists
from fleetmind.planners.mapf.follower import FollowerCore
from fleetmind.planners.mapf.follower_il import FOLLOWER_WEIGHTS, NUM_INPUTS, IlCore, IlPolicy
from fleetmind.planners.registry import make_planner
from fleetmind.robots.errors import BadInputError
from fleetmind.sim.grid.mapf import MapfFleet
from fleetmind.tasks.mapf_lifelong.maps import named_map
from fleetmind.tasks.mapf_lifelong.world import MapfWorld

from fleetmind.app.runner import run_episode


def test_shipped_weights_load_and_a_missing_policy_is_one_clear_line():
    policy = IlPolicy.load("follower_il")
    assert policy.w1.shape[0] == NUM_INPUTS and policy.w1.shape[1] == policy.b1.shape[0] == policy.w2.shape[0]
    assert np.isfinite(policy.w1).all() and np.abs(policy.w2).sum() > 0 and policy.temperature >= 0
    with pytest.raises(BadInputError, match="policy weights: no file .*nowhere.npz; shipped policies: follower_il"):
        IlPolicy.load("nowhere")


@pytest.mark.parametrize(("content", "reason"), [("not an npz", r"not an \.npz archive"), ("other arrays", "b1")])
def test_a_weights_file_that_is_not_the_policys_is_one_clear_line(tmp_path, content, reason):
    path = tmp_path / "w.npz"
    if content == "other arrays":
        np.savez(path, w1=np.zeros((NUM_INPUTS, 4)))  # no b1/w2/temperature
    else:
        path.write_text("{}")
    with pytest.raises(
        BadInputError, match=rf"policy weights: .*w\.npz is not a follower_il weights file \(.*{reason}"
    ):
        IlPolicy.load(str(path))


def test_saved_weights_replace_the_file_whole_and_load_back(tmp_path):
    """The training command writes the shipped weights by default: through a temporary file and a rename."""
    policy = IlPolicy.load("follower_il")
    path = tmp_path / "w.npz"
    path.write_bytes(b"old")
    policy.save(path)
    again = IlPolicy.load(str(path))
    assert np.array_equal(again.w1, policy.w1) and again.temperature == policy.temperature
    assert [p.name for p in tmp_path.iterdir()] == ["w.npz"]


def _views(pos_rc: np.ndarray, width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
    return visible_lists(pos_rc, width, 5, height)


def test_an_agent_ignores_agents_outside_its_radius_and_reacts_inside_it():
    """Two runs that differ only in where the agents outside agent 0's radius stand (they jump every step): agent
    0's features and moves are identical at every step. Moving one agent next to agent 0 changes its features."""
    grid = named_map("pico_s00_od20_na32")
    h, w = grid.shape
    world = MapfWorld(grid, 48)
    world.reset(5)
    free = grid.free_cells
    rng = np.random.default_rng(1)
    a = IlCore(grid.obstacles, 48, seed=2)
    b = IlCore(grid.obstacles, 48, seed=2)
    pos_rc, goal = world.pos.copy(), world.cells(world.goal)
    far_seen = 0
    for _ in range(20):
        me = pos_rc[0]
        far = np.flatnonzero(np.abs(pos_rc - me).max(axis=1) > 5)
        far_seen += len(far)
        moved = pos_rc.copy()
        taken = set(map(tuple, pos_rc.tolist()))
        for j in far:  # each jumps to some other free cell outside agent 0's radius
            while True:
                cell = divmod(int(free[rng.integers(len(free))]), w)
                if max(abs(cell[0] - me[0]), abs(cell[1] - me[1])) > 5 and cell not in taken:
                    break
            moved[j] = cell
            taken.add(cell)
        acts_a = a.actions(pos_rc[:, 0] * w + pos_rc[:, 1], goal, *_views(pos_rc, w, h))
        acts_b = b.actions(moved[:, 0] * w + moved[:, 1], goal, *_views(moved, w, h))
        np.testing.assert_array_equal(a.moves[0], b.moves[0])
        np.testing.assert_array_equal(a.state[0], b.state[0])
        assert acts_a[0] == acts_b[0]
        step = np.array([(0, 0), (-1, 0), (1, 0), (0, -1), (0, 1)])[acts_a[0]]
        target = pos_rc[0] + step
        if not any((target == p).all() for p in pos_rc[1:]):
            pos_rc[0] = target  # agent 0 moves on, so its memory evolves
    assert far_seen > 20 * 15, far_seen
    # an agent stepping into the radius, next to agent 0, does change what agent 0 sees
    before = a.moves[0].copy()
    near = pos_rc.copy()
    for k in (1, 2, 3, 4):
        cell = int(a.nbr[near[0, 0] * w + near[0, 1], k])
        if cell >= 0 and not any((divmod(cell, w) == tuple(p)) for p in near.tolist()):
            near[1] = divmod(cell, w)
            break
    c = IlCore(grid.obstacles, 48, seed=2)
    c.actions(near[:, 0] * w + near[:, 1], goal, *_views(near, w, h))
    d = IlCore(grid.obstacles, 48, seed=2)
    d.actions(pos_rc[:, 0] * w + pos_rc[:, 1], goal, *_views(pos_rc, w, h))
    assert not np.array_equal(c.moves[0], d.moves[0]) and before.shape == c.moves[0].shape


def _random_throughput(grid_name: str, agents: int, steps: int, seed: int) -> float:
    world = MapfWorld(named_map(grid_name), agents)
    world.reset(seed)
    rng = np.random.default_rng(seed)
    reached = sum(int(world.step(rng.integers(0, 5, agents)).on_goal.sum()) for _ in range(steps))
    return reached / steps


def test_short_shielded_run_beats_random_moves_without_a_collision():
    """pico map, 16 agents, 64 steps, through the runner (plan -> shield -> fleet): no step reaches the fleet
    with a conflict (no failure, and the fleet reports none), and the throughput is well above random moves'."""
    fleet = MapfFleet(named_map("pico_s00_od20_na32"), 16, episode_steps=64)
    planner = make_planner("follower_il", "mapf_lifelong")
    record = run_episode(fleet, planner, seed=3)
    assert record.success or record.failure_reason is None, record
    assert record.steps == 64
    thr = float(record.extra["avg_throughput"])
    rand = _random_throughput("pico_s00_od20_na32", 16, 64, 3)
    assert thr > 0.4 and thr > 3 * rand, (thr, rand)


def test_policy_core_is_reachable_by_name_and_deterministic():
    """``lifelong_core("follower_il")`` is the shipped policy; the same seed gives the same moves."""
    grid = named_map("pico_s00_od20_na32")
    runs = []
    for _ in range(2):
        world = MapfWorld(grid, 24)
        world.reset(7)
        core = lifelong_core("follower_il", grid.obstacles, 24, 7)
        assert isinstance(core, IlCore)
        acts = []
        for _ in range(16):
            a = core.actions(world.cells(world.pos), world.cells(world.goal), *_views(world.pos, 20, 20))
            world.step(a)
            acts.append(a)
        runs.append(np.array(acts))
    np.testing.assert_array_equal(runs[0], runs[1])


def test_own_follower_takes_the_il_weights_and_an_empty_dict_restores_the_defaults():
    """Each agent's own Follower inside ``follower_il`` runs with ``FOLLOWER_WEIGHTS``; ``follower_weights={}`` gives
    the hand-written planner's defaults, whose first moves it then proposes exactly (same view, fresh memory)."""
    grid = named_map("pico_s00_od20_na32")
    world = MapfWorld(grid, 24)
    world.reset(7)
    pos, goal = world.cells(world.pos), world.cells(world.goal)
    views = _views(world.pos, 20, 20)
    tuned = IlCore(grid.obstacles, 24, 7)
    assert {k: getattr(tuned.follower, k) for k in FOLLOWER_WEIGHTS} == FOLLOWER_WEIGHTS
    assert FOLLOWER_WEIGHTS["w_dyn"] != FollowerCore(grid.obstacles, 1).w_dyn
    plain = IlCore(grid.obstacles, 24, 7, follower_weights={})
    plain.observe(pos, goal, *views)
    reference = FollowerCore(grid.obstacles, 24, 7).actions(pos, goal, *views)
    np.testing.assert_array_equal(plain.guide, reference)
    assert (reference != 0).sum() >= 12
