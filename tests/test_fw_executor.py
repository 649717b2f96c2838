"""The real-robot executor (``backend: firmware``) on robot doubles and a manual clock: waypoints in the map frame,
the control rate, arrival, the step deadline, lost robots, e-stop, Warehouse, and what it refuses. No SITL, no
wall-clock windows: every number is simulated time."""

from __future__ import annotations

import math
from typing import Any

import pytest
from fleetmind.firmware_bridge.config import FirmwareFleetConfig, RobotLinkConfig
from fleetmind.firmware_bridge.executor import ExecutorFleet
from fleetmind.firmware_bridge.executor_config import ExecutorSettings
from fleetmind.firmware_bridge.fleet import FirmwareFleet
from fleetmind.planners.registry import make_planner
from fleetmind.robots.clock import ManualClock
from fleetmind.robots.commands import GridStep, Wait
from fleetmind.robots.errors import BadInputError
from fleetmind.robots.ids import RobotId
from fleetmind.sim.grid.fleet import GridFleet
from fleetmind.sim.grid.mapf import MapfFleet
from fleetmind.tasks import get_task
from fleetmind.tasks.mapf_lifelong import TASK as MAPF
from fleetmind.tasks.mapf_lifelong.maps import parse_string_map

from fleetmind.app.runner import run_episode
from fleetmind.app.scenario import parse_scenario
from fleetmind.testing.robot_double import RobotDouble

R0, R1 = RobotId("robot_0"), RobotId("robot_1")
CELL = 0.5
MAP = """
....
....
....
"""


def doubles_fleet(n: int, clock: ManualClock, heartbeat: float = 0.5) -> tuple[FirmwareFleet, list[RobotDouble]]:
    doubles = [RobotDouble(clock, 10 + i) for i in range(n)]
    links = [
        RobotLinkConfig(name=f"robot_{i}", wire_id=10 + i, udp_host="127.0.0.1", udp_port=9, allow_unauthenticated=True)
        for i in range(n)
    ]
    by_name = {f"robot_{i}": d for i, d in enumerate(doubles)}
    config = FirmwareFleetConfig(robots=links, heartbeat_timeout=heartbeat)
    return FirmwareFleet(config, clock=clock, open_transport=lambda rc: by_name[rc.name]), doubles


def mapf_executor(steps: int = 10, **settings: Any) -> tuple[ExecutorFleet, list[RobotDouble], ManualClock]:
    clock = ManualClock()
    robots, doubles = doubles_fleet(2, clock, settings.pop("heartbeat", 0.5))
    inner = MapfFleet(parse_string_map(MAP), 2, episode_steps=steps)
    return ExecutorFleet(inner, MAPF, robots, ExecutorSettings(cell_size=CELL, **settings)), doubles, clock


def centre(cell: tuple[int, int]) -> tuple[float, float]:
    return ((cell[1] + 0.5) * CELL, (cell[0] + 0.5) * CELL)


def map_xy(double: RobotDouble, start: tuple[int, int]) -> tuple[float, float]:
    """A double's pose in the map frame: its odometry started at the centre of its start cell, facing +x."""
    x0, y0 = centre(start)
    return x0 + double.x, y0 + double.y


def free_step(obs: Any, rid: RobotId) -> tuple[GridStep, tuple[int, int]]:
    r, c = obs.world["positions"][int(rid[-1])]
    taken = {tuple(p) for p in obs.world["positions"]}
    for direction, (dr, dc) in (("right", (0, 1)), ("left", (0, -1)), ("down", (1, 0)), ("up", (-1, 0))):
        if 0 <= r + dr < 3 and 0 <= c + dc < 4 and (r + dr, c + dc) not in taken:
            return GridStep(direction), (r + dr, c + dc)  # type: ignore[arg-type]
    raise AssertionError("no free neighbour")


