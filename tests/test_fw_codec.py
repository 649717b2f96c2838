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
    NewSession,
    SessionStart,
    SetMotors,
    SetVelocityMsg,
    Status,
    Telemetry,
)
from hypothesis import given, settings
from hypothesis import strategies as st

# robot 2, session 0xA1B2C3D4, seq 0x01020304, timestamp 1000 ms. (message, raw frame hex, COBS-encoded wire hex)
SESSION = 0xA1B2C3D4
FIXTURES: list[tuple[Message, str, str]] = [
    (
        SetVelocityMsg(0.5, -0.25),
        "020100040200d4c3b2a104030201e8030000f40106ff0294",
        "0302010304020bd4c3b2a104030201e8030107f40106ff029400",
    ),
    (
        SetMotors(-1000, 250),
        "020200040200d4c3b2a104030201e803000018fcfa00bed8",
        "0302020304020bd4c3b2a104030201e803010418fcfa03bed800",
    ),
    (
        Arm(),
        "020300000200d4c3b2a104030201e80300002340",
        "0302030102020bd4c3b2a104030201e8030103234000",
    ),
    (
        Disarm(),
        "020400000200d4c3b2a104030201e80300008d32",
        "0302040102020bd4c3b2a104030201e80301038d3200",
    ),
    (
        EStop(),
        "020500000200d4c3b2a104030201e80300006f22",
        "0302050102020bd4c3b2a104030201e80301036f2200",
    ),
    (
        ClearEStop(),
        "020600000200d4c3b2a104030201e80300004913",
        "0302060102020bd4c3b2a104030201e8030103491300",
    ),
    (
        Heartbeat(),
        "020700000200d4c3b2a104030201e8030000ab03",
        "0302070102020bd4c3b2a104030201e8030103ab0300",
    ),
    (
        NewSession(0x0BADCAFE),
        "020800040200d4c3b2a104030201e8030000fecaad0b305e",
        "0302080304020bd4c3b2a104030201e8030107fecaad0b305e00",
    ),
    (
        Telemetry(1.234, -0.5, 3.142, 0.25, -1.0, 12.6, Status.ARMED | Status.MOVING, 4660),
        "021000160200d4c3b2a104030201e8030000d20400000cfeffff460cfa0018fc3831090034120000b929",
        "0302100316020bd4c3b2a104030201e8030103d20401080cfeffff460cfa0618fc3831090334120103b92900",
    ),
    (
        Ack(7, MsgType.ARM),
        "021100050200d4c3b2a104030201e80300000700000003c46f",
        "0302110305020bd4c3b2a104030201e80301020701010403c46f00",
    ),
    (
        Nack(8, MsgType.SET_VELOCITY, NackReason.NOT_ARMED),
        "021200060200d4c3b2a104030201e80300000800000001036d0b",
        "0302120306020bd4c3b2a104030201e80301020801010501036d0b00",
    ),
    (
        SessionStart(0x0BADCAFE),
        "021300040200d4c3b2a104030201e8030000fecaad0bb071",
        "0302130304020bd4c3b2a104030201e8030107fecaad0bb07100",
    ),
]
KEY = bytes(range(32))
KEYED_SETVEL = "020101040200d4c3b2a104030201e8030000f40106ff33d44335219416dc4048"


def test_crc16_is_ibm3740_check_value() -> None:
    assert crc16(b"123456789") == 0x29B1


def test_tag_is_truncated_hmac_sha256_rfc4231_case2() -> None:
    full = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    assert hmac.new(b"Jefe", b"what do ya want for nothing?", hashlib.sha256).hexdigest() == full
    assert auth.tag(b"Jefe", b"what do ya want for nothing?").hex() == full[:16]


def test_set_velocity_fixture_byte_by_byte() -> None:
    raw = bytes.fromhex(FIXTURES[0][1])
    assert raw[0] == 2 and raw[1] == 0x01 and raw[2] == 0 and raw[3] == 4  # version, type, flags, payload_len
    assert raw[4:6] == b"\x02\x00" and raw[6:10] == b"\xd4\xc3\xb2\xa1"  # robot 2, session 0xA1B2C3D4 (LE)
    assert raw[10:14] == b"\x04\x03\x02\x01" and raw[14:18] == (1000).to_bytes(4, "little")  # seq, timestamp
    assert raw[18:22] == (500).to_bytes(2, "little") + (-250).to_bytes(2, "little", signed=True)
    assert raw[22:] == crc16(raw[:22]).to_bytes(2, "little")


