"""The real-robot Fleet backend against SITL robots: conformance suite, motion, limits, e-stop to every robot."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from fleetmind.firmware_bridge.config import FirmwareFleetConfig, RobotLinkConfig
from fleetmind.firmware_bridge.fleet import FirmwareFleet
from fleetmind.robots.commands import SetVelocity, Wait
from fleetmind.robots.conformance import check_fleet
from fleetmind.robots.errors import IllegalCommandError
from fleetmind.robots.fleet import Fleet
from fleetmind.robots.ids import RobotId
from pydantic import ValidationError

from fleetmind.testing.sitl import Sitl, build_sitl


@pytest.fixture(scope="session")
def sitl_binary() -> Path:
    return build_sitl()


def fleet_factory(
    tmp_path: Path, binary: Path, mode: str = "udp", n: int = 2, step_limit: int = 5, keyed: bool = True
) -> Callable[[], FirmwareFleet]:
    def make() -> FirmwareFleet:
        sitls, robots = [], []
        for i in range(n):
            key = bytes([i + 1]) * 32
            key_file = tmp_path / f"robot_{i}.key"
            key_file.write_text(key.hex())
            sitl = Sitl(mode, robot_id=10 + i, key=key if keyed else None, binary=binary)
            sitls.append(sitl)
            link = {"serial_port": sitl.pty} if sitl.pty else {"udp_host": "127.0.0.1", "udp_port": sitl.udp[1]}
            robots.append(
                RobotLinkConfig(name=f"robot_{i}", wire_id=10 + i, key_file=key_file if keyed else None, **link)
            )
        cfg = FirmwareFleetConfig(robots=robots, step_period=0.05, step_limit=step_limit)
        return FirmwareFleet(cfg, owned=sitls)

    return make


@pytest.mark.parametrize("mode", ["udp", "pty"])
def test_firmware_fleet_conforms(mode: str, sitl_binary: Path, tmp_path: Path) -> None:
    check_fleet(fleet_factory(tmp_path, sitl_binary, mode), max_steps=10)


def test_firmware_fleet_conforms_with_a_command_beyond_the_limits(sitl_binary: Path, tmp_path: Path) -> None:
    too_fast = {RobotId("robot_0"): SetVelocity(5.0, 0.0)}
    check_fleet(fleet_factory(tmp_path, sitl_binary, keyed=False), illegal=too_fast, max_steps=10)


def test_fleet_moves_robots_and_estop_reaches_every_robot(sitl_binary: Path, tmp_path: Path) -> None:
    fleet = fleet_factory(tmp_path, sitl_binary, n=3, step_limit=100)()
    assert isinstance(fleet, Fleet)
    try:
        obs = fleet.reset(0)
        r = fleet.robot_ids
        assert all(o.data["armed"] and not o.data["lost"] and o.data["x"] == 0.0 for o in obs.robots.values())
        for _ in range(10):  # 0.5 s
            res = fleet.step({r[0]: SetVelocity(0.4, 0.0), r[1]: SetVelocity(0.0, 1.0), r[2]: Wait()})
        d = {rid: res.observation.robots[rid].data for rid in r}
        assert 0.12 < d[r[0]]["x"] < 0.22 and d[r[0]]["v"] == pytest.approx(0.4, abs=0.002)
        assert 0.3 < d[r[1]]["yaw"] < 0.55 and abs(d[r[1]]["x"]) < 0.01
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
