"""Wire protocol v1: byte fixtures for every message, CRC/HMAC check values, every fault, the replay window."""

from __future__ import annotations

import hashlib
import hmac

import pytest
from cobs import cobs
from fleetmind.firmware_bridge import auth
from fleetmind.firmware_bridge.codec import (
    MAX_ENCODED,
    FrameDecoder,
    FrameError,
    FrameFault,
    build_frame,
    crc16,
    decode_frame,
    encode_frame,
)
from fleetmind.firmware_bridge.messages import (
    MESSAGE_TYPES,
    Ack,
    Arm,
    ClearEStop,
    Disarm,
    EStop,
    Heartbeat,
    Message,
    MsgType,
    Nack,
    NackReason,
    SetMotors,
    SetVelocityMsg,
    Status,
    Telemetry,
)
from hypothesis import given, settings
from hypothesis import strategies as st

# robot 2, seq 0x01020304, timestamp 1000 ms. (message, raw frame hex, COBS-encoded wire bytes hex)
FIXTURES: list[tuple[Message, str, str]] = [
    (
        SetVelocityMsg(0.5, -0.25),
        "01010004020004030201e8030000f40106ff34e8",
        "0301010304020704030201e8030107f40106ff34e800",
    ),
    (SetMotors(-1000, 250), "01020004020004030201e803000018fcfa0095fb", "0301020304020704030201e803010418fcfa0395fb00"),
    (Arm(), "01030000020004030201e8030000a36d", "0301030102020704030201e8030103a36d00"),
    (Disarm(), "01040000020004030201e8030000aba7", "0301040102020704030201e8030103aba700"),
    (EStop(), "01050000020004030201e8030000c8e2", "0301050102020704030201e8030103c8e200"),
    (ClearEStop(), "01060000020004030201e80300006d2d", "0301060102020704030201e80301036d2d00"),
    (Heartbeat(), "01070000020004030201e80300000e68", "0301070102020704030201e80301030e6800"),
    (
        Telemetry(1.234, -0.5, 3.142, 0.25, -1.0, 12.6, Status.ARMED | Status.MOVING, 4660),
        "01100016020004030201e8030000d20400000cfeffff460cfa0018fc3831090034120000d396",
        "0301100316020704030201e8030103d20401080cfeffff460cfa0618fc3831090334120103d39600",
    ),
    (
        Ack(7, MsgType.ARM),
        "01110005020004030201e80300000700000003f134",
        "0301110305020704030201e80301020701010403f13400",
    ),
    (
        Nack(8, MsgType.SET_VELOCITY, NackReason.NOT_ARMED),
        "01120006020004030201e8030000080000000103f357",
        "0301120306020704030201e8030102080101050103f35700",
    ),
]
KEY = bytes(range(32))
KEYED_SETVEL = "01010104020004030201e8030000f40106ffb1bb58da5e2c35020076"


def test_crc16_is_ibm3740_check_value() -> None:
    assert crc16(b"123456789") == 0x29B1


def test_tag_is_truncated_hmac_sha256_rfc4231_case2() -> None:
    full = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    assert hmac.new(b"Jefe", b"what do ya want for nothing?", hashlib.sha256).hexdigest() == full
    assert auth.tag(b"Jefe", b"what do ya want for nothing?").hex() == full[:16]


def test_set_velocity_fixture_byte_by_byte() -> None:
    raw = bytes.fromhex(FIXTURES[0][1])
    assert raw[0] == 1 and raw[1] == 0x01 and raw[2] == 0 and raw[3] == 4  # version, type, flags, payload_len
    assert raw[4:6] == b"\x02\x00" and raw[6:10] == b"\x04\x03\x02\x01"  # robot 2, seq 0x01020304 (LE)
    assert raw[10:14] == (1000).to_bytes(4, "little")
    assert raw[14:18] == (500).to_bytes(2, "little") + (-250).to_bytes(2, "little", signed=True)
    assert raw[18:] == crc16(raw[:18]).to_bytes(2, "little")


@pytest.mark.parametrize(("message", "raw_hex", "wire_hex"), FIXTURES, ids=[type(f[0]).__name__ for f in FIXTURES])
def test_every_message_matches_its_byte_fixture(message: Message, raw_hex: str, wire_hex: str) -> None:
    assert build_frame(message, 2, 0x01020304, 1000).hex() == raw_hex
    assert encode_frame(message, 2, 0x01020304, 1000).hex() == wire_hex
    frame = decode_frame(bytes.fromhex(raw_hex))
    assert frame.message == message
    assert (frame.header.robot_id, frame.header.seq, frame.header.timestamp_ms) == (2, 0x01020304, 1000)
    assert cobs.decode(bytes.fromhex(wire_hex)[:-1]).hex() == raw_hex


def test_fixtures_cover_every_message_type() -> None:
    assert {type(m) for m, _, _ in FIXTURES} == set(MESSAGE_TYPES.values())
    assert set(MESSAGE_TYPES) == set(MsgType)


