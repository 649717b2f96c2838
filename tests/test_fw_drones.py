"""MavlinkFleet (firmware_bridge/drones.py) against THREE pymavlink vehicle doubles at once, on one manual clock.

Two PX4 doubles (offboard) and one ArduPilot double (guided + NAV_TAKEOFF) play lifelong MAPF on a 3x4 grid:
take-off to the start cells, grid steps through the shield (``shielded_step``), landing at the end of the episode,
link loss (failsafe land, episode fails ``robot_lost``), e-stop mid-step and between steps, and the step deadline.
Every deadline is simulated time (``MavLoopbackFleet``), so the figures are exact, not wall-clock windows."""

from __future__ import annotations

import math
from typing import Any

import pytest
from fleetmind.firmware_bridge.drone_config import DroneFleetConfig, MapOrigin
from fleetmind.firmware_bridge.drones import MavlinkFleet, check_supported
from fleetmind.firmware_bridge.mavlink import ARDUCOPTER_MODES, LinkState
from fleetmind.planners.registry import make_planner
from fleetmind.robots.commands import Command, GridStep, Wait
from fleetmind.robots.errors import BadInputError, ExpectedFailure
from fleetmind.robots.fleet import Observation
from fleetmind.robots.ids import RobotId
from fleetmind.robots.scene import cell_xy
from fleetmind.sim.grid.mapf import MapfFleet
from fleetmind.tasks import get_task
from fleetmind.tasks.mapf_lifelong import TASK as MAPF
from fleetmind.tasks.mapf_lifelong.maps import parse_string_map
from pydantic import ValidationError
from pymavlink.dialects.v20 import common as mav

from fleetmind.app.runner import shielded_step
from fleetmind.app.scenario import ScenarioError, parse_scenario
from fleetmind.testing.vehicle_double import MavLoopbackFleet

AUTOPILOTS = ["px4", "ardupilot", "px4"]
POLL = 0.02  # s per round over the three links (fewer simulated ticks than the default 0.01)
DELTA = {"up": (-1, 0), "down": (1, 0), "left": (0, -1), "right": (0, 1)}


def drone_fleet(episode_steps: int = 3, **settings: Any) -> tuple[MavLoopbackFleet, MavlinkFleet]:
    loop = MavLoopbackFleet(AUTOPILOTS)
    inner = MapfFleet(parse_string_map("....\n....\n...."), 3, episode_steps, "restart")
    robots = [
        {"name": f"robot_{i}", "url": "loopback", "autopilot": a, "target_system": i + 1}
        for i, a in enumerate(AUTOPILOTS)
    ]
    # robot_0 and robot_1 stand off the grid, turned; robot_2 has no start: it stands on its start cell
    start = {"robot_0": (-1.0, -1.0, math.pi / 2), "robot_1": (5.0, 0.5, -math.pi / 4)}
    config = DroneFleetConfig.model_validate(
        {"robots": robots, "cell_size": 1.0, "altitude": 1.5, "start": start, "poll_period": POLL, **settings}
    )
    conns = {f"robot_{i}": lp.host for i, lp in enumerate(loop.loops)}
    return loop, MavlinkFleet(inner, MAPF, config, clock=loop.clock, connections=conns, keepalive=False)


def cells_of(obs: Observation) -> dict[RobotId, tuple[float, float]]:
    return {RobotId(f"robot_{i}"): cell_xy(r, c, 1.0) for i, (r, c) in enumerate(obs.world["positions"])}


def free_moves(obs: Observation) -> dict[RobotId, Command]:
    """Each robot in turn steps into a free in-bounds cell nobody stands on or claimed (a plan the shield passes)."""
    rows, cols = obs.world["shape"]
    taken = {tuple(p) for p in obs.world["positions"]}
    plan: dict[RobotId, Command] = {}
    for i, (r, c) in enumerate(obs.world["positions"]):
        rid = RobotId(f"robot_{i}")
        plan[rid] = Wait()
        for name, (dr, dc) in DELTA.items():
            cell = (r + dr, c + dc)
            if 0 <= cell[0] < rows and 0 <= cell[1] < cols and cell not in taken:
                plan[rid] = GridStep(name)  # type: ignore[arg-type]
                taken.add(cell)
                break
    return plan


