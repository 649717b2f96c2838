"""One robot's link on the host: sequence numbers, framing, verification of what comes back, health.

``RobotLink`` never spins on its own: callers ``poll(timeout)`` (bounded) to read telemetry and acks.
Every deadline (robot lost, ``poll_for``, ``sync``, ``request``) and the frame timestamps run on the injected
``clock`` (:mod:`fleetmind.robots.clock`); with a manual clock and a transport that advances it while it
waits, the link runs in simulated time (``fleetmind.testing.robot_double``).
"""

from __future__ import annotations

import logging
from collections import deque

from fleetmind.firmware_bridge.auth import ReplayWindow
from fleetmind.firmware_bridge.codec import Frame, FrameDecoder, encode_frame
from fleetmind.firmware_bridge.messages import Ack, Heartbeat, Message, Nack, NackReason, Telemetry
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
        self.telemetry: Telemetry | None = None
        self.telemetry_time: float | None = None
        self.telemetry_count = 0
        self.replayed = 0
        self.replies: deque[Ack | Nack] = deque(maxlen=256)
        self._t0 = clock.now()

    def send(self, message: Message) -> int:
        """Frame and send one message; returns its sequence number."""
        self.seq += 1
        ts = int((self.clock.now() - self._t0) * 1000)
        self.transport.send(encode_frame(message, self.robot_id, self.seq, ts, self.key))
        return self.seq

    def poll(self, timeout: float = 0.0) -> list[Frame]:
        """Read what arrived within ``timeout`` seconds; returns the verified, fresh frames."""
        if self.lost:  # after a silence the robot may have rebooted and restarted its sequence numbers
            self.window = ReplayWindow()
        frames = []
        for frame in self.decoder.feed(self.transport.recv(timeout)):
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