def test_keyed_fixture_and_tag_position() -> None:
    raw = build_frame(SetVelocityMsg(0.5, -0.25), 2, 0x01020304, 1000, KEY)
    assert raw.hex() == KEYED_SETVEL
    assert raw[2] == 0x01  # auth flag
    assert raw[18:26] == auth.tag(KEY, raw[:18])
    assert decode_frame(raw, KEY).message == SetVelocityMsg(0.5, -0.25)


def _fault(raw: bytes, key: bytes | None = None, robot: int | None = None) -> FrameFault:
    with pytest.raises(FrameError) as err:
        decode_frame(raw, key, robot)
    return err.value.fault


def _recrc(body: bytes) -> bytes:
    return body + crc16(body).to_bytes(2, "little")


def test_every_fault_is_detected_and_named() -> None:
    raw = bytes.fromhex(FIXTURES[0][1])
    keyed = bytes.fromhex(KEYED_SETVEL)
    assert _fault(raw[:10]) is FrameFault.SHORT
    assert _fault(raw[:-1] + bytes([raw[-1] ^ 1])) is FrameFault.CRC
    assert _fault(_recrc(b"\x02" + raw[1:-2])) is FrameFault.VERSION
    assert _fault(_recrc(raw[:2] + b"\x80" + raw[3:-2])) is FrameFault.FLAGS
    assert _fault(_recrc(raw[:3] + b"\x05" + raw[4:-2])) is FrameFault.LENGTH
    assert _fault(_recrc(raw[:1] + b"\x7f" + raw[2:-2])) is FrameFault.TYPE
    assert _fault(_recrc(raw[:1] + b"\x03" + raw[2:-2])) is FrameFault.LENGTH  # Arm carries no payload
    assert _fault(raw, robot=3) is FrameFault.ROBOT
    assert _fault(raw, key=KEY) is FrameFault.AUTH  # untagged frame while a key is configured
    assert _fault(keyed) is FrameFault.AUTH  # tagged frame, no key configured
    assert _fault(keyed, key=bytes(32)) is FrameFault.AUTH  # wrong key
    tampered = keyed[:14] + b"\xe8\x03" + keyed[16:-2]  # v 0.5 -> 1.0, CRC recomputed by the attacker
    assert _fault(_recrc(tampered), key=KEY) is FrameFault.AUTH
    assert _fault(bytes(60)) is FrameFault.OVERSIZED


def test_stream_decoder_resyncs_and_bounds_its_buffer() -> None:
    good = bytes.fromhex(FIXTURES[0][2])
    dec = FrameDecoder()
    frames = dec.feed(b"\x11" * 500 + b"\x00" + good[:7] + b"\x00" + good + b"\x05\x05\x00" + good)
    assert [f.message for f in frames] == [SetVelocityMsg(0.5, -0.25)] * 2
    assert dec.faults[FrameFault.OVERSIZED] == 1 and dec.frames_ok == 2
    assert sum(dec.faults.values()) == 3
    assert len(dec._buf) <= MAX_ENCODED


def test_replay_window() -> None:
    w = auth.ReplayWindow()
    for seq in (10, 12, 11):
        assert w.check(seq)
        w.mark(seq)
    assert not w.check(10) and not w.check(11) and not w.check(12)
    assert w.check(13) and w.check(9)  # unseen, inside the window
    w.mark(100)
    assert not w.check(36) and w.check(37) and not w.check(100)  # 64-wide window below the highest


def test_key_file(tmp_path) -> None:
    path = tmp_path / "robot.key"
    path.write_text(KEY.hex() + "\n")
    assert auth.load_key(path) == KEY
    path.write_text("abcd")
    with pytest.raises(ValueError, match="16..64 bytes"):
        auth.load_key(path)


velocities = st.builds(
    SetVelocityMsg,
    st.integers(-32768, 32767).map(lambda x: x / 1000),
    st.integers(-32768, 32767).map(lambda x: x / 1000),
)


@settings(max_examples=300, deadline=None)
@given(
    msg=velocities,
    rid=st.integers(0, 0xFFFF),
    seq=st.integers(0, 2**32 - 1),
    key=st.sampled_from([None, KEY]),
    cuts=st.lists(st.integers(0, 40), max_size=4),
)
def test_roundtrip_through_any_chunking(
    msg: SetVelocityMsg, rid: int, seq: int, key: bytes | None, cuts: list[int]
) -> None:
    wire = encode_frame(msg, rid, seq, 5, key) * 2
    dec = FrameDecoder(key)
    points = sorted({0, len(wire), *(c % len(wire) for c in cuts)})
    frames = [f for a, b in zip(points, points[1:], strict=False) for f in dec.feed(wire[a:b])]
    assert [f.message for f in frames] == [msg, msg]
    assert all(f.header.seq == seq and f.header.robot_id == rid for f in frames)


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=300))
def test_decoder_never_raises_on_arbitrary_bytes(data: bytes) -> None:
    dec = FrameDecoder(KEY, 1)
    assert dec.feed(data) == []  # nothing random can carry a valid tag
