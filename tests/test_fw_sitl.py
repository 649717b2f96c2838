"""Python host <-> C SITL over a pty pair and over UDP 127.0.0.1: motion, telemetry, arming, e-stop, limits."""

from __future__ import annotations

import itertools
import os
import statistics
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fleetmind.firmware_bridge.codec import encode_frame
from fleetmind.firmware_bridge.link import RobotLink
from fleetmind.firmware_bridge.messages import (
    Ack,
    Arm,
    ClearEStop,
    EStop,
    MsgType,
    Nack,
    NackReason,
    SetMotors,
    SetVelocityMsg,
    Status,
    Telemetry,
)
from fleetmind.firmware_bridge.transport import ReconnectingTransport, SerialTransport, Transport, UdpTransport
from fleetmind.robots.clock import ManualClock

from fleetmind.testing.sitl import Sitl, build_sitl

KEY = bytes(range(32))


@pytest.fixture(scope="session")
def sitl_binary() -> Path:
    return build_sitl()


def _transport(sitl: Sitl) -> Transport:
    if sitl.pty:
        return SerialTransport(sitl.pty)
    assert sitl.udp
    return UdpTransport(*sitl.udp)


@pytest.fixture(params=["pty", "udp"])
def link(request: pytest.FixtureRequest, sitl_binary: Path, tmp_path: Path) -> Iterator[tuple[RobotLink, Sitl]]:
    with Sitl(request.param, robot_id=4, key=KEY, events=tmp_path / "events.log", binary=sitl_binary) as sitl:
        transport = _transport(sitl)
        lk = RobotLink(transport, 4, KEY)
        assert lk.sync(2.0), "no telemetry from the SITL"
        yield lk, sitl
        transport.close()


