"""MAVLink backend against the pymavlink vehicle TEST DOUBLE (fleetmind/testing/vehicle_double.py): heartbeats,
arm/disarm, offboard velocity and position setpoints at >= 10 Hz, link-loss handling.

The deadlines are checked in simulated time: ``MavLoopback`` wires the host to the double in process on a manual
clock, so rates, the link-loss instant and the failsafe resends are exact numbers. One end-to-end test runs the
double as a process over UDP and checks behaviour and order only, with bounds in seconds (loaded machines)."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fleetmind.firmware_bridge.mavlink import (
    PX4_MODES,
    LinkState,
    MavlinkConfig,
    MavlinkVehicle,
    PositionSetpoint,
    VelocitySetpoint,
)
from pymavlink.dialects.v20 import common as mav

from fleetmind.testing.vehicle_double import MavLoopback


def simulated(autopilot: str = "px4", **config: Any) -> tuple[MavLoopback, MavlinkVehicle]:
    loop = MavLoopback(autopilot)
    cfg = MavlinkConfig(url="loopback", autopilot=autopilot, **config)
    return loop, MavlinkVehicle(cfg, connection=loop.host, clock=loop.clock)


def host_sent(loop: MavLoopback, kind: str, since: float = 0.0) -> list[tuple[float, Any, bool]]:
    return [(t, m, ok) for t, m, ok in loop.to_vehicle.sent if m.get_type() == kind and t >= since]


def mode_commands(loop: MavLoopback, mode: int, since: float = 0.0) -> list[float]:
    return [
        t
        for t, m, _ in host_sent(loop, "COMMAND_LONG", since)
        if m.command == mav.MAV_CMD_DO_SET_MODE and int(m.param2) == mode
    ]


def gaps(times: list[float]) -> list[float]:
    return [b - a for a, b in zip(times, times[1:], strict=False)]


def engaged(loop: MavLoopback, v: MavlinkVehicle, setpoint: VelocitySetpoint) -> None:
    assert v.connect(3.0) and v.state is LinkState.UP
    assert v.arm()
    v.set_setpoint(setpoint)
    assert v.engage()


@pytest.mark.parametrize("autopilot", ["px4", "ardupilot"])
def test_arm_offboard_velocity_and_position_setpoints(autopilot: str) -> None:
    loop, v = simulated(autopilot, setpoint_rate=20.0, heartbeat_rate=2.0)
    assert v.connect(3.0) and v.state is LinkState.UP
    v.set_setpoint(VelocitySetpoint(0.0, 0.0, 0.0))
    assert v.engage(1.0) is (autopilot == "ardupilot")  # PX4 refuses offboard while disarmed; ArduPilot guided not
    assert v.arm() and (v.run_for(0.3) or v.armed)
    t_engage = loop.clock.now()
    assert v.engage() and (v.run_for(0.3) or v.mode_is("offboard"))
    start = v.position
    v.set_setpoint(VelocitySetpoint(1.0, 0.0, 0.0))
    v.run_for(1.0)
    assert start is not None and v.position is not None
    assert v.position[0] - start[0] == pytest.approx(1.0, abs=0.06)  # 1 m/s for 1 s (position reports at 20 Hz)
    v.set_setpoint(PositionSetpoint(2.0, 1.0, -1.0))
    v.run_for(1.5)
    assert v.position == pytest.approx((2.0, 1.0, -1.0), abs=0.05)
    t_stop = loop.clock.now()
    assert v.disarm() and (v.run_for(0.3) or not v.armed)

    setpoints = [t for t, _, _ in host_sent(loop, "SET_POSITION_TARGET_LOCAL_NED", t_engage) if t <= t_stop]
    rate = (len(setpoints) - 1) / (setpoints[-1] - setpoints[0])
    assert rate == pytest.approx(20.0, abs=0.3), rate
    assert max(gaps(setpoints)) <= 0.05 + 0.01 + 1e-6  # one period plus one spin_once slice (10 ms)
    beats = [t for t, m, _ in host_sent(loop, "HEARTBEAT") if m.type == mav.MAV_TYPE_GCS]
    assert all(0.5 - 1e-9 <= g <= 0.5 + 0.02 + 1e-6 for g in gaps(beats)), gaps(beats)  # 2 Hz, 20 ms connect slices
    assert not any(text == "MODE hold offboard_loss" for _, text in loop.vehicle.notes)


def test_link_loss_at_the_timeout_stops_streaming_and_commands_the_failsafe() -> None:
    loop, v = simulated(link_timeout=0.5, failsafe="land")
    engaged(loop, v, VelocitySetpoint(0.5, 0.0, 0.0))
    v.run_for(0.3)
    loop.cut(True)  # the radio link goes dark, both ways
    last = v.last_heartbeat
    assert last is not None
    loop.advance(last + 0.499 - loop.clock.now())
    v.spin_once(0.0)
    assert v.state is LinkState.UP and v.streaming  # 499 ms of silence: still up
    loop.advance(0.002)
    v.spin_once(0.0)
    t_lost = loop.clock.now()
    assert v.state is LinkState.LOST and not v.streaming and v.link_losses == 1  # 501 ms: lost
    sent = v.setpoints_sent
    v.run_for(1.1)
    assert v.setpoints_sent == sent  # no setpoints while the link is lost
    land = PX4_MODES["land"]
    resends = mode_commands(loop, land, t_lost)
    assert resends[0] == t_lost and len(resends) == 5  # at once, then every 0.25 s: 0, 0.25, 0.5, 0.75, 1.0
    assert all(g == pytest.approx(0.25, abs=0.011) for g in gaps(resends)), gaps(resends)

    loop.cut(False)
    back = loop.clock.now()
    end = back + 1.0
    while loop.clock.now() < end and not v.mode_is("land"):
        v.spin_once(0.01)
    assert v.mode_is("land") and v.state is LinkState.UP and not v.streaming  # back, landed, not re-engaged
    assert loop.clock.now() - back <= 0.25 + 0.2 + 0.02  # next failsafe resend, then the next vehicle heartbeat
    notes = loop.vehicle.notes
    land_at = next(i for i, (_, text) in enumerate(notes) if text.startswith("MODE land"))
    assert not any(text.startswith("SETPOINT") for _, text in notes[land_at:])
    assert any(text == "MODE hold offboard_loss" for _, text in notes[:land_at])  # the vehicle's own failsafe first
    sent = v.setpoints_sent
    v.run_for(0.5)
    assert v.setpoints_sent == sent  # streaming waits for an explicit engage()


def test_vehicle_double_falls_back_to_hold_half_a_second_after_the_last_setpoint() -> None:
    loop, v = simulated()
    engaged(loop, v, VelocitySetpoint(0.0, 0.0, 0.0))
    v.streaming = False  # a host that stops streaming without commanding a mode
    v.run_for(0.8)
    assert v.mode_is("hold")
    last_setpoint = host_sent(loop, "SET_POSITION_TARGET_LOCAL_NED")[-1][0]
    fell_back = next(t for t, text in loop.vehicle.notes if text == "MODE hold offboard_loss")
    assert 0.5 < fell_back - last_setpoint <= 0.5 + 0.02 + loop.step + 1e-9  # checked by the 50 Hz physics tick


# ---------------------------------------------------------------------------------------- end to end, real UDP
def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def double(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], int, Path]]:
    port, log = free_udp_port(), tmp_path / "vehicle.log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "fleetmind.testing.vehicle_double", "--port", str(port), "--log", str(log)],
        stdout=subprocess.PIPE,
        start_new_session=True,
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == b"READY"
    yield proc, port, log
    proc.send_signal(signal.SIGCONT)
    proc.terminate()
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)


def vehicle_log(path: Path) -> list[tuple[float, str]]:
    return [(float(t), rest) for t, rest in (line.split(" ", 1) for line in path.read_text().splitlines())]


def until(v: MavlinkVehicle, done: Any, seconds: float) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end and not done():
        v.spin_once(0.02)
    return bool(done())


def test_over_udp_the_host_flies_loses_the_link_and_lands(double: tuple[subprocess.Popen[bytes], int, Path]) -> None:
    """Order and behaviour with a real process and socket; the timing is the simulated tests' business."""
    proc, port, log = double
    v = MavlinkVehicle(MavlinkConfig(url=f"udpout:127.0.0.1:{port}", link_timeout=0.5, failsafe="land"))
    try:
        assert v.connect(10.0) and v.arm(timeout=5.0)
        v.set_setpoint(VelocitySetpoint(1.0, 0.0, 0.0))
        assert v.engage(timeout=5.0)
        assert until(v, lambda: v.position is not None and v.position[0] > 0.3, 10.0), "the vehicle did not fly"
        proc.send_signal(signal.SIGSTOP)  # the vehicle goes silent
        assert until(v, lambda: v.state is LinkState.LOST, 10.0), "link loss never detected"
        assert v.last_heartbeat is not None and v.clock.now() - v.last_heartbeat > 0.5  # never before the timeout
        assert not v.streaming and v.link_losses == 1
        sent = v.setpoints_sent
        v.run_for(0.5)
        assert v.setpoints_sent == sent  # no setpoints while the link is lost
        proc.send_signal(signal.SIGCONT)
        assert until(v, lambda: v.mode_is("land"), 10.0), "the failsafe mode never arrived"
        assert v.state is LinkState.UP and not v.streaming  # back, landed, not re-engaged
        entries = vehicle_log(log)
        land_at = next(i for i, (_, text) in enumerate(entries) if text.startswith("MODE land"))
        assert any(text.startswith("SETPOINT") for _, text in entries[:land_at])
        assert not any(text.startswith("SETPOINT") for _, text in entries[land_at:])
    finally:
        v.close()