@pytest.mark.parametrize(("message", "raw_hex", "wire_hex"), FIXTURES, ids=[type(f[0]).__name__ for f in FIXTURES])
def test_every_message_matches_its_byte_fixture(message: Message, raw_hex: str, wire_hex: str) -> None:
    assert build_frame(message, 2, 0x01020304, 1000, session=SESSION).hex() == raw_hex
    assert encode_frame(message, 2, 0x01020304, 1000, session=SESSION).hex() == wire_hex
    frame = decode_frame(bytes.fromhex(raw_hex))
    assert frame.message == message
    header = frame.header
    assert (header.robot_id, header.session, header.seq, header.timestamp_ms) == (2, SESSION, 0x01020304, 1000)
    assert cobs.decode(bytes.fromhex(wire_hex)[:-1]).hex() == raw_hex


def test_fixtures_cover_every_message_type() -> None:
    assert {type(m) for m, _, _ in FIXTURES} == set(MESSAGE_TYPES.values())
    assert set(MESSAGE_TYPES) == set(MsgType)


def test_keyed_fixture_and_tag_position() -> None:
    raw = build_frame(SetVelocityMsg(0.5, -0.25), 2, 0x01020304, 1000, KEY, SESSION)
    assert raw.hex() == KEYED_SETVEL
    assert raw[2] == 0x01  # auth flag
    assert raw[22:30] == auth.tag(KEY, raw[:22])  # the tag covers the header, session nonce included
    assert decode_frame(raw, KEY).message == SetVelocityMsg(0.5, -0.25)


def _fault(raw: bytes, key: bytes | None = None, robot: int | None = None, session: int | None = None) -> FrameFault:
    with pytest.raises(FrameError) as err:
        decode_frame(raw, key, robot, session)
    return err.value.fault


def _recrc(body: bytes) -> bytes:
    return body + crc16(body).to_bytes(2, "little")


def test_every_fault_is_detected_and_named() -> None:
    raw = bytes.fromhex(FIXTURES[0][1])
    keyed = bytes.fromhex(KEYED_SETVEL)
    assert _fault(raw[:10]) is FrameFault.SHORT
    assert _fault(raw[:-1] + bytes([raw[-1] ^ 1])) is FrameFault.CRC
    assert _fault(_recrc(b"\x01" + raw[1:-2])) is FrameFault.VERSION  # a v1 frame
    assert _fault(_recrc(raw[:2] + b"\x80" + raw[3:-2])) is FrameFault.FLAGS
    assert _fault(_recrc(raw[:3] + b"\x05" + raw[4:-2])) is FrameFault.LENGTH
    assert _fault(_recrc(raw[:1] + b"\x7f" + raw[2:-2])) is FrameFault.TYPE
    assert _fault(_recrc(raw[:1] + b"\x03" + raw[2:-2])) is FrameFault.LENGTH  # Arm carries no payload
    assert _fault(raw, robot=3) is FrameFault.ROBOT
    assert _fault(raw, key=KEY) is FrameFault.AUTH  # untagged frame while a key is configured
    assert _fault(keyed) is FrameFault.AUTH  # tagged frame, no key configured
    assert _fault(keyed, key=bytes(32)) is FrameFault.AUTH  # wrong key
    tampered = keyed[:18] + b"\xe8\x03" + keyed[20:-2]  # v 0.5 -> 1.0, CRC recomputed by the attacker
    assert _fault(_recrc(tampered), key=KEY) is FrameFault.AUTH
    old_session = keyed[:6] + (SESSION ^ 1).to_bytes(4, "little") + keyed[10:-2]  # another session's nonce
    assert _fault(_recrc(old_session), key=KEY) is FrameFault.AUTH  # the tag covers the nonce
    assert _fault(keyed, key=KEY, session=SESSION + 1) is FrameFault.SESSION  # rightly tagged, other session
    assert decode_frame(keyed, KEY, session=SESSION).message == SetVelocityMsg(0.5, -0.25)
    assert _fault(bytes(64)) is FrameFault.OVERSIZED


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
