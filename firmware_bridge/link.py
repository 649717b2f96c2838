"""One robot's link on the host: sequence numbers, framing, verification of what comes back, health.

``RobotLink`` never spins on its own: callers ``poll(timeout)`` (bounded) to read telemetry and acks.
Every deadline (robot lost, ``poll_for``, ``sync``, ``request``) and the frame timestamps run on the injected
``clock`` (:mod:`fleetmind.robots.clock`); with a manual clock and a transport that advances it while it
waits, the link runs in simulated time (``fleetmind.testing.robot_double``).

Sessions (PROTOCOL.md §3.1): every frame names the robot's session nonce and every tag covers it. The link
adopts a session from verified telemetry (after a reboot, or the robot's own re-sync) and continues above its
``last_seq``; before its own numbers reach :data:`SESSION_HIGH_WATER` it asks for a new session
(:meth:`RobotLink.new_session`) and numbers from 1 again, so they never wrap and no frame of an earlier
session is ever accepted again.
"""

from __future__ import annotations

import logging
import secrets
from collections import deque

from fleetmind.firmware_bridge.auth import ReplayWindow
from fleetmind.firmware_bridge.codec import Frame, FrameDecoder, encode_frame
from fleetmind.firmware_bridge.messages import (
    SEQ_MAX,
    SESSION_HIGH_WATER,
    Ack,
    EStop,
    Heartbeat,
    Message,
    Nack,
    NackReason,
    NewSession,
    SessionStart,
    Telemetry,
)
from fleetmind.firmware_bridge.monitor import HeartbeatMonitor
from fleetmind.firmware_bridge.transport import Transport
from fleetmind.robots.clock import MONOTONIC, Clock

log = logging.getLogger(__name__)