def assert_over_cells(fleet: MavlinkFleet, obs: Observation, altitude: float = 1.5) -> None:
    for rid, (x, y) in cells_of(obs).items():
        pose = fleet.map_pose(rid)
        assert pose is not None and math.dist(pose, (x, y, altitude)) <= 0.15, (rid, pose, (x, y))
        assert obs.robots[rid].measured["position"] == pytest.approx(pose, abs=1e-3)


def test_map_origin_frames_hand_worked() -> None:
    o = MapOrigin(1.0, 2.0, math.pi / 2)  # local north points along map +y, so local east is map +x
    assert o.to_local(1.0, 3.0, 1.5) == pytest.approx((1.0, 0.0, -1.5))
    assert o.to_local(2.0, 2.0, 0.0) == pytest.approx((0.0, 1.0, 0.0))
    assert o.to_map(0.0, 1.0, -2.0) == pytest.approx((2.0, 2.0, 2.0))
    r = MapOrigin(-3.0, 0.5, 0.7)
    assert r.to_map(*r.to_local(0.25, -4.0, 3.0)) == pytest.approx((0.25, -4.0, 3.0))
    assert MapOrigin.placing(0.2, -0.1, 2.5, 1.5).to_map(0.2, -0.1, 0.0) == pytest.approx((2.5, 1.5, 0.0))


def test_three_vehicles_take_off_fly_the_plan_and_land_at_the_end() -> None:
    loop, fleet = drone_fleet(episode_steps=3)
    obs = fleet.reset(seed=4)
    assert all(v.armed and v.mode_is("offboard") for v in fleet.vehicles.values())
    assert_over_cells(fleet, obs)
    notes = [lp.vehicle.notes for lp in loop.loops]
    assert any(text == "TAKEOFF 2.50" for _, text in notes[1])  # ArduPilot: guided + NAV_TAKEOFF to its layer
    assert not any(text.startswith("TAKEOFF") for n in (notes[0], notes[2]) for _, text in n)  # PX4: setpoints
    moved = 0
    for k in range(3):
        plan = free_moves(obs)
        moved += sum(isinstance(c, GridStep) for c in plan.values())
        before = loop.clock.now()
        result = shielded_step(fleet, obs, plan)
        obs = result.observation
        assert result.failure_reason is None
        if k < 2:
            assert not result.done
            assert_over_cells(fleet, obs)
            assert loop.clock.now() - before <= 1.5  # one 1 m cell at 2 m/s, plus settling
    assert moved >= 3
    assert result.done and result.success and result.metrics["landed"] == 3
    assert 0.7 <= result.metrics["closest_vehicles"] <= 1.0  # cells 1 m apart; an L-shaped follow passes 0.707 m
    for lp in loop.loops:
        assert not lp.vehicle.armed and lp.vehicle.pos[2] == 0.0  # on the ground, disarmed
        assert not any(text == "MODE hold offboard_loss" for _, text in lp.vehicle.notes)  # never starved
    assert fleet.step({}) is result  # done is sticky
    fleet.close()


def test_link_loss_mid_step_lands_the_vehicle_and_fails_the_episode_robot_lost() -> None:
    loop, fleet = drone_fleet(episode_steps=20)
    obs = fleet.reset(seed=1)
    t_cut = loop.clock.now() + 0.1
    loop.at(t_cut, lambda: loop.loops[1].cut(True))
    result = shielded_step(fleet, obs, free_moves(obs))
    assert result.done and result.failure_reason == "robot_lost" and not result.success
    assert [(e.robot, e.kind) for e in result.events if e.kind == "lost"] == [("robot_1", "lost")]
    v1 = fleet.vehicles[RobotId("robot_1")]
    assert v1.state is LinkState.LOST and v1.link_losses == 1
    last_beat = v1.last_heartbeat
    assert last_beat is not None and last_beat <= t_cut
    land = [
        t
        for t, m, _ in loop.loops[1].to_vehicle.sent
        if m.get_type() == "COMMAND_LONG"
        and m.command == mav.MAV_CMD_DO_SET_MODE
        and int(m.param2) == ARDUCOPTER_MODES["land"]
    ]
    assert land and land[0] - last_beat == pytest.approx(1.0, abs=0.02)  # link_timeout 1 s, then land at once
    assert v1.lost_at == land[0]
    for i in (0, 2):  # the others were landed with the episode
        assert not loop.loops[i].vehicle.armed and loop.loops[i].vehicle.pos[2] == 0.0
    loop.loops[1].cut(False)  # the radio comes back: the resent land command reaches it and it lands
    fleet.spin_for(4.0)  # what the keep-alive thread does after the episode
    assert loop.loops[1].vehicle.mode == ARDUCOPTER_MODES["land"]
    assert not loop.loops[1].vehicle.armed and loop.loops[1].vehicle.pos[2] == 0.0
    fleet.close()


