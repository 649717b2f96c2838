"""Pure link-health logic: the heartbeat monitor (robot lost after silence) and the host command watchdog."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class HeartbeatMonitor:
    """A robot is lost when no verified frame arrived for ``timeout`` seconds (default 500 ms)."""

    timeout: float = 0.5
    last_seen: float | None = None
    lost_events: int = 0
    _was_lost: bool = True

    def seen(self, now: float) -> None:
        self.last_seen = now
        self._was_lost = False

    def lost(self, now: float) -> bool:
        is_lost = self.last_seen is None or now - self.last_seen > self.timeout
        if is_lost and not self._was_lost:
            self.lost_events += 1
        self._was_lost = is_lost
        return is_lost


@dataclass
class CommandWatchdog:
    """The host side of the motor watchdog: a planner command older than ``timeout`` is replaced by a stop.

    The firmware stops on its own after 200 ms without frames; this stops a robot whose link is fine but
    whose planner went quiet.
    """

    timeout: float = 0.5
    last_command: float | None = None

    def commanded(self, now: float) -> None:
        self.last_command = now

    def expired(self, now: float) -> bool:
        return self.last_command is None or now - self.last_command > self.timeout
