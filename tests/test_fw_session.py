"""Sessions (protocol v2, issue 13 item 10): sequence numbers never wrap, and no frame outlives its session.

A link driven past 2^32 frames (its counter starts just below the wrap) keeps working, motion and EStop
included: the host asks for a new session before its numbers reach the high-water mark, the robot does the
same for its own. A frame captured in one session is refused in the next, after a re-sync and after a reboot
(v1 reset the replay window on reboot, so captured frames could be replayed then). The robot double runs on a
manual clock; the SITL (the C firmware) is the reference.
"""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest
from fleetmind.firmware_bridge.link import RobotLink
from fleetmind.firmware_bridge.messages import (
    SEQ_MAX,
    SESSION_HIGH_WATER,
    Ack,
    Arm,
    EStop,
    Message,
    Nack,
    NackReason,
    SetVelocityMsg,
    Status,
)
from fleetmind.firmware_bridge.transport import Transport, UdpTransport
from fleetmind.robots.clock import ManualClock

from fleetmind.testing.robot_double import RobotDouble
from fleetmind.testing.sitl import Sitl, build_sitl

KEY = bytes(range(32))
ROBOT = 4
NEAR_WRAP = SEQ_MAX - 10  # 10 more frames and a 32-bit counter wraps


class Tap:
    """A transport that also records every frame the host sends (an eavesdropper on the link)."""

    def __init__(self, inner: Transport) -> None:
        self.inner = inner
        self.sent: list[bytes] = []

    def send(self, data: bytes) -> None:
        self.sent.append(data)
        self.inner.send(data)

    def recv(self, timeout: float) -> bytes:
        return self.inner.recv(timeout)

    def close(self) -> None:
        self.inner.close()


@pytest.fixture(scope="module")
def sitl_binary() -> Path:
    return build_sitl()


def _acked(link: RobotLink, message: Message) -> bool:
    return isinstance(link.request(message), Ack)


# ---------------------------------------------------------------------------------------------- robot double
def _double_link(key: bytes | None = KEY, **robot_kw: int) -> tuple[ManualClock, RobotDouble, Tap, RobotLink]:
    clock = ManualClock()
    robot = RobotDouble(clock, ROBOT, key=key, **robot_kw)
    tap = Tap(robot)
    link = RobotLink(tap, ROBOT, key, clock=clock)
    assert link.sync(1.0) and link.session == robot.session
    assert _acked(link, Arm())
    return clock, robot, tap, link


@pytest.mark.parametrize("key", [KEY, None], ids=["keyed", "keyless"])
def test_double_link_driven_past_the_wrap_keeps_working(key: bytes | None) -> None:
    _, robot, _, link = _double_link(key)
    first = robot.session
    link.seq = NEAR_WRAP
    replies: list[Ack | Nack | None] = []
    for i in range(40):  # 4x past the wrap
        replies.append(link.request(SetVelocityMsg(0.1 + 0.01 * i, 0.0)))
    assert all(isinstance(r, Ack) for r in replies), [r for r in replies if not isinstance(r, Ack)]
    assert [round(v, 2) for _, v, _ in robot.velocities()] == [round(0.1 + 0.01 * i, 2) for i in range(40)]
    assert len(robot.sessions) == 2 and link.session == robot.session != first  # one re-sync, before the wrap
    assert link.seq < 100  # numbered from 1 again in the new session
    assert _acked(link, EStop())
    assert robot.estop and robot.v == 0.0 and robot.estops_unverified == 0  # a verified e-stop, not the fallback


def test_host_resyncs_at_the_high_water_mark_not_before() -> None:
    _, robot, _, link = _double_link()
    link.seq = SESSION_HIGH_WATER - 3
    for _ in range(3):
        link.send(SetVelocityMsg(0.2, 0.0))
    assert link.seq == SESSION_HIGH_WATER and len(robot.sessions) == 1
    link.send(SetVelocityMsg(0.2, 0.0))  # the next one first starts a new session
    assert len(robot.sessions) == 2 and link.session == robot.session


@pytest.mark.parametrize("tx_seq", [NEAR_WRAP, SESSION_HIGH_WATER - 20], ids=["near_wrap", "mid_link"])
def test_robot_own_numbers_resync_before_the_wrap(tx_seq: int) -> None:
    clock, robot, _, link = _double_link(tx_seq=tx_seq)
    start = clock.now()
    count = link.telemetry_count
    while clock.now() - start < 2.0:  # 100 telemetry frames: the robot's counter would wrap after 10
        link.send(SetVelocityMsg(0.3, 0.0))
        link.poll_for(0.04)
    assert not link.lost and link.telemetry_count - count >= 95
    assert len(robot.sessions) == 2 and link.session == robot.session
    assert link.telemetry is not None and link.telemetry.v == pytest.approx(0.3)


def test_double_refuses_a_frame_of_an_earlier_session_after_resync_and_reboot() -> None:
    _, robot, tap, link = _double_link()
    link.request(SetVelocityMsg(0.77, 0.0))
    captured = list(tap.sent)  # Arm, SetVelocity(0.77), ... of session 1
    assert link.new_session()
    for frame in captured:  # replayed in session 2: their numbers are above the new window, their nonce is not
        robot.send(frame)
    link.poll_for(0.05)
    assert [v for _, v, _ in robot.velocities()] == [0.77]  # only the original
    robot.reboot()
    link.poll_for(0.1)  # telemetry of the new session: the link follows it
    assert link.session == robot.session and len(robot.sessions) == 3
    assert _acked(link, Arm())
    for frame in captured:
        robot.send(frame)
    link.poll_for(0.05)
    assert [v for _, v, _ in robot.velocities()] == [0.77] and robot.v == 0.0


