"""Rate-limited warnings through Python ``logging`` for the nodes' hot callbacks.

rclpy's logger inspects its caller's module (``inspect.getmodule`` over ``sys.modules``) on every call: milliseconds
each, ~0.2 s on a loaded host, which once held the bridge's executor and the e-stop behind it (commit ff8a0af). A
callback that can fire at the control rate (a clamped ``cmd_vel``, a stale external pose) logs through
:class:`LogThrottle` instead: the first warning of a key goes out at once, the next ones at most once per
``period_s`` (on the injected clock), saying how many were suppressed in between.
"""

from __future__ import annotations

import logging

from fleetmind.robots.clock import MONOTONIC, Clock


class LogThrottle:
    """At most one ``logger.warning`` per key every ``period_s`` seconds of ``clock``; the rest are counted."""

    def __init__(self, logger: logging.Logger, period_s: float = 5.0, clock: Clock = MONOTONIC) -> None:
        if period_s <= 0:
            raise ValueError(f"period_s must be > 0 seconds, got {period_s}")
        self.logger = logger
        self.period_s = period_s
        self.clock = clock
        self._last: dict[str, float] = {}
        self._suppressed: dict[str, int] = {}

    def warning(self, key: str, msg: str, *args: object) -> bool:
        """Log ``msg % args`` as a warning unless ``key`` was logged less than ``period_s`` ago; returns whether it
        went out. A warning after suppressed ones ends with ``(N more since the last)``."""
        now = self.clock.now()
        last = self._last.get(key)
        if last is not None and now - last < self.period_s:
            self._suppressed[key] = self._suppressed.get(key, 0) + 1
            return False
        self._last[key] = now
        more = self._suppressed.pop(key, 0)
        if more:
            self.logger.warning(msg + " (%d more since the last)", *args, more)
        else:
            self.logger.warning(msg, *args)
        return True

    def suppressed(self, key: str) -> int:
        """Warnings of ``key`` held back since the last one that went out."""
        return self._suppressed.get(key, 0)