def test_estop_mid_step_lands_every_vehicle_and_latches() -> None:
    loop, fleet = drone_fleet(episode_steps=20)
    obs = fleet.reset(seed=2)
    t_stop = loop.clock.now() + 0.2
    loop.at(t_stop, fleet.request_estop)
    result = shielded_step(fleet, obs, free_moves(obs))
    assert result.done and result.failure_reason == "estop"
    for lp in loop.loops:
        commanded = next(t for t, text in lp.vehicle.notes if text == "MODE land commanded")
        assert 0 < commanded + lp.vehicle.t0 - t_stop <= POLL + 0.01  # within one poll round of the request
        assert not lp.vehicle.armed and lp.vehicle.pos[2] == 0.0
    assert result.observation.world["estop"] is True
    with pytest.raises(ExpectedFailure, match="clear_estop"):
        fleet.reset(seed=3)
    fleet.clear_estop()
    obs = fleet.reset(seed=3)  # flies again after the operator clears it
    assert_over_cells(fleet, obs)
    fleet.close()
    assert all(not lp.vehicle.armed for lp in loop.loops)  # close lands what flies


def test_estop_between_steps_lands_at_once_and_the_next_step_reports_it() -> None:
    loop, fleet = drone_fleet(episode_steps=20)
    obs = fleet.reset(seed=5)
    assert fleet.estop_all() == {RobotId(f"robot_{i}"): True for i in range(3)}
    result = fleet.step(free_moves(obs))
    assert result.done and result.failure_reason == "estop" and result.observation.step == 0  # nothing moved
    fleet.close()


def test_a_step_that_cannot_arrive_fails_with_timeout_at_the_deadline() -> None:
    loop, fleet = drone_fleet(episode_steps=20, step_deadline=0.2)  # a 1 m cell takes 0.5 s at 2 m/s
    obs = fleet.reset(seed=6)
    before = loop.clock.now()
    plan = free_moves(obs)
    result = shielded_step(fleet, obs, plan)
    assert result.failure_reason == "timeout" and result.done
    assert {e.robot for e in result.events if e.kind == "timeout"} == {r for r, c in plan.items() if c != Wait()}
    assert result.metrics["flight_time"] - 0.0 >= 0.2 and loop.clock.now() - before >= 0.2
    assert result.metrics["landed"] == 3
    fleet.close()


def test_bad_configuration_is_one_line_naming_the_field() -> None:
    loop, fleet = drone_fleet()
    fleet.close()
    inner = MapfFleet(parse_string_map("....\n...."), 2, 3, "restart")
    two = DroneFleetConfig.model_validate(
        {"robots": [{"name": "robot_0", "url": "x"}, {"name": "drone_1", "url": "y"}]}
    )
    with pytest.raises(BadInputError, match=r"^robots: .*drone_1.*robot_1"):
        MavlinkFleet(inner, MAPF, two, connections={"robot_0": object(), "drone_1": object()}, keepalive=False)
    boxes = r"^world.task: 'boxnet1' is unsupported on the mavlink backend \(its robots move boxes"
    with pytest.raises(BadInputError, match=boxes):
        MavlinkFleet(inner, get_task("boxnet1"), two, keepalive=False)
    with pytest.raises(ValidationError, match=r"tolerance \(0.15 m\) must be below half a cell \(0.125 m\)"):
        DroneFleetConfig.model_validate({"robots": [{"name": "robot_0", "url": "x"}], "cell_size": 0.25})


