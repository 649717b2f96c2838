"""Link cut: the SITL stops its motors within 200 ms of the last valid command (its own clock); the host marks
the robot lost within its heartbeat timeout; the Fleet stops offering the robot to planners."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest
from fleetmind.firmware_bridge.config import FirmwareFleetConfig, RobotLinkConfig
from fleetmind.firmware_bridge.fleet import FirmwareFleet
from fleetmind.firmware_bridge.link import RobotLink
from fleetmind.firmware_bridge.messages import Ack, Arm, SetVelocityMsg, Status
from fleetmind.firmware_bridge.transport import SerialTransport, UdpTransport
from fleetmind.robots.commands import SetVelocity
from fleetmind.robots.errors import IllegalCommandError
from fleetmind.robots.ids import RobotId

from fleetmind.testing.sitl import Sitl, build_sitl

KEY = bytes(range(32))


@pytest.fixture(scope="session")
def sitl_binary() -> Path:
    return build_sitl()


def stop_latencies(sitl: Sitl) -> list[int]:
    """For each watchdog stop: SITL time of motors zeroed minus SITL time of the last accepted command."""
    out, last_cmd = [], None
    for ev in sitl.events():
        if ev["kind"] == "cmd":
            last_cmd = int(ev["t"])
        elif ev["kind"] == "motors_zero" and last_cmd is not None:
            out.append(int(ev["t"]) - last_cmd)
            last_cmd = None
    return out


@pytest.mark.parametrize("mode", ["pty", "udp"])
def test_sitl_stops_motors_within_200ms_of_last_valid_command(mode: str, sitl_binary: Path, tmp_path: Path) -> None:
    with Sitl(mode, robot_id=2, key=KEY, events=tmp_path / "ev.log", binary=sitl_binary) as sitl:
        transport = SerialTransport(sitl.pty) if sitl.pty else UdpTransport(*(sitl.udp or ("", 0)))
        link = RobotLink(transport, 2, KEY)
        assert link.sync(2.0) and isinstance(link.request(Arm()), Ack)
        for _ in range(4):
            end = time.monotonic() + 0.25
            while time.monotonic() < end:
                link.send(SetVelocityMsg(0.3, 0.2))
                link.poll_for(0.04)
            assert link.telemetry is not None and link.telemetry.v > 0.2
            link.poll_for(0.3)  # the cut: the host goes silent
            t = link.telemetry
            assert t is not None and t.v == 0.0 and t.omega == 0.0 and t.status & Status.WATCHDOG
            x_stopped = t.x
            link.poll_for(0.1)
            assert link.telemetry is not None and link.telemetry.x == x_stopped  # motors really stopped
        transport.close()
    latencies = stop_latencies(sitl)
    print(f"{mode}: stop latency on the SITL clock (ms) = {latencies}")
    assert len(latencies) == 4
    assert all(150 <= ms <= 200 for ms in latencies), latencies


def test_host_marks_robot_lost_within_its_timeout(sitl_binary: Path) -> None:
    sitl = Sitl("udp", robot_id=2, binary=sitl_binary)
    try:
        link = RobotLink(UdpTransport(*(sitl.udp or ("", 0))), 2, heartbeat_timeout=0.3)
        assert link.sync(2.0)
        link.poll_for(0.1)
        assert not link.lost
        sitl.proc.send_signal(signal.SIGKILL)  # power cut on the robot side
        sitl.proc.wait(timeout=2)
        last = link.telemetry_time
        deadline = time.monotonic() + 5.0
        while not link.lost and time.monotonic() < deadline:
            link.poll(0.005)
        assert last is not None and link.lost, "robot never marked lost"
        detected = time.monotonic() - last
        # never before the timeout; promptly after it (slack for a loaded 2-core CI machine)
        assert 0.3 <= detected <= 0.45, f"lost after {detected:.3f}s"
        link.transport.close()
    finally:
        sitl.close()


def test_fleet_stops_offering_a_lost_robot_and_keeps_the_other(sitl_binary: Path) -> None:
    sitls = [Sitl("udp", robot_id=i + 1, binary=sitl_binary) for i in range(2)]
    cfg = FirmwareFleetConfig(
        robots=[
            RobotLinkConfig(name=f"robot_{i}", wire_id=i + 1, udp_host="127.0.0.1", udp_port=s.udp[1])
            for i, s in enumerate(sitls)
            if s.udp
        ],
        step_period=0.1,
        heartbeat_timeout=0.3,
        step_limit=50,
    )
    fleet = FirmwareFleet(cfg, owned=list(sitls))
    try:
        obs = fleet.reset(0)
        r0, r1 = RobotId("robot_0"), RobotId("robot_1")
        assert obs.robots[r0].legal and not obs.robots[r0].data["lost"]
        res = fleet.step({r0: SetVelocity(0.3, 0.0), r1: SetVelocity(0.3, 0.0)})
        assert not res.done
        sitls[0].proc.send_signal(signal.SIGKILL)
        events = []
        for _ in range(5):
            res = fleet.step({r1: SetVelocity(0.3, 0.0)})
            events += [e for e in res.events if e.robot == r0]
        obs = res.observation
        assert obs.robots[r0].data["lost"] and obs.robots[r0].legal == () and "lost" in obs.robots[r0].text
        assert [e.kind for e in events] == ["lost"]
        assert not obs.robots[r1].data["lost"] and obs.robots[r1].data["x"] > 0.1
        with pytest.raises(IllegalCommandError, match="lost"):
            fleet.step({r0: SetVelocity(0.1, 0.0)})
    finally:
        fleet.close()
