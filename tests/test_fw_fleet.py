"""The real-robot Fleet backend: conformance suite, motion, limits, e-stop to every robot, the host watchdog.

Against in-process robot doubles on a manual clock (exact numbers, no wall-clock windows) and against SITL
robots (the real firmware as processes: behaviour, with bounds that hold on a loaded machine)."""

from __future__ import annotations

from pathlib import Path

import pytest
from fleetmind.firmware_bridge.config import FirmwareFleetConfig, Limits, RobotLinkConfig
from fleetmind.firmware_bridge.fleet import FirmwareFleet
from fleetmind.robots.clock import ManualClock
from fleetmind.robots.commands import SetVelocity, Wait
from fleetmind.robots.conformance import check_fleet
from fleetmind.robots.errors import IllegalCommandError
from fleetmind.robots.fleet import Fleet
from fleetmind.robots.ids import RobotId
from pydantic import ValidationError

from fleetmind.testing.conformance import velocity_sampler
from fleetmind.testing.robot_double import RobotDouble
from fleetmind.testing.sitl import build_sitl, sitl_fleet_factory


def sim_fleet(n: int = 2, clock: ManualClock | None = None, **config: float) -> tuple[FirmwareFleet, list[RobotDouble]]:
    """``n`` robot doubles on one manual clock behind a FirmwareFleet (their UDP addresses are never opened)."""
    clock = clock or ManualClock()
    doubles = [RobotDouble(clock, 10 + i) for i in range(n)]
    cfg = FirmwareFleetConfig(
        robots=[
            RobotLinkConfig(
                name=f"robot_{i}", wire_id=10 + i, udp_host="127.0.0.1", udp_port=9, allow_unauthenticated=True
            )
            for i in range(n)
        ],
        **config,
    )
    by_name = {f"robot_{i}": d for i, d in enumerate(doubles)}
    return FirmwareFleet(cfg, clock=clock, open_transport=lambda rc: by_name[rc.name]), doubles


def test_simulated_fleet_conforms() -> None:
    """The SITL-backed fleet (UDP keyed, pty unkeyed) runs the suite in tests/test_conformance.py. The fleet lists
    only the stop command as legal, so the suite steps velocities sampled within its limits."""
    sample = velocity_sampler(Limits().max_linear, Limits().max_angular)
    check_fleet(lambda: sim_fleet(step_period=0.05, step_limit=5)[0], max_steps=10, sample=sample)


def test_simulated_fleet_moves_robots_by_the_commanded_velocity_for_the_time_streamed() -> None:
    fleet, doubles = sim_fleet(3, step_period=0.05, step_limit=100)
    clock = doubles[0].clock
    obs = fleet.reset(0)
    r = fleet.robot_ids
    assert all(o.data["armed"] and not o.data["lost"] and o.data["x"] == 0.0 for o in obs.robots.values())
    t0 = clock.now()
    for _ in range(10):
        res = fleet.step({r[0]: SetVelocity(0.4, 0.0), r[1]: SetVelocity(0.0, 1.0), r[2]: Wait()})
    moving = clock.now() - t0
    d = {rid: res.observation.robots[rid].data for rid in r}
    assert moving == pytest.approx(10 * 4 * 3 * 0.005, abs=0.001)  # a 0.05 s step: 4 rounds of 3 polls of 5 ms
    assert d[r[0]]["x"] == pytest.approx(0.4 * moving, abs=0.4 * 0.02 + 0.001)  # telemetry every 20 ms
    assert d[r[1]]["yaw"] == pytest.approx(1.0 * moving, abs=0.02 + 0.001) and d[r[1]]["x"] == 0.0
    assert d[r[2]]["x"] == 0.0 and d[r[2]]["v"] == 0.0
    assert fleet.estop_all() == dict.fromkeys(r, True) and all(dd.estop for dd in doubles)
    fleet.close()