class _SlowReads:
    """The host's end of the link, each message taking 1 ms of the host's time to read (decoding on a loaded
    machine): a short ``spin_once`` reads only the first few of a backlog."""

    def __init__(self, loop: MavLoopback) -> None:
        self.loop, self.mav = loop, loop.host.mav

    def recv_match(self, blocking: bool = False, timeout: float | None = None) -> Any:
        msg = self.loop.host.recv_match(blocking=blocking, timeout=timeout)
        if msg is not None:
            self.loop.clock.advance(0.001)
        return msg

    def close(self) -> None:
        """Nothing to release."""


def test_a_host_stall_longer_than_the_link_timeout_is_no_link_loss() -> None:
    """The vehicle kept talking while this host was descheduled: its heartbeats wait in the receive queue. A short
    spin (a drone fleet's share of its poll period) must read them before it judges the link silent; it used to
    declare the link lost after reading one position report, and command the failsafe (land)."""
    loop = MavLoopback("px4")
    cfg = MavlinkConfig(url="loopback", autopilot="px4", link_timeout=0.5)
    v = MavlinkVehicle(cfg, connection=_SlowReads(loop), clock=loop.clock)
    assert v.connect(3.0) and v.state is LinkState.UP
    v.run_for(0.2)
    loop.advance(1.5)  # the host stalls 1.5 s; the double sends 7 heartbeats and 30 position reports meanwhile
    v.spin_once(0.0005)
    assert v.state is LinkState.UP and v.link_losses == 0
    assert not mode_commands(loop, PX4_MODES["land"])
    loop.cut(True)  # a real silence is still found: nothing queued
    loop.advance(0.6)
    v.spin_once(0.0005)
    assert v.state is LinkState.LOST and v.link_losses == 1
