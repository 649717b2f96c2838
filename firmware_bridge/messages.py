"""Wire protocol v2 messages: typed frozen dataclasses, one per message type (see PROTOCOL.md).

Each message knows its type code and its payload layout; :mod:`fleetmind.firmware_bridge.codec` frames them.
Units on the Python side are SI (m, m/s, rad, rad/s, V); on the wire they are fixed-point integers.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import IntEnum, IntFlag
from typing import ClassVar

PROTOCOL_VERSION = 2
BROADCAST_ID = 0xFFFF
SESSION_HIGH_WATER = 0xFFFF0000
"""A sender starts a new session before its sequence number passes this, so numbers never wrap (2^16 spare)."""
SEQ_MAX = 0xFFFFFFFF


class MsgType(IntEnum):
    SET_VELOCITY = 0x01
    SET_MOTORS = 0x02
    ARM = 0x03
    DISARM = 0x04
    ESTOP = 0x05
    CLEAR_ESTOP = 0x06
    HEARTBEAT = 0x07
    NEW_SESSION = 0x08
    TELEMETRY = 0x10
    ACK = 0x11
    NACK = 0x12
    SESSION_START = 0x13


class NackReason(IntEnum):
    AUTH = 1
    REPLAY = 2
    NOT_ARMED = 3
    ESTOPPED = 4
    BAD_LENGTH = 5
    UNKNOWN_TYPE = 6
    BAD_VERSION = 7
    OUT_OF_RANGE = 8
    STALE = 9
    SESSION = 10


class Status(IntFlag):
    ARMED = 0x0001
    ESTOP = 0x0002
    WATCHDOG = 0x0004
    MOVING = 0x0008
    AUTH = 0x0010
    HOST_LOST = 0x0020
    LOW_BATTERY = 0x0040


def _fixed(value: float, scale: float, name: str) -> int:
    raw = round(value * scale)
    if not -32768 <= raw <= 32767:
        raise ValueError(f"{name}={value} does not fit the wire range +-{32767 / scale:g}")
    return raw


@dataclass(frozen=True)
class Message:
    """Base of every wire message."""

    TYPE: ClassVar[MsgType]
    FORMAT: ClassVar[struct.Struct] = struct.Struct("<")

    def pack(self) -> bytes:
        return b""

    @classmethod
    def unpack(cls, payload: bytes) -> Message:
        return cls()


@dataclass(frozen=True)
class SetVelocityMsg(Message):
    """Body velocity: ``v`` m/s forward, ``omega`` rad/s counter-clockwise (wire: int16 mm/s, int16 mrad/s)."""

    v: float
    omega: float
    TYPE: ClassVar[MsgType] = MsgType.SET_VELOCITY
    FORMAT: ClassVar[struct.Struct] = struct.Struct("<hh")

    def pack(self) -> bytes:
        return self.FORMAT.pack(_fixed(self.v, 1000, "v"), _fixed(self.omega, 1000, "omega"))

    @classmethod
    def unpack(cls, payload: bytes) -> SetVelocityMsg:
        v, w = cls.FORMAT.unpack(payload)
        return cls(v / 1000, w / 1000)


@dataclass(frozen=True)
class SetMotors(Message):
    """Wheel duty in permille, -1000..1000."""

    left: int
    right: int
    TYPE: ClassVar[MsgType] = MsgType.SET_MOTORS
    FORMAT: ClassVar[struct.Struct] = struct.Struct("<hh")

    def pack(self) -> bytes:
        return self.FORMAT.pack(self.left, self.right)

    @classmethod
    def unpack(cls, payload: bytes) -> SetMotors:
        return cls(*cls.FORMAT.unpack(payload))


@dataclass(frozen=True)
class Arm(Message):
    TYPE: ClassVar[MsgType] = MsgType.ARM


@dataclass(frozen=True)
class Disarm(Message):
    TYPE: ClassVar[MsgType] = MsgType.DISARM


@dataclass(frozen=True)
class EStop(Message):
    """Stop and latch until :class:`ClearEStop` (also accepted with the broadcast robot id)."""

    TYPE: ClassVar[MsgType] = MsgType.ESTOP


@dataclass(frozen=True)
class ClearEStop(Message):
    TYPE: ClassVar[MsgType] = MsgType.CLEAR_ESTOP


@dataclass(frozen=True)
class Heartbeat(Message):
    TYPE: ClassVar[MsgType] = MsgType.HEARTBEAT


@dataclass(frozen=True)
class NewSession(Message):
    """Host asks the robot to start a new session (fresh nonce, sequence numbers from 1); ``challenge`` (u32,
    random) comes back in the robot's :class:`SessionStart`, so an old answer cannot pass for this one."""

    challenge: int
    TYPE: ClassVar[MsgType] = MsgType.NEW_SESSION
    FORMAT: ClassVar[struct.Struct] = struct.Struct("<I")

    def pack(self) -> bytes:
        return self.FORMAT.pack(self.challenge)

    @classmethod
    def unpack(cls, payload: bytes) -> NewSession:
        return cls(*cls.FORMAT.unpack(payload))