def test_host_watchdog_streams_zero_once_the_command_is_older_than_command_timeout() -> None:
    """A step longer than ``command_timeout``: the planner's command for 0.21 s, then zero velocity."""
    fleet, (robot,) = sim_fleet(1, step_period=0.5, command_timeout=0.21)
    fleet.reset(0)
    t0 = robot.clock.now()
    res = fleet.step({RobotId("robot_0"): SetVelocity(0.3, 0.0)})
    sent = [(t - t0, v) for t, v, _ in robot.velocities() if t >= t0]
    moving = [t for t, v in sent if v == 0.3]
    stopped = [t for t, v in sent if v == 0.0]
    assert [v for _, v in sent] == [0.3] * len(moving) + [0.0] * len(stopped)  # never back to the old command
    assert max(moving) <= 0.21 < min(stopped) <= 0.21 + 0.04 + 0.005 + 1e-6  # the next send after the timeout
    assert len(moving) == 7 and len(sent) == 14  # 25 Hz over 0.5 s, with a burst of 2 at the start
    x = res.observation.robots[RobotId("robot_0")].data["x"]
    assert x == pytest.approx(0.3 * min(stopped), abs=0.3 * 0.02 + 0.001)  # moved until the zero arrived
    fleet.close()


@pytest.fixture(scope="session")
def sitl_binary() -> Path:
    return build_sitl()


def test_fleet_moves_robots_and_estop_reaches_every_robot(sitl_binary: Path, tmp_path: Path) -> None:
    fleet = sitl_fleet_factory(tmp_path, sitl_binary, n=3, step_limit=100)()
    assert isinstance(fleet, Fleet)
    try:
        obs = fleet.reset(0)
        r = fleet.robot_ids
        assert all(o.data["armed"] and not o.data["lost"] and o.data["x"] == 0.0 for o in obs.robots.values())
        for _ in range(10):  # 0.5 s
            res = fleet.step({r[0]: SetVelocity(0.4, 0.0), r[1]: SetVelocity(0.0, 1.0), r[2]: Wait()})
        d = {rid: res.observation.robots[rid].data for rid in r}
        # moved the right way (how far depends on wall-clock step lengths: the simulated test pins the numbers)
        assert d[r[0]]["x"] > 0.1 and abs(d[r[0]]["y"]) < 0.01 and d[r[0]]["v"] == pytest.approx(0.4, abs=0.002)
        assert d[r[1]]["yaw"] > 0.2 and abs(d[r[1]]["x"]) < 0.01
        assert d[r[2]]["x"] == 0.0 and d[r[2]]["v"] == 0.0
        assert res.metrics["steps"] == 10 and not res.done
        with pytest.raises(IllegalCommandError, match="outside limits"):
            fleet.step({r[0]: SetVelocity(float("nan"), 0.0)})
        acked = fleet.estop_all()
        assert acked == dict.fromkeys(r, True)
        res = fleet.step({})
        assert all(o.data["estop"] and o.legal == () and "E-STOP" in o.text for o in res.observation.robots.values())
        with pytest.raises(IllegalCommandError, match="e-stopped"):
            fleet.step({r[0]: SetVelocity(0.1, 0.0)})
        res = fleet.step({})  # latched: still stopped, still e-stopped
        assert all(o.data["v"] == 0.0 and o.data["estop"] for o in res.observation.robots.values())
        assert fleet.clear_estop() == dict.fromkeys(r, True)
        res = fleet.step({r[0]: SetVelocity(0.3, 0.0)})
        assert not res.observation.robots[r[0]].data["estop"] and res.observation.robots[r[0]].data["armed"]
    finally:
        fleet.close()


def test_config_rejects_unknown_keys_and_ambiguous_links() -> None:
    with pytest.raises(ValidationError, match="colour"):
        FirmwareFleetConfig.model_validate(
            {"robots": [{"name": "a", "wire_id": 1, "serial_port": "/dev/x"}], "colour": "red"}
        )
    with pytest.raises(ValidationError, match="either serial_port or udp_host"):
        RobotLinkConfig(name="a", wire_id=1, serial_port="/dev/x", udp_host="127.0.0.1", udp_port=9)
