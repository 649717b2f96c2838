"""TEST DOUBLE: one robot's end of wire protocol v2, in process, on a manual clock. Not the firmware.

:class:`RobotDouble` is a :class:`fleetmind.firmware_bridge.transport.Transport`: the host's frames reach it
through ``send``; ``recv(timeout)`` lets ``timeout`` seconds of simulated time pass (it advances the shared
:class:`ManualClock`), runs the robot up to then and returns what it sent meanwhile. So a
:class:`RobotLink`, a :class:`FirmwareFleet` or the ROS bridge run in simulated time, and the host's deadlines
(robot lost, command watchdog, request timeouts) are tested to the millisecond without wall-clock windows.

What it models (PROTOCOL.md §3-4, simplified): the frame checks of the host decoder (robot id, key), sessions
(a nonce per session, in every frame; ``Nack(SESSION)`` for a frame of another session; NewSession starts a
new one and answers SessionStart; the robot's own numbers start a new one at the high-water mark; ``reboot()``),
the replay window and the stale rule for motion; EStop obeyed from any sender (untagged, wrong tag, replayed
or of another session); Ack for
every accepted frame; Nack for motion while disarmed or e-stopped; Arm / Disarm / EStop (latched) / ClearEStop;
SetVelocity applied at once (no ramps, clamped to 1 m/s and 2 rad/s); the motor watchdog (motors zeroed and
``WATCHDOG`` set ``watchdog`` s, the firmware's 150 ms trip, after the last motion command, checked every tick);
telemetry every ``telemetry_period`` s with a unicycle pose. Faults: ``powered = False`` (deaf and silent),
``to_host`` / ``to_robot = False`` (one direction of the link cut). The C SITL (:mod:`fleetmind.testing.sitl`)
stays the reference for the firmware's own behaviour.
"""

from __future__ import annotations

import math
import secrets
from dataclasses import dataclass

from cobs import cobs

from fleetmind.firmware_bridge import messages as wire
from fleetmind.firmware_bridge.auth import ReplayWindow
from fleetmind.firmware_bridge.codec import HEADER, MAX_ENCODED, FrameError, FrameFault, decode_frame, encode_frame
from fleetmind.robots.clock import ManualClock

MAX_V = 1.0
MAX_OMEGA = 2.0
MOTION = (wire.MsgType.SET_VELOCITY, wire.MsgType.SET_MOTORS)


@dataclass(frozen=True)
class Received:
    """One frame the robot accepted: clock time, sequence number, message."""

    t: float
    seq: int
    message: wire.Message