@dataclass(frozen=True)
class SessionStart(Message):
    """The robot's first frame of a session it started for :class:`NewSession` (header: the new nonce, seq 1)."""

    challenge: int
    TYPE: ClassVar[MsgType] = MsgType.SESSION_START
    FORMAT: ClassVar[struct.Struct] = struct.Struct("<I")

    def pack(self) -> bytes:
        return self.FORMAT.pack(self.challenge)

    @classmethod
    def unpack(cls, payload: bytes) -> SessionStart:
        return cls(*cls.FORMAT.unpack(payload))


@dataclass(frozen=True)
class Telemetry(Message):
    """Robot state: pose (m, m, rad), body velocity, battery (V), status flags, highest accepted host seq."""

    x: float
    y: float
    yaw: float
    v: float
    omega: float
    battery: float
    status: Status
    last_seq: int
    TYPE: ClassVar[MsgType] = MsgType.TELEMETRY
    FORMAT: ClassVar[struct.Struct] = struct.Struct("<iihhhHHI")

    def pack(self) -> bytes:
        return self.FORMAT.pack(
            round(self.x * 1000),
            round(self.y * 1000),
            _fixed(self.yaw, 1000, "yaw"),
            _fixed(self.v, 1000, "v"),
            _fixed(self.omega, 1000, "omega"),
            round(self.battery * 1000),
            int(self.status),
            self.last_seq,
        )

    @classmethod
    def unpack(cls, payload: bytes) -> Telemetry:
        x, y, yaw, v, w, mv, status, last = cls.FORMAT.unpack(payload)
        return cls(x / 1000, y / 1000, yaw / 1000, v / 1000, w / 1000, mv / 1000, Status(status), last)


@dataclass(frozen=True)
class Ack(Message):
    seq: int
    msg_type: MsgType
    TYPE: ClassVar[MsgType] = MsgType.ACK
    FORMAT: ClassVar[struct.Struct] = struct.Struct("<IB")

    def pack(self) -> bytes:
        return self.FORMAT.pack(self.seq, int(self.msg_type))

    @classmethod
    def unpack(cls, payload: bytes) -> Ack:
        seq, t = cls.FORMAT.unpack(payload)
        return cls(seq, MsgType(t))


@dataclass(frozen=True)
class Nack(Message):
    seq: int
    msg_type: int
    reason: NackReason
    TYPE: ClassVar[MsgType] = MsgType.NACK
    FORMAT: ClassVar[struct.Struct] = struct.Struct("<IBB")

    def pack(self) -> bytes:
        return self.FORMAT.pack(self.seq, int(self.msg_type), int(self.reason))

    @classmethod
    def unpack(cls, payload: bytes) -> Nack:
        seq, t, reason = cls.FORMAT.unpack(payload)
        return cls(seq, t, NackReason(reason))


MESSAGE_TYPES: dict[MsgType, type[Message]] = {
    cls.TYPE: cls
    for cls in (
        SetVelocityMsg,
        SetMotors,
        Arm,
        Disarm,
        EStop,
        ClearEStop,
        Heartbeat,
        NewSession,
        Telemetry,
        Ack,
        Nack,
        SessionStart,
    )
}
"""Type code -> message class (the registry the decoder uses; a test checks it covers every MsgType)."""

HOST_TO_ROBOT: frozenset[MsgType] = frozenset(
    {
        MsgType.SET_VELOCITY,
        MsgType.SET_MOTORS,
        MsgType.ARM,
        MsgType.DISARM,
        MsgType.ESTOP,
        MsgType.CLEAR_ESTOP,
        MsgType.HEARTBEAT,
        MsgType.NEW_SESSION,
    }
)