def drive(
    link: RobotLink,
    msg: SetVelocityMsg | SetMotors,
    seconds: float,
    rate: float = 25.0,
    stamps: list[int] | None = None,
) -> None:
    """Send ``msg`` at ``rate`` for ``seconds``; ``stamps`` collects the robot's own clock (ms) of each telemetry."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        link.send(msg)
        tick = time.monotonic() + 1.0 / rate
        while (left := tick - time.monotonic()) > 0:
            for frame in link.poll(left):
                if stamps is not None and isinstance(frame.message, Telemetry):
                    stamps.append(frame.header.timestamp_ms)


def test_velocity_commands_move_the_robot_and_telemetry_flows(link: tuple[RobotLink, Sitl]) -> None:
    lk, _ = link
    assert isinstance(lk.request(Arm()), Ack)
    stamps: list[int] = []
    drive(lk, SetVelocityMsg(0.4, 0.0), 1.0, stamps=stamps)
    # the telemetry period in the robot's own clock (frame timestamps), not in this loaded host's: 20 ms (50 Hz)
    period = statistics.median(b - a for a, b in itertools.pairwise(stamps))
    t = lk.telemetry
    assert t is not None
    assert t.v == pytest.approx(0.4, abs=0.0015) and t.omega == 0.0  # duty quantised to 1 permille
    # 0.4 m/s for 1 s, less the 0.1 s ramp at 2 m/s^2 (0.04 m): about 0.36 m
    assert 0.30 < t.x < 0.42 and abs(t.y) < 0.005
    assert len(stamps) >= 10 and 19 <= period <= 21, f"telemetry every {period} ms of the robot's clock, expected 20"
    drive(lk, SetVelocityMsg(0.0, 1.0), 0.5)
    assert lk.telemetry is not None and lk.telemetry.omega == pytest.approx(1.0, abs=0.01)
    assert 0.35 < lk.telemetry.yaw < 0.6
    assert lk.telemetry.status & Status.ARMED and lk.telemetry.status & Status.AUTH


def test_motion_needs_arming(link: tuple[RobotLink, Sitl]) -> None:
    lk, _ = link
    reply = lk.request(SetVelocityMsg(0.5, 0.0))
    assert isinstance(reply, Nack) and reply.reason is NackReason.NOT_ARMED
    lk.poll_for(0.2)
    assert lk.telemetry is not None and lk.telemetry.x == 0.0 and lk.telemetry.v == 0.0


def test_estop_latches_until_clear_estop(link: tuple[RobotLink, Sitl]) -> None:
    lk, _ = link
    assert isinstance(lk.request(Arm()), Ack)
    drive(lk, SetVelocityMsg(0.5, 0.0), 0.3)
    assert isinstance(lk.request(EStop()), Ack)
    lk.poll_for(0.05)
    t = lk.telemetry
    assert t is not None and t.v == 0.0 and t.status & Status.ESTOP and not t.status & Status.ARMED
    x_stopped = t.x
    for msg in (Arm(), SetVelocityMsg(0.5, 0.0)):
        reply = lk.request(msg)
        assert isinstance(reply, Nack) and reply.reason is NackReason.ESTOPPED
    lk.poll_for(0.1)
    assert lk.telemetry is not None and lk.telemetry.x == x_stopped
    assert isinstance(lk.request(ClearEStop()), Ack)
    reply = lk.request(SetVelocityMsg(0.5, 0.0))  # cleared, but still disarmed
    assert isinstance(reply, Nack) and reply.reason is NackReason.NOT_ARMED
    assert isinstance(lk.request(Arm()), Ack)
    drive(lk, SetVelocityMsg(0.5, 0.0), 0.3)
    assert lk.telemetry is not None and lk.telemetry.x > x_stopped + 0.05


def test_speed_and_acceleration_limits_on_the_mcu(link: tuple[RobotLink, Sitl]) -> None:
    lk, _ = link
    assert isinstance(lk.request(Arm()), Ack)
    lk.send(SetVelocityMsg(3.0, 5.0))
    lk.poll_for(0.06)
    assert lk.telemetry is not None and lk.telemetry.v <= 0.06 * 2.0 + 0.03  # ramp at 2 m/s^2
    drive(lk, SetVelocityMsg(3.0, 5.0), 0.8)
    assert lk.telemetry.v == pytest.approx(1.0, abs=0.01)  # FW_MAX_V
    assert lk.telemetry.omega == pytest.approx(2.0, abs=0.01)  # FW_MAX_W
    reply = lk.request(SetMotors(1001, 0))
    assert isinstance(reply, Nack) and reply.reason is NackReason.OUT_OF_RANGE


def test_set_motors_drives_wheels(link: tuple[RobotLink, Sitl]) -> None:
    lk, _ = link
    assert isinstance(lk.request(Arm()), Ack)
    drive(lk, SetMotors(200, 200), 0.5)  # 0.2 * 1.5 m/s per wheel
    assert lk.telemetry is not None and lk.telemetry.v == pytest.approx(0.3, abs=0.002)
    assert lk.telemetry.omega == pytest.approx(0.0, abs=0.002)


def test_firmware_decodes_python_frames_bit_exactly(sitl_binary: Path) -> None:
    stream = b"".join(
        encode_frame(SetVelocityMsg(v / 1000, -v / 2000), 9, seq, 0, KEY)
        for seq, v in enumerate((1, 250, -998, 1000, 32), start=1)
    )
    out = (
        subprocess.run(
            [str(sitl_binary), "--fuzz", "--robot-id", "9", "--key-hex", KEY.hex()],
            input=stream,
            capture_output=True,
            timeout=10,
            check=True,
        )
        .stdout.decode()
        .split("\n")
    )
    acts = [tuple(int(x) for x in line.split()[1:]) for line in out if line.startswith("ACT")]
    # commands are clamped to FW_MAX_V = 1.0 m/s; omega round-trips through int16 mrad/s
    assert acts == [(1, 1, 0), (2, 250, -125), (3, -998, 499), (4, 1000, -500), (5, 32, -16)]


def test_serial_link_reconnects_after_unplug(sitl_binary: Path) -> None:
    with Sitl("pty", robot_id=1, binary=sitl_binary) as sitl:
        opened: list[SerialTransport] = []

        def factory() -> SerialTransport:
            opened.append(SerialTransport(sitl.pty or ""))
            return opened[-1]

        transport = ReconnectingTransport(factory, backoff_initial=0.05)
        lk = RobotLink(transport, 1)
        assert lk.sync(2.0)
        os.close(opened[-1]._ser.fd)  # yank the cable: the next read fails with EBADF
        lk.poll_for(0.3)
        assert transport.reconnects == 1 and len(opened) == 2
        count = lk.telemetry_count
        assert lk.sync(2.0) and lk.telemetry_count > count
        transport.close()


def test_reconnect_backoff_doubles_up_to_its_cap() -> None:
    from fleetmind.firmware_bridge.transport import LinkDown

    clock = ManualClock()
    tries: list[float] = []

    def failing() -> Transport:
        tries.append(clock.now())
        raise LinkDown("unplugged")

    transport = ReconnectingTransport(failing, backoff_initial=0.1, backoff_max=0.4, clock=clock)
    for _ in range(200):
        clock.advance(0.01)
        transport.send(b"x")  # dropped while down
    gaps = [round(b - a, 2) for a, b in zip(tries, tries[1:], strict=False)]
    assert gaps[0] == pytest.approx(0.1, abs=0.011) and gaps[1:4] == [0.2, 0.4, 0.4] and not transport.connected


def test_rate_limiter_and_heartbeat_monitor() -> None:
    from fleetmind.firmware_bridge.monitor import CommandWatchdog, HeartbeatMonitor
    from fleetmind.firmware_bridge.transport import RateLimiter

    clock = ManualClock()
    rl = RateLimiter(10.0, burst=2, clock=clock)
    allowed = 0
    for _ in range(1000):  # 1 s in 1 ms ticks
        clock.advance(0.001)
        allowed += rl.allow()
    assert 10 <= allowed <= 12
    hb = HeartbeatMonitor(timeout=0.5)
    assert hb.lost(0.0)
    hb.seen(1.0)
    assert not hb.lost(1.5) and hb.lost(1.501) and hb.lost_events == 1
    wd = CommandWatchdog(timeout=0.3)
    assert wd.expired(0.0)
    wd.commanded(2.0)
    assert not wd.expired(2.3) and wd.expired(2.31)


def test_msgtype_acked_names_the_command(link: tuple[RobotLink, Sitl]) -> None:
    lk, _ = link
    reply = lk.request(Arm())
    assert isinstance(reply, Ack) and reply.msg_type is MsgType.ARM