# ---------------------------------------------------------------------------------------------- C firmware
def _sitl_link(sitl: Sitl, first_session: bool = True) -> tuple[Tap, RobotLink]:
    assert sitl.udp
    tap = Tap(UdpTransport(*sitl.udp))
    link = RobotLink(tap, ROBOT, KEY)
    assert link.sync(2.0) and (link.session == sitl.session or not first_session)
    assert _acked(link, Arm())
    return tap, link


def _cmds(sitl: Sitl) -> list[dict[str, str]]:
    return [e for e in sitl.events() if e["kind"] == "cmd"]


def test_firmware_link_driven_past_the_wrap_keeps_working(sitl_binary: Path, tmp_path: Path) -> None:
    with Sitl("udp", robot_id=ROBOT, key=KEY, events=tmp_path / "ev.log", binary=sitl_binary) as sitl:
        _, link = _sitl_link(sitl)
        link.seq = NEAR_WRAP
        replies = [link.request(SetVelocityMsg(0.4, 0.0)) for _ in range(40)]
        assert all(isinstance(r, Ack) for r in replies), [r for r in replies if not isinstance(r, Ack)]
        assert link.session != sitl.session and link.seq < 200
        cmds = _cmds(sitl)
        assert len(cmds) >= 40 and max(int(e["seq"]) for e in cmds[-40:]) < 200  # new numbers, all acted on
        # the new session's telemetry (20 Hz) may not have arrived yet, and a loaded machine can starve the SITL:
        # wait, bounded, for a frame sent after the last command
        seen = link.telemetry_count
        end = time.monotonic() + 10.0
        while link.telemetry_count < seen + 2 and time.monotonic() < end:
            link.poll_for(0.05)
        assert link.telemetry is not None and link.telemetry.status & Status.ARMED
        sessions = [e for e in sitl.events() if e["kind"] == "session"]
        assert len(sessions) == 1 and int(sessions[0]["nonce"]) == link.session
        assert int(sessions[0]["old"]) == sitl.session
        assert _acked(link, EStop())
        link.poll_for(0.1)
        assert link.telemetry is not None and link.telemetry.status & Status.ESTOP and link.telemetry.v == 0.0
        link.transport.close()


def test_firmware_own_numbers_resync_before_the_wrap(sitl_binary: Path) -> None:
    with Sitl("udp", robot_id=ROBOT, key=KEY, binary=sitl_binary, tx_seq=NEAR_WRAP) as sitl:
        _, link = _sitl_link(sitl, first_session=False)  # it may have started its second session already
        count = link.telemetry_count
        end = time.monotonic() + 1.5  # ~75 telemetry frames: the robot's counter would wrap after 10
        while time.monotonic() < end:
            link.send(SetVelocityMsg(0.3, 0.0))
            link.poll_for(0.04)
        assert link.session != sitl.session and not link.lost
        assert link.telemetry_count - count >= 25
        assert link.telemetry is not None and link.telemetry.v > 0.2  # still driven in the new session
        link.transport.close()


def test_firmware_refuses_frames_of_an_earlier_session_after_resync_and_reboot(
    sitl_binary: Path, tmp_path: Path
) -> None:
    attacker = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    attacker.bind(("127.0.0.1", 0))
    with Sitl("udp", robot_id=ROBOT, key=KEY, events=tmp_path / "ev1.log", binary=sitl_binary) as sitl:
        tap, link = _sitl_link(sitl)
        for _ in range(5):
            assert _acked(link, SetVelocityMsg(0.33, 0.0))
        captured = list(tap.sent)  # heartbeats, Arm and five SetVelocity(0.33) of session 1
        assert link.new_session() and link.session != sitl.session
        assert _acked(link, SetVelocityMsg(0.0, 0.0))
        for frame in captured:  # their numbers are above the new session's window
            attacker.sendto(frame, sitl.udp)
        link.poll_for(0.2)
        assert [e["v"] for e in _cmds(sitl)] == ["330"] * 5 + ["0"]  # no replay acted on
        rejected = [e for e in sitl.events() if e["kind"] == "reject"]
        assert len(rejected) >= 5 and {e["reason"] for e in rejected[-5:]} == {str(int(NackReason.SESSION))}
        link.transport.close()
    with Sitl("udp", robot_id=ROBOT, key=KEY, events=tmp_path / "ev2.log", binary=sitl_binary) as rebooted:
        assert rebooted.udp and rebooted.session != sitl.session
        for frame in captured:  # after a reboot: v1 had an empty window here and obeyed Arm and SetVelocity
            attacker.sendto(frame, rebooted.udp)
        time.sleep(0.2)
        rejects = [e for e in rebooted.events() if e["kind"] == "reject"]
        assert _cmds(rebooted) == [] and len(rejects) == len(captured)
        assert {e["reason"] for e in rejects} == {str(int(NackReason.SESSION))}
        _, link2 = _sitl_link(rebooted)  # the genuine host still works with the rebooted robot
        assert _acked(link2, SetVelocityMsg(0.2, 0.0)) and [e["v"] for e in _cmds(rebooted)] == ["200"]
        link2.transport.close()
    attacker.close()