class RobotLink:
    """Host end of the link to one robot (``robot_id`` on the wire, optional per-robot ``key``)."""

    def __init__(
        self,
        transport: Transport,
        robot_id: int,
        key: bytes | None = None,
        heartbeat_timeout: float = 0.5,
        clock: Clock = MONOTONIC,
    ) -> None:
        self.transport = transport
        self.robot_id = robot_id
        self.key = key
        self.clock = clock
        self.decoder = FrameDecoder(key, robot_id)
        self.window = ReplayWindow()
        self.monitor = HeartbeatMonitor(heartbeat_timeout)
        self.seq = 0
        self.session: int | None = None  # the robot's session nonce, once telemetry named it
        self.sessions = 0  # sessions adopted (first contact, reboots, re-syncs)
        self.foreign = 0  # verified frames of a session other than the current one, dropped
        self.resync_retry = 1.0  # seconds between re-sync attempts that got no answer
        self._challenge: int | None = None
        self._retired: deque[int] = deque(maxlen=16)  # sessions left behind: never adopted again
        self._next_resync = float("-inf")
        self.telemetry: Telemetry | None = None
        self.telemetry_time: float | None = None
        self.telemetry_count = 0
        self.replayed = 0
        self.replies: deque[Ack | Nack] = deque(maxlen=256)
        self._t0 = clock.now()

    def send(self, message: Message) -> int:
        """Frame and send one message; returns its sequence number.

        At :data:`SESSION_HIGH_WATER` a new session is negotiated first (not for an EStop, which goes at once
        and is obeyed anyway). Should the robot not answer, the numbers stop at 0xFFFFFFFF instead of
        wrapping: the robot then refuses them as replays (EStop excepted) and its watchdog stops it.
        """
        due = self.seq >= SESSION_HIGH_WATER and self._challenge is None and self.clock.now() >= self._next_resync
        if due and not isinstance(message, EStop) and not self.new_session():
            self._next_resync = self.clock.now() + self.resync_retry
        self.seq = min(self.seq + 1, SEQ_MAX)
        ts = int((self.clock.now() - self._t0) * 1000)
        self.transport.send(encode_frame(message, self.robot_id, self.seq, ts, self.key, self.session or 0))
        return self.seq

    def new_session(self, timeout: float = 0.5, retries: int = 3) -> bool:
        """Ask the robot for a new session (NewSession with a random challenge) and wait until one is adopted.

        Returns True once the link is in a new session (from the robot's SessionStart echoing the challenge, or
        from telemetry that names a new nonce), with the numbering restarted; False if the robot did not answer.
        """
        before = self.sessions
        self._challenge = secrets.randbits(32)
        try:
            for _ in range(retries + 1):
                self.send(NewSession(self._challenge))
                end = self.clock.now() + timeout / (retries + 1)
                while self.clock.now() < end:
                    self.poll(0.01)
                    if self.sessions > before:
                        return True
        finally:
            self._challenge = None
        log.warning("robot %d: no answer to NewSession within %.2fs (seq %d)", self.robot_id, timeout, self.seq)
        return False

    def _adopt(self, session: int, last_seq: int, why: str) -> None:
        """Enter the robot's session ``session``: fresh replay window, own numbers above ``last_seq``."""
        old = self.session
        if old is not None:
            self._retired.append(old)
        self.session, self.seq, self.window = session, last_seq, ReplayWindow()
        self.sessions += 1
        if old is None:
            log.debug("robot %d: session %08x", self.robot_id, session)
        else:
            log.info("robot %d: session %08x -> %08x (%s)", self.robot_id, old, session, why)

    def _in_session(self, frame: Frame) -> bool:
        """Whether ``frame`` belongs to the current session, adopting a new one where the frame may start it."""
        session, message = frame.header.session, frame.message
        if session == self.session:
            return True
        if session in self._retired:  # late (reordered) or replayed frame of a session already left
            self.foreign += 1
            return False
        if isinstance(message, SessionStart) and message.challenge == self._challenge:
            self._adopt(session, 0, "re-sync")
            return True
        if isinstance(message, Telemetry):
            self._adopt(session, message.last_seq, "robot rebooted or re-synced")
            return True
        if isinstance(message, Nack) and message.reason is NackReason.SESSION:  # our frame named another session
            self._adopt(session, 0, "robot named its session")
            return True
        self.foreign += 1  # e.g. an Ack of the old session still on its way
        return False

    def poll(self, timeout: float = 0.0) -> list[Frame]:
        """Read what arrived within ``timeout`` seconds; returns the verified, fresh frames."""
        if self.lost:  # after a silence the robot may have rebooted and restarted its sequence numbers
            self.window = ReplayWindow()
        frames = []
        for frame in self.decoder.feed(self.transport.recv(timeout)):
            if not self._in_session(frame):
                continue
            seq = frame.header.seq
            if not self.window.check(seq):
                self.replayed += 1
                continue
            self.window.mark(seq)
            now = self.clock.now()
            self.monitor.seen(now)
            message = frame.message
            if isinstance(message, Telemetry):
                self.telemetry, self.telemetry_time = message, now
                self.telemetry_count += 1
            elif isinstance(message, Nack) and message.reason is NackReason.SESSION:
                pass  # about a frame sent before the link knew this session: request() resends in it
            elif isinstance(message, Ack | Nack):
                self.replies.append(message)
                if isinstance(message, Nack) and message.reason in (NackReason.REPLAY, NackReason.STALE):
                    # another host session numbered higher: continue above the robot's last accepted seq
                    self.seq = max(self.seq, self.telemetry.last_seq if self.telemetry else 0, message.seq)
            frames.append(frame)
        return frames

    def poll_for(self, duration: float) -> None:
        """Poll until ``duration`` seconds have passed."""
        end = self.clock.now() + duration
        while (left := end - self.clock.now()) > 0:
            self.poll(min(left, 0.02))

    @property
    def lost(self) -> bool:
        return self.monitor.lost(self.clock.now())

    def sync(self, timeout: float = 1.0) -> bool:
        """Wait for telemetry, then continue numbering above the robot's last accepted sequence number."""
        end = self.clock.now() + timeout
        count = self.telemetry_count
        while self.clock.now() < end:
            self.send_heartbeat()
            self.poll(0.05)
            if self.telemetry_count > count and self.telemetry is not None:
                self.seq = max(self.seq, self.telemetry.last_seq)
                return True
        return False

    def send_heartbeat(self) -> int:
        return self.send(Heartbeat())

    def request(self, message: Message, timeout: float = 0.5, retries: int = 3) -> Ack | Nack | None:
        """Send and wait for the Ack/Nack of that sequence number (resending up to ``retries`` times)."""
        for _ in range(retries + 1):
            seq = self.send(message)
            end = self.clock.now() + timeout / (retries + 1)
            while self.clock.now() < end:
                self.poll(0.01)
                for reply in self.replies:
                    if reply.seq == seq:
                        return reply
        return None
