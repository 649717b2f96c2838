"""E-stop is never locked out: a forged frame that moves the replay window past the host (seq 0xFFFFFFFF) makes
the host's later frames replays, yet its EStop still stops the robot; keyed robots obey an untagged EStop from
any sender too (it only ever makes the robot safer). Key-less links need an explicit ``allow_unauthenticated``."""

from __future__ import annotations

import logging
import os
import socket
import time
from pathlib import Path

import pytest
from fleetmind.firmware_bridge.codec import encode_frame
from fleetmind.firmware_bridge.config import FirmwareFleetConfig, RobotLinkConfig
from fleetmind.firmware_bridge.fleet import FirmwareFleet
from fleetmind.firmware_bridge.link import RobotLink
from fleetmind.firmware_bridge.messages import (
    Ack,
    Arm,
    EStop,
    Heartbeat,
    MsgType,
    Nack,
    NackReason,
    SetVelocityMsg,
    Status,
)
from fleetmind.firmware_bridge.transport import SerialTransport, UdpTransport
from fleetmind.robots.clock import ManualClock
from fleetmind.robots.errors import BadInputError

from fleetmind.testing.robot_double import RobotDouble
from fleetmind.testing.sitl import Sitl, build_sitl

KEY = bytes(range(32))
ROBOT = 6
LAST = 0xFFFFFFFF


@pytest.fixture(scope="session")
def sitl_binary() -> Path:
    return build_sitl()


def _drive(link: RobotLink, seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        link.send(SetVelocityMsg(0.4, 0.0))
        link.poll_for(0.04)


def _estop_acked(link: RobotLink, tries: int = 10) -> bool:
    link.replies.clear()
    for _ in range(tries):
        link.send(EStop())
        link.poll_for(0.03)
        if any(isinstance(r, Ack) and r.msg_type is MsgType.ESTOP for r in link.replies):
            return True
    return False


@pytest.mark.parametrize("mode", ["pty", "udp"])
def test_forged_top_sequence_number_does_not_lock_out_the_hosts_estop(
    mode: str, sitl_binary: Path, tmp_path: Path
) -> None:
    with Sitl(mode, robot_id=ROBOT, events=tmp_path / "ev.log", binary=sitl_binary) as sitl:
        transport = SerialTransport(sitl.pty) if sitl.pty else UdpTransport(*(sitl.udp or ("", 0)))
        link = RobotLink(transport, ROBOT)
        assert link.sync(2.0) and isinstance(link.request(Arm()), Ack)
        _drive(link, 0.3)
        assert link.telemetry is not None and link.telemetry.v > 0.1
        # key-less: this one verifies (the session nonce is no secret: every frame of the robot names it)
        forged = encode_frame(Heartbeat(), ROBOT, LAST, 0, session=link.session or 0)
        if sitl.pty:
            fd = os.open(sitl.pty, os.O_WRONLY | os.O_NOCTTY)
            os.write(fd, forged)
            os.close(fd)
        else:
            attacker = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            attacker.bind(("127.0.0.1", 0))
            attacker.sendto(forged, sitl.udp)  # the robot's telemetry now goes to the attacker
        link.poll_for(0.1)
        if sitl.pty:
            assert link.telemetry is not None and link.telemetry.last_seq == LAST  # the window is at the top now
            reply = link.request(SetVelocityMsg(0.4, 0.0))
            assert isinstance(reply, Nack) and reply.reason is NackReason.REPLAY  # the host's frames are replays
            assert _estop_acked(link)
            link.poll_for(0.1)
            t = link.telemetry
            assert t is not None and t.status & Status.ESTOP and not t.status & Status.ARMED and t.v == 0.0
        else:
            seqs = [link.send(EStop()) for _ in range(3)]
            link.poll_for(0.1)
            attacker.close()
        events = sitl.events()
        stops = [(int(e["t"]), int(e["seq"])) for e in events if e["kind"] == "estop"]
        assert stops, "the host's EStop was not obeyed"
        t_stop, seq = stops[0]
        assert seq <= link.seq and (sitl.pty or seq == seqs[0])  # the host's own frame, not the forged one
        assert any(e["kind"] == "motors_zero" and int(e["t"]) == t_stop for e in events)  # zeroed at once
        transport.close()


def test_keyed_robot_obeys_an_untagged_estop_without_moving_its_window(sitl_binary: Path, tmp_path: Path) -> None:
    with Sitl("udp", robot_id=ROBOT, key=KEY, events=tmp_path / "ev.log", binary=sitl_binary) as sitl:
        assert sitl.udp
        link = RobotLink(UdpTransport(*sitl.udp), ROBOT, KEY)
        assert link.sync(2.0) and isinstance(link.request(Arm()), Ack)
        _drive(link, 0.3)
        before = link.telemetry
        assert before is not None and before.status & Status.ARMED
        stranger = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        stranger.bind(("127.0.0.1", 0))
        stranger.sendto(encode_frame(EStop(), ROBOT, LAST, 0), sitl.udp)  # no tag, top sequence number
        stranger.close()
        link.poll_for(0.15)
        t = link.telemetry
        assert t is not None and t.status & Status.ESTOP and t.v == 0.0 and not t.status & Status.ARMED
        assert t.last_seq == before.last_seq  # the unverified EStop did not move the replay window
        link.transport.close()


def test_double_obeys_the_estop_after_a_forged_window_jump() -> None:
    clock = ManualClock()
    robot = RobotDouble(clock, ROBOT)
    link = RobotLink(robot, ROBOT, clock=clock)
    assert link.sync(1.0) and isinstance(link.request(Arm()), Ack)
    link.send(SetVelocityMsg(0.5, 0.0))
    link.poll_for(0.05)
    assert robot.v == 0.5
    robot.send(encode_frame(Heartbeat(), ROBOT, LAST, 0, session=robot.session))  # the forged frame
    assert isinstance(link.request(EStop()), Ack)
    assert robot.estop and not robot.armed and robot.v == 0.0 and robot.estops_unverified == 1
    keyed = RobotDouble(clock, ROBOT, key=KEY)
    keyed.armed = True
    keyed.send(encode_frame(EStop(), 0xFFFF, 3, 0, bytes(32)))  # broadcast, wrong key
    assert keyed.estop and not keyed.armed


def test_keyless_link_needs_allow_unauthenticated(caplog: pytest.LogCaptureFixture) -> None:
    clock = ManualClock()
    robot = RobotLinkConfig(name="robot_0", wire_id=1, udp_host="127.0.0.1", udp_port=9)
    with pytest.raises(BadInputError, match="robot robot_0: no key_file.*allow_unauthenticated: true"):
        FirmwareFleet(FirmwareFleetConfig(robots=[robot]), clock=clock, open_transport=lambda rc: RobotDouble(clock, 1))
    allowed = robot.model_copy(update={"allow_unauthenticated": True})
    with caplog.at_level(logging.WARNING, logger="fleetmind.firmware_bridge.config"):
        fleet = FirmwareFleet(
            FirmwareFleetConfig(robots=[allowed]), clock=clock, open_transport=lambda rc: RobotDouble(clock, 1)
        )
    assert "robot_0: link without authentication" in caplog.text
    assert fleet.links["robot_0"].key is None
    fleet.close()
