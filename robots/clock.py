"""Time for code with deadlines (watchdogs, heartbeats, link loss, timeouts): an injectable clock.

Deadline logic reads ``clock.now()`` (seconds on a monotonic scale) and waits with ``clock.sleep(s)``, never
``time.monotonic()`` or ``time.sleep`` directly, so that tests drive it with a :class:`ManualClock` and assert
exact behaviour ("at 0.499 s still alive, at 0.501 s lost") instead of wall-clock windows.
"""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Seconds on a monotonic scale (the origin is arbitrary)."""
        ...

    def sleep(self, seconds: float) -> None:
        """Let ``seconds`` pass (a real clock blocks; a manual clock just advances)."""
        ...


class MonotonicClock:
    """The real clock: ``time.monotonic`` and ``time.sleep``."""

    def now(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        time.sleep(max(0.0, seconds))


MONOTONIC: Clock = MonotonicClock()
"""The default clock of every deadline in the package."""


class ManualClock:
    """A clock that moves only when told: ``advance(dt)``; ``sleep(dt)`` advances too (nobody blocks)."""

    def __init__(self, start: float = 0.0) -> None:
        self._now = float(start)

    def now(self) -> float:
        return self._now

    def sleep(self, seconds: float) -> None:
        self.advance(max(0.0, seconds))

    def advance(self, seconds: float) -> float:
        """Move ``seconds`` (>= 0) forward; returns the new time."""
        if seconds < 0:
            raise ValueError(f"a monotonic clock cannot go back: advance({seconds}) needs seconds >= 0")
        self._now += seconds
        return self._now