def scenario_on_drones(scenario: Any) -> tuple[MavLoopbackFleet, MavlinkFleet]:
    """``scenario``'s grid model flown by three loopback vehicles (layers 0.5 m apart)."""
    loop = MavLoopbackFleet(AUTOPILOTS)
    robots = [
        {"name": f"robot_{i}", "url": "loopback", "autopilot": a, "target_system": i + 1}
        for i, a in enumerate(AUTOPILOTS)
    ]
    config = DroneFleetConfig.model_validate({"robots": robots, "layer_gap": 0.5, "poll_period": POLL})
    conns = {f"robot_{i}": lp.host for i, lp in enumerate(loop.loops)}
    fleet = MavlinkFleet(
        scenario.make_fleet(), scenario.task, config, clock=loop.clock, connections=conns, keepalive=False
    )
    return loop, fleet


def test_warehouse_through_a_scenario_flies_the_oracle_plan_over_the_tracks() -> None:
    scenario = parse_scenario({"name": "w", "world": {"backend": "grid", "task": "warehouse", "robots": 3}})
    loop, fleet = scenario_on_drones(scenario)
    oracle = scenario.task.make_oracle()
    obs = fleet.reset(seed=0)
    moves = 0
    for _ in range(3):
        plan = oracle.plan(obs)
        moves += sum(not isinstance(c, Wait) for c in plan.values())
        obs = shielded_step(fleet, obs, plan).observation
        for rid, (x, y, _, _) in scenario.task.scene(obs.world, 1.0).robots.items():
            pose = fleet.map_pose(RobotId(rid))
            assert pose is not None and math.dist(pose, (x, y, 1.5)) <= 0.15, (rid, pose, (x, y))
    assert moves >= 3
    fleet.close()
    assert all(not lp.vehicle.armed and lp.vehicle.pos[2] == 0.0 for lp in loop.loops)


def test_backend_mavlink_in_a_scenario() -> None:
    vehicles = [
        {"name": f"robot_{i}", "url": f"udpout:127.0.0.1:{14540 + i}", "target_system": i + 1} for i in range(2)
    ]
    world = {"backend": "mavlink", "task": "warehouse", "robots": 2, "mavlink": {"robots": vehicles, "cell_size": 2.0}}
    fleet = parse_scenario({"name": "d", "world": world}).make_fleet()
    assert (
        isinstance(fleet, MavlinkFleet) and fleet.config.cell_size == 2.0 and fleet.robot_ids == ("robot_0", "robot_1")
    )
    fleet.close()
    with pytest.raises(
        ScenarioError, match=r"unknown key 'world.mavlink.cell'; allowed keys here: altitude, cell_size"
    ):
        parse_scenario({"name": "d", "world": {**world, "mavlink": {"robots": vehicles, "cell": 2.0}}})
    with pytest.raises(BadInputError, match=r"^world.mavlink: required with backend: mavlink"):
        parse_scenario({"name": "d", "world": {k: v for k, v in world.items() if k != "mavlink"}}).make_fleet()


def test_a_has_exploration_flies_over_its_cells_and_reorg_is_refused() -> None:
    """HAS robots only move between cells, so drones fly its missions; M5 (reorg) puts joining robots onto the map
    mid-episode and is refused in one line."""
    world = {"backend": "grid", "task": "has", "size": 16, "robots": 3, "family": "open", "step_limit": 3}
    scenario = parse_scenario({"name": "h", "world": world, "run": {"planner": "frontier_nearest"}})
    loop, fleet = scenario_on_drones(scenario)
    planner = make_planner("frontier_nearest", "has")
    obs = fleet.reset(seed=0)
    planner.reset(obs, 0)
    first = scenario.task.scene(obs.world, 1.0).robots
    for _ in range(3):
        obs = shielded_step(fleet, obs, planner.plan(obs)).observation
        for rid, (x, y, _, _) in scenario.task.scene(obs.world, 1.0).robots.items():
            pose = fleet.map_pose(RobotId(rid))
            assert pose is not None and math.dist(pose[:2], (x, y)) <= 0.15, (rid, pose, (x, y))
    assert scenario.task.scene(obs.world, 1.0).robots != first  # they flew
    fleet.close()
    reorg = scenario.world.model_copy(update={"mission": "reorg"})
    with pytest.raises(BadInputError, match=r"^world.task: 'has' is unsupported on the mavlink backend \(mission"):
        check_supported(scenario.task, reorg)
