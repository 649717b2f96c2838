"""HAS on real robots: the frontier planners' cell moves become waypoints on the executor (firmware robot doubles,
manual clock), M5 is refused, and a robot the executor drops for a lost link is lost to the HAS hierarchy and to the
baselines B1-B5."""

from __future__ import annotations

import math

import pytest
from fleetmind.firmware_bridge.executor import ExecutorFleet
from fleetmind.firmware_bridge.executor_config import ExecutorSettings
from fleetmind.planners.registry import make_planner
from fleetmind.robots.clock import ManualClock
from fleetmind.robots.errors import BadInputError
from fleetmind.tasks import get_task

from fleetmind.app.runner import run_episode
from tests.test_fw_executor import CELL, R0, R1, doubles_fleet


def test_a_has_exploration_drives_on_the_executor_and_reorg_is_refused() -> None:
    """HAS robots only drive between cells: the frontier planner's moves become waypoints; M5 (reorg), whose joining
    robots appear mid-episode, is refused in one line before anything starts."""
    from fleetmind.firmware_bridge.waypoints import check_supported
    from fleetmind.sim.explore import ExploreFleet
    from fleetmind.tasks.has import HasConfig

    has = get_task("has")
    config = HasConfig.model_validate({"task": "has", "size": 16, "robots": 2, "family": "open", "step_limit": 3})
    clock = ManualClock()
    robots, doubles = doubles_fleet(2, clock)
    ex = ExecutorFleet(ExploreFleet(config), has, robots, ExecutorSettings(cell_size=CELL))
    start = [(d.x, d.y) for d in doubles]
    record = run_episode(ex, make_planner("frontier_nearest", "has"), 0)
    assert record.steps == 3 and record.failure_reason == "step_limit" and record.extra["collisions"] == 0
    assert record.extra["coverage"] > 0 and record.extra["max_tracking_error"] < 0.1
    assert any(math.dist(s, (d.x, d.y)) > 0.4 for s, d in zip(start, doubles, strict=True))  # they drove
    check_supported(has, config)
    with pytest.raises(BadInputError, match="^world.task: 'has' is unsupported .*mission 'reorg' puts the robots"):
        check_supported(has, config.model_copy(update={"mission": "reorg"}))


def test_a_robot_lost_on_the_executor_is_lost_to_the_has_manager_too() -> None:
    """The executor drops a robot whose link goes silent and marks it ``lost``; the HAS hierarchy used to keep it in
    its group (its frontiers were never reached). Now the hierarchy hears "robot lost" and regroups without it."""
    from fleetmind.sim.explore import ExploreFleet
    from fleetmind.tasks.has import HasConfig

    has = get_task("has")
    config = HasConfig.model_validate({"task": "has", "size": 16, "robots": 2, "family": "open", "step_limit": 6})
    clock = ManualClock()
    robots, doubles = doubles_fleet(2, clock, heartbeat=0.3)
    ex = ExecutorFleet(ExploreFleet(config), has, robots, ExecutorSettings(cell_size=CELL, heartbeat_timeout=0.3))
    planner = make_planner("has", "has")
    obs = ex.reset(0)
    planner.reset(obs, 0)
    obs = ex.step(planner.plan(obs)).observation
    before = planner.metrics()
    doubles[1].powered = False
    obs = ex.step(planner.plan(obs)).observation
    assert obs.robots[R1].data["lost"] is True
    planner.plan(obs)
    after = planner.metrics()
    assert after["repairs"] > before["repairs"]  # the heuristic repaired the groups: "robot lost"
    grouped = {r for lead in planner.leaders.values() for r in lead.group.members}  # type: ignore[attr-defined]
    assert grouped == {R0}


@pytest.mark.parametrize("name", ["frontier_utility", "frontier_nearest"])
def test_a_robot_lost_on_the_executor_gets_no_frontier_from_the_baselines(name: str) -> None:
    """The frontier baselines planned for a robot the executor had dropped (its goal stayed taken, so B3/B4 kept
    the others away from it); now it reads inactive on their platform and gets no goal or command."""
    from fleetmind.sim.explore import ExploreFleet
    from fleetmind.tasks.has import HasConfig

    has = get_task("has")
    config = HasConfig.model_validate({"task": "has", "size": 16, "robots": 2, "family": "open", "step_limit": 6})
    clock = ManualClock()
    robots, doubles = doubles_fleet(2, clock, heartbeat=0.3)
    ex = ExecutorFleet(ExploreFleet(config), has, robots, ExecutorSettings(cell_size=CELL, heartbeat_timeout=0.3))
    planner = make_planner(name, "has")
    obs = ex.reset(0)
    planner.reset(obs, 0)
    obs = ex.step(planner.plan(obs)).observation
    assert planner.core.p.active.tolist() == [True, True]  # type: ignore[attr-defined]
    doubles[1].powered = False
    obs = ex.step(planner.plan(obs)).observation
    assert obs.robots[R1].data["lost"] is True
    commands = planner.plan(obs)
    assert planner.core.p.active.tolist() == [True, False]  # type: ignore[attr-defined]
    assert R1 not in commands