def test_a_grid_step_becomes_a_waypoint_reached_within_tolerance_at_the_control_rate() -> None:
    ex, doubles, clock = mapf_executor(tolerance=0.03)
    obs = ex.reset(0)
    starts = [tuple(p) for p in obs.world["positions"]]
    assert obs.robots[R0].measured["pose"] == [*map(lambda v: round(v, 3), centre(starts[0])), 0.0]
    assert obs.world["frame"] == "map" and obs.robots[R0].measured["localization"] == "odometry"
    command, target = free_step(obs, R0)
    t0, sent0 = clock.now(), len(doubles[0].velocities())
    result = ex.step({R0: command, R1: Wait()})
    elapsed = clock.now() - t0
    assert not result.done and result.failure_reason is None
    assert tuple(result.observation.world["positions"][0]) == target
    x, y = map_xy(doubles[0], starts[0])
    assert math.dist((x, y), centre(target)) <= 0.03 + 0.01  # arrived: within tolerance (plus one tick of motion)
    assert math.dist(map_xy(doubles[1], starts[1]), centre(starts[1])) < 1e-9  # the waiting robot never moved
    assert result.observation.robots[R0].measured["pose"][:2] == pytest.approx(
        [x, y], abs=0.005
    )  # telemetry: one tick behind
    # 0.5 m at <= 0.5 m/s, after a turn when needed: at least 1 s, well under the deadline
    assert 1.0 <= elapsed < 5.0 and result.metrics["mean_step_time"] == pytest.approx(elapsed, abs=1e-6)
    times = [t for t, _, _ in doubles[0].velocities()[sent0:]]
    assert len(times) >= 20 * elapsed * 0.9  # >= 20 Hz
    assert max(b - a for a, b in zip(times, times[1:], strict=False)) <= 0.05 + 1e-9
    assert doubles[0].v == 0.0 and doubles[0].omega == 0.0  # stopped on arrival
    assert result.metrics["collisions"] == 0 and result.metrics["max_tracking_error"] <= 0.05


def test_the_step_deadline_fails_the_episode_with_timeout_and_stops_every_robot() -> None:
    ex, doubles, clock = mapf_executor(step_deadline=0.4)
    obs = ex.reset(0)
    command, _ = free_step(obs, R0)
    t0 = clock.now()
    result = ex.step({R0: command})
    assert result.done and result.failure_reason == "timeout" and result.metrics["success"] is False
    assert 0.4 <= clock.now() - t0 <= 0.4 + 0.05  # one control tick past the deadline at most
    assert all(d.v == 0.0 and d.omega == 0.0 for d in doubles)
    assert ex.step({}).failure_reason == "timeout"  # done is sticky