class RobotDouble:
    def __init__(
        self,
        clock: ManualClock,
        robot_id: int,
        key: bytes | None = None,
        telemetry_period: float = 0.02,
        watchdog: float = 0.15,
        session: int | None = None,
        tx_seq: int = 0,
    ) -> None:
        """``session`` fixes the first session nonce (random otherwise); ``tx_seq`` starts the robot's own
        sequence numbers there (a test hook: a session that begins near the wrap)."""
        self.clock = clock
        self.robot_id = robot_id
        self.key = key
        self.telemetry_period = telemetry_period
        self.watchdog = watchdog
        self.powered = True
        self.to_host = True
        self.to_robot = True
        self.armed = False
        self.estop = False
        self.watchdog_tripped = False
        self.x = self.y = self.yaw = 0.0
        self.v = self.omega = 0.0
        self.received: list[Received] = []
        self.watchdog_trips: list[float] = []
        self._rx = bytearray()
        self.estops_unverified = 0
        self._window = ReplayWindow()
        self._last_seq = 0
        self._last_motion_seq = 0
        self._last_motion: float | None = None
        self._seq = tx_seq
        self.session = secrets.randbits(32) if session is None else session
        self.sessions = [self.session]  # every nonce this robot has used, first to last
        self._t0 = clock.now()
        self._tick = clock.now()
        self._out = bytearray()

    # -------------------------------------------------------------------------------- the Transport protocol
    def send(self, data: bytes) -> None:
        self._run_until(self.clock.now())
        if not (self.powered and self.to_robot):
            return
        *complete, rest = (bytes(self._rx) + data).split(b"\x00")
        self._rx = bytearray(rest[-MAX_ENCODED:])
        for chunk in complete:
            if chunk and len(chunk) <= MAX_ENCODED:
                self._receive(chunk)

    def _receive(self, chunk: bytes) -> None:
        """The firmware's checks: an EStop for this robot (or broadcast) is obeyed even when its tag or sequence
        number does not verify; anything else must verify."""
        try:
            raw = cobs.decode(chunk)
            frame = decode_frame(raw, self.key)
        except (cobs.DecodeError, FrameError) as err:
            if isinstance(err, FrameError) and err.fault is FrameFault.AUTH:
                _, kind, _, plen, rid, _, seq, _ = HEADER.unpack_from(raw)
                if kind == wire.MsgType.ESTOP and plen == 0 and rid in (self.robot_id, 0xFFFF):
                    self._estop_unverified(seq)
            return
        rid, kind = frame.header.robot_id, frame.header.msg_type
        if rid == self.robot_id or (rid == 0xFFFF and kind is wire.MsgType.ESTOP):
            self._handle(frame.header.seq, frame.header.session, frame.message)

    def _estop_unverified(self, seq: int) -> None:
        self.estops_unverified += 1
        self.estop, self.armed, self.v, self.omega = True, False, 0.0, 0.0
        self._reply(wire.Ack(seq, wire.MsgType.ESTOP))

    def recv(self, timeout: float) -> bytes:
        if timeout > 0:  # at least a microsecond, like any real wait: loops on the clock always progress
            self.clock.advance(max(timeout, 1e-6))
        self._run_until(self.clock.now())
        out, self._out = bytes(self._out), bytearray()
        return out

    def close(self) -> None:
        """Nothing to release."""

    def reboot(self) -> None:
        """Power cycle: a new session nonce, an empty replay window, disarmed, no latch, standing still."""
        self._new_session()
        self.armed = self.estop = self.watchdog_tripped = False
        self.v = self.omega = 0.0
        self._last_motion = None

    def _new_session(self) -> None:
        """The firmware's ``fw_new_session``: a fresh nonce, empty window, numbers from 1 again."""
        old = self.session
        while self.session == old:
            self.session = secrets.randbits(32)
        self.sessions.append(self.session)
        self._window = ReplayWindow()
        self._last_seq = self._last_motion_seq = self._seq = 0

    # -------------------------------------------------------------------------------- robot behaviour
    @property
    def status(self) -> wire.Status:
        s = wire.Status(0)
        if self.armed:
            s |= wire.Status.ARMED
        if self.estop:
            s |= wire.Status.ESTOP
        if self.watchdog_tripped:
            s |= wire.Status.WATCHDOG
        if self.v or self.omega:
            s |= wire.Status.MOVING
        if self.key:
            s |= wire.Status.AUTH
        return s

    def velocities(self) -> list[tuple[float, float, float]]:
        """``(t, v, omega)`` of every accepted SetVelocity."""
        motion = [r for r in self.received if r.message.TYPE == wire.MsgType.SET_VELOCITY]
        return [(r.t, r.message.v, r.message.omega) for r in motion]  # type: ignore[attr-defined]

    def _reply(self, message: wire.Message, at: float | None = None) -> None:
        self._seq += 1
        ts = int(round(((self.clock.now() if at is None else at) - self._t0) * 1000))
        if self.to_host:
            self._out += encode_frame(message, self.robot_id, self._seq, ts, self.key, self.session)

    def _handle(self, seq: int, session: int, message: wire.Message) -> None:
        kind = message.TYPE
        if kind is wire.MsgType.ESTOP and not (session == self.session and self._window.check(seq)):
            self._estop_unverified(seq)
            return
        if session != self.session:
            self._reply(wire.Nack(seq, int(kind), wire.NackReason.SESSION))
            return
        if not self._window.check(seq):
            self._reply(wire.Nack(seq, int(kind), wire.NackReason.REPLAY))
            return
        self._window.mark(seq)
        self._last_seq = max(self._last_seq, seq)
        now = self.clock.now()
        reason = None
        if kind in MOTION:
            if seq <= self._last_motion_seq:
                reason = wire.NackReason.STALE
            elif self.estop:
                reason = wire.NackReason.ESTOPPED
            elif not self.armed:
                reason = wire.NackReason.NOT_ARMED
        elif kind is wire.MsgType.ARM and self.estop:
            reason = wire.NackReason.ESTOPPED
        if reason is not None:
            self._reply(wire.Nack(seq, int(kind), reason))
            return
        self.received.append(Received(now, seq, message))
        if isinstance(message, wire.NewSession):
            self._new_session()
            self._reply(wire.SessionStart(message.challenge))
            return
        if kind is wire.MsgType.SET_VELOCITY:
            self._last_motion_seq, self._last_motion = seq, now
            self.v = max(-MAX_V, min(MAX_V, message.v))  # type: ignore[attr-defined]
            self.omega = max(-MAX_OMEGA, min(MAX_OMEGA, message.omega))  # type: ignore[attr-defined]
            self.watchdog_tripped = False
        elif kind is wire.MsgType.ARM:
            self.armed = True
        elif kind is wire.MsgType.DISARM:
            self.armed, self.v, self.omega = False, 0.0, 0.0
        elif kind is wire.MsgType.ESTOP:
            self.estop, self.armed, self.v, self.omega = True, False, 0.0, 0.0
        elif kind is wire.MsgType.CLEAR_ESTOP:
            self.estop = False
        self._reply(wire.Ack(seq, kind))

    def _run_until(self, now: float) -> None:
        """Every telemetry tick up to ``now``: move, check the watchdog, send telemetry (when powered)."""
        while self._tick + self.telemetry_period <= now + 1e-12:
            dt = self.telemetry_period
            self._tick += dt
            if not self.powered:
                continue
            self.yaw = math.atan2(math.sin(self.yaw + self.omega * dt), math.cos(self.yaw + self.omega * dt))
            self.x += self.v * math.cos(self.yaw) * dt
            self.y += self.v * math.sin(self.yaw) * dt
            idle = self._last_motion is None or self._tick - self._last_motion >= self.watchdog - 1e-9
            if (self.v or self.omega) and idle:
                self.v = self.omega = 0.0
                self.watchdog_tripped = True
                self.watchdog_trips.append(self._tick)
            if self._seq >= wire.SESSION_HIGH_WATER:  # the robot's own numbers near the wrap
                self._new_session()
            t = wire.Telemetry(self.x, self.y, self.yaw, self.v, self.omega, 12.0, self.status, self._last_seq)
            self._reply(t, at=self._tick)
