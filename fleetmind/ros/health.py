"""A robot's health as a diagnostics level (OK / WARN / ERROR) with the reasons, from what the link reports.

Pure: no rclpy here. The bridge node feeds it each tick (link state, the latest telemetry's status flags and
battery voltage) and publishes the result on ``/diagnostics``; tests drive it with numbers.

Levels (``diagnostic_msgs/DiagnosticStatus``): ERROR when the link is lost or not open, the node is not driving
(inactive), the e-stop is latched, or the battery is below ``battery_error_v``; WARN when an active robot is
disarmed, the battery is
below ``battery_warn_v`` or flagged low, the firmware's command watchdog is tripped now, or it tripped since the
last report; OK otherwise. Several reasons join with ``"; "``, the worst level wins.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum

from fleetmind.firmware_bridge.messages import Status, Telemetry


class Level(IntEnum):
    """The levels of ``diagnostic_msgs/DiagnosticStatus`` (STALE is the aggregator's, never ours)."""

    OK = 0
    WARN = 1
    ERROR = 2


@dataclass(frozen=True)
class Health:
    level: Level
    message: str
    values: dict[str, str] = field(default_factory=dict)


@dataclass
class HealthMonitor:
    """Per robot: turns link state and telemetry into a :class:`Health`; counts watchdog trips (rising edges of
    the firmware's ``WATCHDOG`` flag across the telemetry it is shown)."""

    battery_warn_v: float = 11.1
    battery_error_v: float = 10.5
    watchdog_trips: int = 0
    _was_tripped: bool = False
    _reported_trips: int = 0

    def observe(self, telemetry: Telemetry | None) -> None:
        if telemetry is None:
            return
        tripped = bool(telemetry.status & Status.WATCHDOG)
        if tripped and not self._was_tripped:
            self.watchdog_trips += 1
        self._was_tripped = tripped

    def health(self, link: str, active: bool, telemetry: Telemetry | None, estop: bool = False) -> Health:
        """``link``: ``"up"``, ``"lost"`` or ``"closed"``; ``active``: the node drives the robot; ``estop``: the
        fleet e-stop is latched on the host side (the firmware's own flag counts too)."""
        self.observe(telemetry)
        reasons: list[tuple[Level, str]] = []
        values = {"link": link, "active": str(active).lower(), "watchdog_trips": str(self.watchdog_trips)}
        if link != "up":
            reasons.append((Level.ERROR, f"link {link}"))
        if telemetry is None:
            if link == "up":
                reasons.append((Level.WARN, "no telemetry yet"))
        else:
            status = telemetry.status
            values |= {"battery_v": f"{telemetry.battery:.2f}", "status": f"0x{int(status):04x}"}
            values |= {"v": f"{telemetry.v:.3f}", "omega": f"{telemetry.omega:.3f}"}
            if estop or status & Status.ESTOP:
                reasons.append((Level.ERROR, "e-stop latched"))
            if telemetry.battery < self.battery_error_v:
                reasons.append((Level.ERROR, f"battery {telemetry.battery:.2f} V < {self.battery_error_v} V"))
            elif telemetry.battery < self.battery_warn_v or status & Status.LOW_BATTERY:
                reasons.append((Level.WARN, f"battery low ({telemetry.battery:.2f} V)"))
            if status & Status.WATCHDOG:
                reasons.append((Level.WARN, "command watchdog tripped"))
            elif self.watchdog_trips > self._reported_trips:
                reasons.append((Level.WARN, f"command watchdog tripped {self.watchdog_trips}x"))
            if status & Status.HOST_LOST:
                reasons.append((Level.WARN, "robot lost the host's heartbeat"))
            if active and not status & Status.ARMED and not (estop or status & Status.ESTOP):
                reasons.append((Level.WARN, "disarmed"))
        if estop and telemetry is None:
            reasons.append((Level.ERROR, "e-stop latched"))
        if not active and link == "up":  # configured but not driving: the fleet cannot count on it
            reasons.append((Level.ERROR, "inactive: not driving"))
        self._reported_trips = self.watchdog_trips
        if not reasons:
            return Health(Level.OK, "driving", values)
        level = max(lvl for lvl, _ in reasons)
        return Health(level, "; ".join(text for _, text in reasons), values)