def test_a_late_step_is_reported_in_one_readable_line_whatever_the_fleet_size(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import fleetmind.firmware_bridge.executor as executor

    monkeypatch.setattr(executor, "LATE_DETAILS", 1)  # 64 robots used to give one 10 KB line
    ex, doubles, clock = mapf_executor(step_deadline=0.4)
    obs = ex.reset(0)
    c0, cell0 = free_step(obs, R0)
    c1, cell1 = free_step(obs, R1)
    assert cell0 != cell1
    with caplog.at_level("WARNING", logger="fleetmind.firmware_bridge.executor"):
        assert ex.step({R0: c0, R1: c1}).failure_reason == "timeout"
    (line,) = [r.getMessage() for r in caplog.records if "step deadline" in r.getMessage()]
    assert "not arrived: robot_0 at (" in line and line.endswith("; and 1 more: robot_1") and "robot_1 at" not in line


def test_a_lost_robot_is_dropped_and_the_others_go_on() -> None:
    ex, doubles, clock = mapf_executor(heartbeat=0.3)
    obs = ex.reset(0)
    doubles[1].powered = False  # silent and deaf: its firmware would stop it on its own watchdog
    command, target = free_step(obs, R0)
    cmd1, _ = free_step(obs, R1)
    result = ex.step({R0: command, R1: cmd1})
    kinds = {(e.robot, e.kind) for e in result.events}
    assert (R1, "lost") in kinds and not result.done
    assert tuple(result.observation.world["positions"][0]) == target  # the other robot still arrived
    lost = result.observation.robots[R1]
    assert lost.data["lost"] is True and lost.legal == () and "lost: waits" in lost.text
    assert result.metrics["lost_robots"] == 1
    before = result.observation.world["positions"][1]
    again = ex.step({R1: cmd1})  # the planner still asks it to move: the command is dropped, it waits
    assert (R1, "dropped") in {(e.robot, e.kind) for e in again.events}
    assert again.observation.world["positions"][1] == before and not again.done


def test_a_lost_robot_ends_the_episode_when_asked_to() -> None:
    ex, doubles, _ = mapf_executor(heartbeat=0.3, on_lost="fail")
    obs = ex.reset(0)
    doubles[0].powered = False
    result = ex.step({R0: free_step(obs, R0)[0]})
    assert result.done and result.failure_reason == "robot_lost"


def test_when_every_robot_goes_silent_at_once_they_are_dropped_after_twice_the_timeout() -> None:
    """All silent together is likelier this host's stall than every robot failing: one more timeout of grace."""
    ex, doubles, clock = mapf_executor(heartbeat=0.3, heartbeat_timeout=0.3, on_lost="fail", step_deadline=5.0)
    obs = ex.reset(0)
    heard = max(link.telemetry_time for link in ex.robots.links.values())
    for d in doubles:
        d.powered = False
    result = ex.step({R0: free_step(obs, R0)[0]})
    assert result.done and result.failure_reason == "robot_lost"
    assert 0.6 < clock.now() - heard <= 0.6 + 0.05  # 2 x 0.3 s after the last telemetry, within a control tick


def test_one_silent_robot_among_reporting_ones_is_dropped_after_one_timeout() -> None:
    ex, doubles, clock = mapf_executor(heartbeat=0.3, heartbeat_timeout=0.3, on_lost="fail", step_deadline=5.0)
    obs = ex.reset(0)
    heard = ex.robots.links[R1].telemetry_time
    doubles[1].powered = False
    result = ex.step({R0: free_step(obs, R0)[0]})
    assert result.done and result.failure_reason == "robot_lost"
    assert 0.3 < clock.now() - heard <= 0.3 + 0.05


def test_estop_stops_every_robot_within_200ms_and_ends_the_step() -> None:
    ex, doubles, clock = mapf_executor()
    obs = ex.reset(0)
    at = clock.now() + 0.3

    class Trigger:  # another thread's estop_all() sets this flag; the control loop acts on it at its next tick
        def recv(self, timeout: float, inner: Any = doubles[0].recv) -> bytes:
            data = inner(timeout)
            if clock.now() >= at and ex._driver is not None and not ex.last_estop:
                ex._estop_request.set()
            return data

    doubles[0].recv = Trigger().recv  # type: ignore[method-assign]
    result = ex.step({R0: free_step(obs, R0)[0], R1: free_step(obs, R1)[0]})
    assert result.done and result.failure_reason == "estop"
    assert all(d.estop and d.v == 0.0 and d.omega == 0.0 for d in doubles)
    report = ex.last_estop
    assert all(report["acked"].values()) and set(report["zero_speed_after"]) == {R0, R1}
    assert max(report["zero_speed_after"].values()) <= 0.2
    # outside a step: one call, every robot; the next episode cannot move until an operator clears it
    ex.clear_estop()
    ex.reset(1)
    assert ex.estop_all() == {R0: True, R1: True} and all(d.estop for d in doubles)
    assert ex.reset(2) is not None and ex.step({}).failure_reason == "estop"


@pytest.mark.parametrize(("on_target", "steps"), [("restart", 4), ("nothing", 3)])
def test_pibt_episode_on_doubles_keeps_separation(on_target: str, steps: int) -> None:
    """Lifelong and one-shot MAPF: every PIBT plan through the shield, then the executor."""
    clock = ManualClock()
    robots, _ = doubles_fleet(3, clock)
    inner = MapfFleet(parse_string_map("....\n....\n...."), 3, episode_steps=steps, on_target=on_target)  # type: ignore[arg-type]
    ex = ExecutorFleet(inner, MAPF, robots, ExecutorSettings(cell_size=CELL))
    record = run_episode(ex, make_planner("pibt", "mapf_lifelong", {}), 0)
    assert record.steps <= steps and record.extra["collisions"] == 0
    assert record.failure_reason in (None, "step_limit")  # one-shot: solved or out of steps, never timeout
    assert record.success or on_target == "nothing"
    assert record.extra["min_distance"] >= 0.3 - 0.02  # the separation (less a tick of travel)


def test_warehouse_runs_on_the_executor() -> None:
    plugin = get_task("warehouse")
    clock = ManualClock()
    robots, _ = doubles_fleet(4, clock)
    rules = plugin.make_rules(plugin.config.model_validate(plugin.world_for_size("4")))  # type: ignore[attr-defined]
    ex = ExecutorFleet(GridFleet(rules, step_limit=3), plugin, robots, ExecutorSettings(cell_size=0.6))
    record = run_episode(ex, plugin.make_oracle(), 0)
    assert record.steps == 3 or record.success
    assert record.extra["collisions"] == 0 and record.failure_reason in (None, "step_limit")


def test_manipulation_tasks_are_refused_before_anything_starts() -> None:
    for name in ("boxnet1", "boxnet2", "boxlift"):
        world = {"backend": "firmware", "task": name, **get_task(name).world_for_size(get_task(name).paper_sizes[0])}  # type: ignore[attr-defined]
        scenario = parse_scenario({"name": "x", "world": world})
        with pytest.raises(BadInputError, match=f"'{name}' is unsupported on this backend") as err:
            scenario.make_fleet()
        assert "\n" not in str(err.value)
    with pytest.raises(BadInputError, match="world.firmware: .*not both"):
        parse_scenario({"name": "x", "world": {"backend": "firmware", "task": "mapf_lifelong", "firmware": {
            "sitl": {}, "robots": [{"name": "robot_0", "wire_id": 1, "udp_host": "127.0.0.1", "udp_port": 5,
                                    "allow_unauthenticated": True}]}}})  # fmt: skip


def test_an_external_fix_over_udp_moves_the_robot_to_where_the_map_says_its_cell_is() -> None:
    """The fix says robot_0 stands 0.1 m east of its cell centre (its odometry says it is on it): the executor
    trusts the fix and drives it 0.1 m west, then reports the pose from the fix and odometry."""
    import json
    import socket

    ex, doubles, _ = mapf_executor(localization={"udp_port": 0, "max_age": 5.0}, tolerance=0.02)
    obs = ex.reset(0)
    start = tuple(obs.world["positions"][0])
    x, y = centre(start)  # type: ignore[arg-type]
    assert ex.feed is not None
    sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        sender.sendto(json.dumps({"robot": "robot_0", "x": x + 0.1, "y": y, "yaw": 0.0}).encode(), ex.feed.address)
        result = ex.step({})
    finally:
        sender.close()
        ex.close()
    assert ex.localizer.fixes == 1 and result.observation.robots[R0].measured["localization"] == "external"
    assert doubles[0].x == pytest.approx(-0.1, abs=0.02 + 0.005) and abs(doubles[0].y) < 0.01
    assert result.observation.robots[R0].measured["pose"][:2] == pytest.approx([x, y], abs=0.02 + 0.005)
    assert doubles[1].x == 0.0 and result.observation.robots[R1].measured["localization"] == "odometry"


def test_one_shot_mapf_scenario_runs_on_the_executor_until_every_robot_is_on_its_goal() -> None:
    """``on_target: nothing`` in a ``backend: firmware`` scenario: the executor drives PIBT's one-shot plans (checked
    by the shield) on doubles until every robot stands on its goal; the metrics are the one-shot ones."""
    from fleetmind.sim.grid import make_grid_fleet

    world = {"backend": "firmware", "task": "mapf_lifelong", "map": "pico_s00_od20_na32", "agents": 2,
             "episode_steps": 20, "on_target": "nothing", "firmware": {"cell_size": CELL}}  # fmt: skip
    scenario = parse_scenario({"name": "x", "world": world, "run": {"planner": "pibt"}})
    assert scenario.size == "2 agents, pico_s00_od20_na32, one-shot"
    inner = make_grid_fleet(scenario.task, scenario.world)
    clock = ManualClock()
    robots, _ = doubles_fleet(2, clock)
    ex = ExecutorFleet(inner, scenario.task, robots, scenario.world.firmware)
    obs = ex.reset(5)  # seed 5: goals 1 and 6 cells away (a short test)
    assert obs.world["on_target"] == "nothing"
    goals = obs.world["goals"]
    record = run_episode(ex, make_planner("pibt", "mapf_lifelong", {}), 5)
    assert record.success and record.failure_reason is None and 6 <= record.steps < 20
    assert ex.inner.observe().world["positions"] == goals  # type: ignore[attr-defined]
    assert record.extra["CSR"] == 1.0 and record.extra["collisions"] == 0


def test_robots_that_never_answer_end_the_episode_as_unreachable_naming_each_link(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Nothing to drive is no planning result: ``robots_unreachable`` (counted apart by the app), not ``robot_lost``
    after a step the planner was asked for."""
    clock = ManualClock()
    doubles = [RobotDouble(clock, 10 + i) for i in range(2)]
    for d in doubles:
        d.powered = False
    by_name = {f"robot_{i}": d for i, d in enumerate(doubles)}
    links = [
        RobotLinkConfig(name=f"robot_{i}", wire_id=10 + i, udp_host="127.0.0.1", udp_port=47000 + i,
                        allow_unauthenticated=True)
        for i in range(2)
    ]  # fmt: skip
    robots = FirmwareFleet(FirmwareFleetConfig(robots=links), clock=clock, open_transport=lambda rc: by_name[rc.name])
    inner = MapfFleet(parse_string_map(MAP), 2, episode_steps=5)
    ex = ExecutorFleet(inner, MAPF, robots, ExecutorSettings(cell_size=CELL))
    obs = ex.reset(0)
    assert "no robot answered: robot_0 (udp 127.0.0.1:47000), robot_1 (udp 127.0.0.1:47001)" in caplog.text
    assert ex.unreachable  # the ROS world node ends the episode here: no agent would ever command a robot
    result = ex.step({R0: free_step(obs, R0)[0]})
    assert result.done and result.failure_reason == "robots_unreachable"
    assert all(d.v == 0.0 for d in doubles)


def test_one_robot_that_answers_is_enough_to_run_the_episode() -> None:
    ex, doubles, _ = mapf_executor(heartbeat=0.3)
    doubles[1].powered = False
    obs = ex.reset(0)
    assert not ex.unreachable
    result = ex.step({R0: free_step(obs, R0)[0]})
    assert result.failure_reason is None and result.metrics["lost_robots"] == 1


@pytest.mark.parametrize(
    ("second", "message"),
    [
        ({"name": "robot_0", "udp_port": 47002}, "two links are named robot_0; give each robot its own name"),
        ({"name": "robot_1", "udp_port": 47001}, "robots robot_0 and robot_1 share the link udp 127.0.0.1:47001"),
    ],
)
def test_two_links_with_one_name_or_one_address_are_refused_when_the_scenario_loads(second, message) -> None:
    """A duplicate name was a pydantic traceback once the fleet was built; a duplicate address, a silent robot."""
    first = {"name": "robot_0", "wire_id": 1, "udp_host": "127.0.0.1", "udp_port": 47001, "allow_unauthenticated": True}
    links = [first, {**first, "wire_id": 2, **second}]
    world = {"backend": "firmware", "task": "mapf_lifelong", "agents": 2, "firmware": {"robots": links}}
    with pytest.raises(BadInputError, match=f"world.firmware: .*{message}") as err:
        parse_scenario({"name": "x", "world": world})
    assert "\n" not in str(err.value)
