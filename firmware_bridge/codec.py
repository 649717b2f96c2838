"""Framing for wire protocol v2: header (with the session nonce), payload, optional HMAC tag, CRC-16, COBS,
0x00 delimiter.

``encode_frame`` turns a message into bytes ready for the wire; ``decode_frame`` checks one COBS-decoded
frame and returns a :class:`Frame` or raises :class:`FrameError` with a :class:`FrameFault`;
:class:`FrameDecoder` splits a byte stream into frames with a bounded buffer (the firmware's state machine).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import Enum

import crc
from cobs import cobs
from fleetmind.firmware_bridge import auth
from fleetmind.firmware_bridge.messages import MESSAGE_TYPES, PROTOCOL_VERSION, Message, MsgType

HEADER = struct.Struct("<BBBBHIII")  # version, type, flags, payload_len, robot_id, session, seq, timestamp_ms
HEADER_LEN = HEADER.size  # 18
CRC_LEN = 2
MAX_PAYLOAD = 32
MAX_FRAME = HEADER_LEN + MAX_PAYLOAD + auth.TAG_LEN + CRC_LEN  # 60
MAX_ENCODED = MAX_FRAME + 2
FLAG_AUTH = 0x01
_CRC = crc.Calculator(crc.Crc16.IBM_3740, optimized=True)


def crc16(data: bytes) -> int:
    """CRC-16/IBM-3740 (CCITT-FALSE: poly 0x1021, init 0xFFFF, no reflection, xorout 0)."""
    return _CRC.checksum(data)


class FrameFault(Enum):
    COBS = "cobs"
    SHORT = "short"
    CRC = "crc"
    VERSION = "version"
    FLAGS = "flags"
    LENGTH = "length"
    TYPE = "type"
    ROBOT = "robot"
    AUTH = "auth"
    REPLAY = "replay"
    SESSION = "session"
    OVERSIZED = "oversized"


class FrameError(ValueError):
    def __init__(self, fault: FrameFault, detail: str = "") -> None:
        self.fault = fault
        super().__init__(f"bad frame ({fault.value}){': ' + detail if detail else ''}")


@dataclass(frozen=True)
class Header:
    version: int
    msg_type: MsgType
    flags: int
    payload_len: int
    robot_id: int
    session: int
    seq: int
    timestamp_ms: int


@dataclass(frozen=True)
class Frame:
    header: Header
    message: Message

    @property
    def authenticated(self) -> bool:
        return bool(self.header.flags & FLAG_AUTH)


def build_frame(
    message: Message, robot_id: int, seq: int, timestamp_ms: int, key: bytes | None = None, session: int = 0
) -> bytes:
    """The raw frame (header + payload + tag + CRC), before COBS. ``session`` is the robot's session nonce;
    the tag covers it with the rest of the header, so a frame only ever verifies in its own session."""
    if not 0 <= seq <= 0xFFFFFFFF:  # numbers never wrap: a sender starts a new session first
        raise ValueError(f"seq {seq} outside 0..0xFFFFFFFF; start a new session before the wrap")
    payload = message.pack()
    flags = FLAG_AUTH if key else 0
    head = HEADER.pack(
        PROTOCOL_VERSION,
        int(message.TYPE),
        flags,
        len(payload),
        robot_id,
        session & 0xFFFFFFFF,
        seq,
        timestamp_ms & 0xFFFFFFFF,
    )
    body = head + payload
    if key:
        body += auth.tag(key, body)
    return body + crc16(body).to_bytes(2, "little")


def encode_frame(
    message: Message, robot_id: int, seq: int, timestamp_ms: int, key: bytes | None = None, session: int = 0
) -> bytes:
    """COBS-encoded frame with its trailing 0x00 delimiter."""
    return cobs.encode(build_frame(message, robot_id, seq, timestamp_ms, key, session)) + b"\x00"


def decode_frame(
    raw: bytes, key: bytes | None = None, robot_id: int | None = None, session: int | None = None
) -> Frame:
    """Verify and parse one raw (COBS-decoded) frame. With ``key`` a valid tag is required; with ``session``
    a frame of any other session is refused (``SESSION``, checked after the tag)."""
    if len(raw) < HEADER_LEN + CRC_LEN:
        raise FrameError(FrameFault.SHORT, f"{len(raw)} bytes")
    if len(raw) > MAX_FRAME:
        raise FrameError(FrameFault.OVERSIZED, f"{len(raw)} bytes")
    if crc16(raw[:-CRC_LEN]) != int.from_bytes(raw[-CRC_LEN:], "little"):
        raise FrameError(FrameFault.CRC)
    version, type_code, flags, plen, rid, sess, seq, ts = HEADER.unpack_from(raw)
    if version != PROTOCOL_VERSION:
        raise FrameError(FrameFault.VERSION, f"version {version}")
    if flags & ~FLAG_AUTH:
        raise FrameError(FrameFault.FLAGS, f"flags 0x{flags:02x}")
    tag_len = auth.TAG_LEN if flags & FLAG_AUTH else 0
    if plen > MAX_PAYLOAD or len(raw) != HEADER_LEN + plen + tag_len + CRC_LEN:
        raise FrameError(FrameFault.LENGTH, f"payload_len {plen}, frame {len(raw)} bytes")
    if robot_id is not None and rid != robot_id:
        raise FrameError(FrameFault.ROBOT, f"robot {rid}, expected {robot_id}")
    body_end = HEADER_LEN + plen
    if key:
        if not tag_len or not auth.verify(key, raw[:body_end], raw[body_end : body_end + tag_len]):
            raise FrameError(FrameFault.AUTH, "missing tag" if not tag_len else "tag mismatch")
    elif tag_len:
        raise FrameError(FrameFault.AUTH, "tagged frame but no key configured")
    if session is not None and sess != session:
        raise FrameError(FrameFault.SESSION, f"session {sess:08x}, expected {session:08x}")
    try:
        msg_type = MsgType(type_code)
    except ValueError:
        raise FrameError(FrameFault.TYPE, f"type 0x{type_code:02x}") from None
    cls = MESSAGE_TYPES[msg_type]
    if plen != cls.FORMAT.size:
        raise FrameError(FrameFault.LENGTH, f"{cls.__name__} needs {cls.FORMAT.size} payload bytes, got {plen}")
    try:
        message = cls.unpack(raw[HEADER_LEN:body_end])
    except ValueError as err:  # e.g. an unknown NackReason code
        raise FrameError(FrameFault.TYPE, str(err)) from None
    return Frame(Header(version, msg_type, flags, plen, rid, sess, seq, ts), message)


class FrameDecoder:
    """Stream splitter: feed bytes, get verified frames. Bad frames are counted per fault, never raised.

    The buffer is bounded: a run of more than ``MAX_ENCODED`` bytes without a delimiter is dropped up to
    the next 0x00 (counted as ``OVERSIZED``).
    """

    def __init__(self, key: bytes | None = None, robot_id: int | None = None, session: int | None = None) -> None:
        self.key = key
        self.robot_id = robot_id
        self.session = session
        self.faults: dict[FrameFault, int] = dict.fromkeys(FrameFault, 0)
        self.frames_ok = 0
        self._buf = bytearray()
        self._discard = False

    def feed(self, data: bytes) -> list[Frame]:
        out: list[Frame] = []
        for chunk_i, chunk in enumerate(bytes(data).split(b"\x00")):
            if chunk_i > 0:  # a delimiter ended the pending frame
                self._finish(out)
            if self._discard:
                continue
            self._buf += chunk
            if len(self._buf) > MAX_ENCODED:
                self.faults[FrameFault.OVERSIZED] += 1
                self._buf.clear()
                self._discard = True
        return out

    def _finish(self, out: list[Frame]) -> None:
        pending, discard = bytes(self._buf), self._discard
        self._buf.clear()
        self._discard = False
        if discard or not pending:
            return
        try:
            raw = cobs.decode(pending)
        except cobs.DecodeError:
            self.faults[FrameFault.COBS] += 1
            return
        try:
            out.append(decode_frame(raw, self.key, self.robot_id, self.session))
            self.frames_ok += 1
        except FrameError as err:
            self.faults[err.fault] += 1
