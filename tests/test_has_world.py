"""The HAS exploration world and missions (issue 16): seeded semantic maps, coverage, shield, M3/M5 events."""

from __future__ import annotations

import random

import numpy as np
import pytest
from fleetmind.robots.commands import GridStep, Wait
from fleetmind.robots.conformance import sample_legal
from fleetmind.robots.errors import BadInputError, IllegalCommandError
from fleetmind.robots.ids import RobotId
from fleetmind.sim.explore import ExploreFleet
from fleetmind.tasks import get_task
from fleetmind.tasks.has import HasConfig
from fleetmind.tasks.has.maps import FAMILIES, generate
from fleetmind.tasks.mapf_lifelong._kernels import components


def cfg(**kw) -> HasConfig:
    return HasConfig.model_validate({"task": "has", "size": 32, "robots": 4, "step_limit": 80, **kw})


@pytest.mark.parametrize("family", FAMILIES)
def test_maps_are_seeded_connected_and_distractors_differ_in_one_attribute(family):
    a, b = generate(family, 48, 5, targets=3), generate(family, 48, 5, targets=3)
    assert np.array_equal(a.blocked, b.blocked) and a.objects == b.objects
    assert not np.array_equal(a.blocked, generate(family, 48, 6, targets=3).blocked)
    label = components(np.ascontiguousarray(a.blocked))
    assert set(np.unique(label[label >= 0]).tolist()) == {0}, "one connected free space"
    assert len(a.targets) == 3 and all(not a.blocked[o.cell] for o in a.objects)
    for t in a.targets:
        target = a.objects[t]
        twins = [o for o in a.objects if o.id != t and o.kind == target.kind]
        near = [
            o
            for o in twins
            if sum(x != y for x, y in zip(o.attrs(), target.attrs(), strict=True))
            + (a.rooms[o.room].kind != a.rooms[target.room].kind)
            == 1
        ]
        assert near, f"target {target.label} has no distractor differing in one attribute"
    if family == "open":
        assert 0.02 < a.blocked.mean() < 0.08


def test_bad_family_is_one_line():
    with pytest.raises(BadInputError, match="family 'lava' is unknown; choose one of open, rooms, maze, caves"):
        generate("lava", 32, 0)


def test_coverage_is_monotone_and_collisions_counted_without_shield():
    fleet = ExploreFleet(cfg(family="open"))
    obs = fleet.reset(3)
    rng = random.Random(0)
    last = obs.world["coverage"]
    for _ in range(40):
        result = fleet.step(sample_legal(obs, rng))
        obs = result.observation
        assert obs.world["coverage"] >= last
        last = obs.world["coverage"]
    assert last > 0.1
    assert result.metrics["collisions"] > 0  # random moves of packed robots do collide; only the shield stops that
    assert "map" in obs.world and "blocked" not in obs.world  # the map itself is never observed


def test_shield_refuses_conflicts_and_offline_robots():
    task = get_task("has")
    fleet = ExploreFleet(cfg(mission="reorg", robots=4))
    obs = fleet.reset(0)
    pos = obs.world["positions"]
    assert obs.world["active"] == (True,) * 4 + (False,)
    r0 = RobotId("robot_0")
    # two robots stepping into one cell: find a pair of neighbours of a free cell
    names = list(obs.robot_ids)
    moves = {"up": (-1, 0), "down": (1, 0), "left": (0, -1), "right": (0, 1)}
    plan = None
    for i in range(4):
        for j in range(4):
            for di, (dr, dc) in moves.items():
                for dj, (er, ec) in moves.items():
                    a = (pos[i][0] + dr, pos[i][1] + dc)
                    b = (pos[j][0] + er, pos[j][1] + ec)
                    walls_i = obs.world["walls"][i][list(moves).index(di)]
                    walls_j = obs.world["walls"][j][list(moves).index(dj)]
                    if i < j and a == b and not walls_i and not walls_j and a not in pos:
                        plan = {names[i]: GridStep(di), names[j]: GridStep(dj)}  # type: ignore[arg-type]
    assert plan is not None
    assert any("vertex conflict" in line for line in task.check(obs, plan))
    assert task.check(obs, {r0: Wait()}) == []
    assert task.check(obs, {RobotId("robot_4"): GridStep("up")}) == ["robot_4 is offline; it cannot take step up"]
    with pytest.raises(IllegalCommandError, match="offline"):
        fleet.step({RobotId("robot_4"): GridStep("up")})


def test_reorg_drops_a_quarter_and_joins_as_many_at_30_percent():
    fleet = ExploreFleet(cfg(mission="reorg", robots=8, step_limit=20))
    obs = fleet.reset(1)
    assert sum(obs.world["active"]) == 8 and len(obs.robot_ids) == 10
    for _ in range(6):
        result = fleet.step({})
    kinds = [e.kind for e in result.events]
    assert kinds.count("lost") == 2 and kinds.count("joined") == 2
    assert sum(result.observation.world["active"]) == 8
    joined = [e.robot for e in result.events if e.kind == "joined"]
    assert set(joined) == {"robot_8", "robot_9"}


def test_sequential_reveals_the_next_target_when_one_is_reached():
    fleet = ExploreFleet(cfg(mission="sequential", targets=2))
    obs = fleet.reset(2)
    mission = fleet.mission
    first = obs.world["goal"]
    assert first["index"] == 0 and first["target"] == list(fleet.world.emap.objects[mission.targets[0]].attrs())
    # put robot_0 on the target (the test reaches into the world) and step
    fleet.world.pos[0] = fleet.world.emap.objects[mission.targets[0]].cell
    result = fleet.step({})
    assert result.observation.world["goal"]["index"] == 1
    assert any("reached" in e.detail for e in result.events)
    assert result.metrics["targets_found"] == 1 and not result.done
