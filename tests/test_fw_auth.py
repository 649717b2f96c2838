"""With a key configured, forged and replayed frames sent to a live SITL are never acted on (0 accepted)."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest
from cobs import cobs
from fleetmind.firmware_bridge.codec import build_frame, crc16, encode_frame
from fleetmind.firmware_bridge.link import RobotLink
from fleetmind.firmware_bridge.messages import Ack, Arm, ClearEStop, Disarm, Message, SetVelocityMsg, Status
from fleetmind.firmware_bridge.transport import UdpTransport

from fleetmind.testing.sitl import Sitl, build_sitl

KEY = bytes(range(32))
ROBOT = 5


@pytest.fixture(scope="session")
def sitl_binary() -> Path:
    return build_sitl()


def forged_frames(seq0: int) -> list[bytes]:
    out = []
    # no EStop: the firmware obeys an EStop from anyone (it only ever makes the robot safer, tests/test_fw_estop.py)
    for i, msg in enumerate([SetVelocityMsg(0.8, 0.0), ClearEStop(), Arm(), Disarm()] * 20):
        seq = seq0 + 10 * i
        out.append(encode_frame(msg, ROBOT, seq, 0, None))  # no tag
        out.append(encode_frame(msg, ROBOT, seq + 1, 0, bytes(32)))  # wrong key
        out.append(encode_frame(msg, 0xFFFF, seq + 2, 0, bytes(32)))  # broadcast, wrong key
        out.append(encode_frame(msg, ROBOT + 1, seq + 3, 0, KEY))  # right key, other robot id
        raw = bytearray(build_frame(SetVelocityMsg(0.1, 0.0), ROBOT, seq + 4, 0, KEY))
        raw[14:16] = (800).to_bytes(2, "little")  # tampered payload, attacker recomputes the CRC
        raw[-2:] = crc16(bytes(raw[:-2])).to_bytes(2, "little")
        out.append(cobs.encode(bytes(raw)) + b"\x00")
    return out


def accepted_seqs(sitl: Sitl) -> set[int]:
    return {int(e["seq"]) for e in sitl.events() if e["kind"] in ("cmd", "estop")}


def test_forged_and_replayed_frames_are_never_acted_on(sitl_binary: Path, tmp_path: Path) -> None:
    with Sitl("udp", robot_id=ROBOT, key=KEY, events=tmp_path / "ev.log", binary=sitl_binary) as sitl:
        assert sitl.udp
        transport = UdpTransport(*sitl.udp)
        link = RobotLink(transport, ROBOT, KEY)
        captured: list[bytes] = []
        real_send = transport.send

        def tap(data: bytes) -> None:  # an eavesdropper records every frame the host sends
            captured.append(data)
            real_send(data)

        transport.send = tap  # type: ignore[method-assign]
        assert link.sync(2.0) and isinstance(link.request(Arm()), Ack)
        for _ in range(10):
            link.send(SetVelocityMsg(0.3, 0.0))
            link.poll_for(0.04)
        assert isinstance(link.request(Disarm()), Ack)
        link.poll_for(0.3)
        before = link.telemetry
        assert before is not None and before.v == 0.0 and not before.status & Status.ARMED
        legit = accepted_seqs(sitl)
        rejects_before = sitl.count("reject")  # the host's first heartbeat, sent before it knew the session nonce
        attacker = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        attacker.bind(("127.0.0.1", 0))
        forged = forged_frames(link.seq + 1000)
        replayed = [c for c in captured for _ in range(3)]  # Arm, SetVelocityMsg, Disarm ... each sent again 3x
        for frame in forged + replayed:
            attacker.sendto(frame, sitl.udp)
            time.sleep(0.0002)
        attacker.close()
        link.poll_for(0.3)
        after = link.telemetry
        forged_ok = len(accepted_seqs(sitl) - legit)
        assert forged_ok == 0
        assert after is not None and after.x == before.x and after.v == 0.0 and not after.status & Status.ARMED
        assert not after.status & Status.ESTOP  # the forged ClearEStop / Arm did nothing either
        assert after.last_seq == before.last_seq  # nothing moved the replay window
        # the genuine host still works after the attack
        assert isinstance(link.request(Arm()), Ack)
        transport.close()
    rejects = sitl.count("reject")  # after exit: the SITL has summarised the lines its rate limit held back
    print(
        f"\nforged sent {len(forged)}, accepted {forged_ok}; replayed sent {len(replayed)}; "
        f"firmware rejections {rejects}, logged as lines {sum(1 for e in sitl.events() if e['kind'] == 'reject')}"
    )
    # frames for another robot id (80, plus 80 non-EStop broadcasts) are dropped silently, the rest Nacked
    assert rejects - rejects_before == len(forged) - 160 + len(replayed)


def test_unkeyed_host_cannot_drive_a_keyed_robot(sitl_binary: Path, tmp_path: Path) -> None:
    with Sitl("udp", robot_id=ROBOT, key=KEY, events=tmp_path / "ev.log", binary=sitl_binary) as sitl:
        assert sitl.udp
        link = RobotLink(UdpTransport(*sitl.udp), ROBOT, key=None)
        msgs: list[Message] = [Arm(), SetVelocityMsg(0.5, 0.0)]
        for msg in msgs * 10:
            link.send(msg)
            link.poll_for(0.01)
        assert link.telemetry is None  # the robot's keyed telemetry is not accepted either (and never sent here)
        assert accepted_seqs(sitl) == set()
        link.transport.close()
