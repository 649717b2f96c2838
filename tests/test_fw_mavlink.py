"""MAVLink backend against the pymavlink vehicle TEST DOUBLE (fleetmind/testing/vehicle_double.py):
heartbeats, arm/disarm, offboard velocity and position setpoints at >= 10 Hz, link-loss handling."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fleetmind.firmware_bridge.mavlink import (
    LinkState,
    MavlinkConfig,
    MavlinkVehicle,
    PositionSetpoint,
    VelocitySetpoint,
)


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(params=["px4"])
def double(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], int, Path]]:
    port, log = free_udp_port(), tmp_path / "vehicle.log"
    args = ["--port", str(port), "--log", str(log), "--autopilot", request.param]
    proc = subprocess.Popen(
        [sys.executable, "-m", "fleetmind.testing.vehicle_double", *args],
        stdout=subprocess.PIPE,
        start_new_session=True,
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == b"READY"
    yield proc, port, log
    proc.send_signal(signal.SIGCONT)
    proc.terminate()
    try:
        proc.wait(timeout=3)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=3)


def vehicle_log(path: Path) -> list[tuple[float, str]]:
    return [(float(t), rest) for t, rest in (line.split(" ", 1) for line in path.read_text().splitlines())]


@pytest.mark.parametrize("double", ["px4", "ardupilot"], indirect=True)
def test_arm_offboard_velocity_and_position_setpoints(
    double: tuple[subprocess.Popen[bytes], int, Path], request: pytest.FixtureRequest
) -> None:
    _, port, log = double
    autopilot = request.node.callspec.params["double"]
    v = MavlinkVehicle(MavlinkConfig(url=f"udpout:127.0.0.1:{port}", setpoint_rate=20.0, autopilot=autopilot))
    try:
        assert v.connect(3.0) and v.state is LinkState.UP
        v.set_setpoint(VelocitySetpoint(0.0, 0.0, 0.0))
        assert not v.engage(1.0)  # the vehicle refuses offboard while disarmed
        assert v.arm() and (v.run_for(0.3) or v.armed)
        assert v.engage() and (v.run_for(0.3) or v.mode_is("offboard"))
        start = v.position
        v.set_setpoint(VelocitySetpoint(1.0, 0.0, 0.0))
        t0 = time.monotonic()
        v.run_for(1.0)
        elapsed = time.monotonic() - t0
        assert start is not None and v.position is not None
        assert v.position[0] - start[0] == pytest.approx(elapsed, abs=0.15)
        v.set_setpoint(PositionSetpoint(2.0, 1.0, -1.0))
        v.run_for(1.5)
        assert v.position == pytest.approx((2.0, 1.0, -1.0), abs=0.05)
        setpoints = [t for t, text in vehicle_log(log) if text.startswith("SETPOINT")]
        gaps = [b - a for a, b in zip(setpoints, setpoints[1:], strict=False)]
        rate = (len(setpoints) - 1) / (setpoints[-1] - setpoints[0])
        print(f"\nsetpoint rate at the vehicle {rate:.1f} Hz, longest gap {max(gaps) * 1000:.0f} ms")
        assert rate >= 15 and max(gaps) < 0.25  # >= 10 Hz on average; PX4 leaves offboard only after 0.5 s
        assert v.disarm() and (v.run_for(0.3) or not v.armed)
    finally:
        v.close()


def test_link_loss_stops_streaming_and_commands_land(double: tuple[subprocess.Popen[bytes], int, Path]) -> None:
    proc, port, log = double
    v = MavlinkVehicle(MavlinkConfig(url=f"udpout:127.0.0.1:{port}", link_timeout=0.5, failsafe="land"))
    try:
        assert v.connect(3.0) and v.arm()
        v.set_setpoint(VelocitySetpoint(0.5, 0.0, 0.0))
        assert v.engage()
        v.run_for(0.3)
        proc.send_signal(signal.SIGSTOP)  # the radio link goes dark
        t_cut = time.monotonic()
        while v.state is LinkState.UP and time.monotonic() - t_cut < 2.0:
            v.spin_once(0.01)
        detected = time.monotonic() - t_cut
        assert v.last_heartbeat is not None
        silence = time.monotonic() - v.last_heartbeat
        assert v.state is LinkState.LOST and not v.streaming and v.link_losses == 1
        assert 0.5 <= silence < 0.56 and detected < 0.56, f"lost after {silence:.3f}s of silence"
        sent = v.setpoints_sent
        v.run_for(0.5)
        assert v.setpoints_sent == sent  # no setpoints while the link is lost
        proc.send_signal(signal.SIGCONT)
        end = time.monotonic() + 2.0
        while time.monotonic() < end and not v.mode_is("land"):
            v.spin_once(0.02)
        assert v.mode_is("land") and v.state is LinkState.UP and not v.streaming  # back, landed, not re-engaged
        entries = vehicle_log(log)
        land_at = next(i for i, (_, text) in enumerate(entries) if text.startswith("MODE land"))
        assert not any(text.startswith("SETPOINT") for _, text in entries[land_at:])
    finally:
        v.close()


def test_vehicle_double_falls_back_to_hold_when_the_stream_stops(
    double: tuple[subprocess.Popen[bytes], int, Path],
) -> None:
    _, port, log = double
    v = MavlinkVehicle(MavlinkConfig(url=f"udpout:127.0.0.1:{port}"))
    try:
        assert v.connect(3.0) and v.arm() and v.engage()
        v.streaming = False  # a host that stops streaming without commanding a mode
        v.run_for(0.8)
        assert v.mode_is("hold")
        assert any(text == "MODE hold offboard_loss" for _, text in vehicle_log(log))
    finally:
        v.close()
