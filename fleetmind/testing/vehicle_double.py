"""TEST DOUBLE: a tiny MAVLink vehicle simulator built with pymavlink. Not an autopilot and not a flight model.

It stands in for PX4 (``--autopilot ardupilot``: ArduCopter mode numbers) in tests of
:mod:`fleetmind.firmware_bridge.mavlink`: heartbeat (5 Hz), custom modes,
arming via COMMAND_LONG (refused in land mode), DO_SET_MODE (PX4: offboard only accepted while armed and
setpoints stream; ArduPilot: guided whenever),
SET_POSITION_TARGET_LOCAL_NED velocity or position setpoints integrated kinematically (50 Hz, 2 m/s cap),
LOCAL_POSITION_NED at 20 Hz, and PX4's offboard-loss failsafe (no setpoint for 0.5 s: switch to hold; ArduPilot's
guided mode holds its last target instead). The ground
is at z = 0 (NED, so flying is z < 0): land mode descends at 1 m/s and disarms on touchdown, like both autopilots;
MAV_CMD_NAV_TAKEOFF (ArduPilot guided only) climbs to its altitude.
It logs every setpoint and mode change to ``--log`` for the tests to check rates and failsafes.

    python -m fleetmind.testing.vehicle_double --port 14600 --log /tmp/vehicle.log

Its behaviour runs on an injected clock. :class:`MavLoopback` pairs a :class:`MavlinkVehicle` with the double
in one process on a :class:`ManualClock` over an in-memory link: whenever the host waits, simulated time
passes and the double runs, so rates, link loss and failsafes are asserted exactly, without wall-clock windows.
:class:`MavLoopbackFleet` does the same for several vehicles on one clock (a drone fleet's tests).
"""

from __future__ import annotations

import argparse
import io
import logging
import math
import signal
import sys
from collections import deque
from pathlib import Path
from typing import Any, TextIO

from pymavlink import mavutil
from pymavlink.dialects.v20 import common as mav

from fleetmind.firmware_bridge.mavlink import ARDUCOPTER_MODES, POSITION_MASK, PX4_MODES, VELOCITY_MASK
from fleetmind.robots.clock import MONOTONIC, Clock, ManualClock

log = logging.getLogger("mav_vehicle_double")
MAX_SPEED = 2.0
OFFBOARD_LOSS_S = 0.5
HEARTBEAT_PERIOD_S = 0.2
POSITION_PERIOD_S = 0.05
PHYSICS_PERIOD_S = 0.02
LAND_SPEED = 1.0


class VehicleDouble:
    """The vehicle on connection ``conn`` (a pymavlink connection, or a :class:`MavLoopback` end).

    ``notes`` holds every log line as ``(seconds since start, text)``; ``log`` gets the same lines.
    """

    def __init__(self, conn: Any, log: TextIO, autopilot: str = "px4", clock: Clock = MONOTONIC) -> None:
        self.modes = PX4_MODES if autopilot == "px4" else ARDUCOPTER_MODES
        self.autopilot = mav.MAV_AUTOPILOT_PX4 if autopilot == "px4" else mav.MAV_AUTOPILOT_ARDUPILOTMEGA
        self.conn = conn
        self.log = log
        self.clock = clock
        self.notes: list[tuple[float, str]] = []
        self.armed = False
        self.mode = self.modes["hold"]
        self.pos = [0.0, 0.0, 0.0]
        self.vel = [0.0, 0.0, 0.0]
        self.target_pos: list[float] | None = None
        self.last_setpoint: float | None = None
        self.t0 = clock.now()
        self._last_physics = self._next_heartbeat = self._next_position = self.t0
        self.running = True

    def note(self, text: str) -> None:
        t = self.clock.now() - self.t0
        self.notes.append((t, text))
        self.log.write(f"{t:.4f} {text}\n")

    def set_mode(self, mode: int, why: str) -> None:
        if mode != self.mode:
            self.mode = mode
            name = next((k for k, v in self.modes.items() if v == mode), str(mode))
            self.note(f"MODE {name} {why}")

    def handle(self, msg: object, now: float) -> None:
        kind = msg.get_type()  # type: ignore[attr-defined]
        if kind == "COMMAND_LONG":
            result = mav.MAV_RESULT_ACCEPTED
            if msg.command == mav.MAV_CMD_COMPONENT_ARM_DISARM:  # type: ignore[attr-defined]
                if msg.param1 > 0.5 and self.mode == self.modes["land"]:  # type: ignore[attr-defined]
                    result = mav.MAV_RESULT_TEMPORARILY_REJECTED  # land mode is not armable (either autopilot)
                else:
                    self.armed = msg.param1 > 0.5  # type: ignore[attr-defined]
                    self.note(f"ARMED {int(self.armed)}")
            elif msg.command == mav.MAV_CMD_NAV_TAKEOFF and self.autopilot == mav.MAV_AUTOPILOT_ARDUPILOTMEGA:  # type: ignore[attr-defined]
                if self.armed and self.mode == self.modes["offboard"]:
                    self.target_pos = [self.pos[0], self.pos[1], -float(msg.param7)]  # type: ignore[attr-defined]
                    self.note(f"TAKEOFF {float(msg.param7):.2f}")  # type: ignore[attr-defined]
                else:
                    result = mav.MAV_RESULT_TEMPORARILY_REJECTED
            elif msg.command == mav.MAV_CMD_DO_SET_MODE:  # type: ignore[attr-defined]
                mode = int(msg.param2)  # type: ignore[attr-defined]
                streaming = self.last_setpoint is not None and now - self.last_setpoint < OFFBOARD_LOSS_S
                px4 = self.autopilot == mav.MAV_AUTOPILOT_PX4  # ArduPilot's GUIDED needs neither stream nor arming
                if mode == self.modes["offboard"] and px4 and not (streaming and self.armed):
                    result = mav.MAV_RESULT_TEMPORARILY_REJECTED
                elif mode in self.modes.values():
                    self.set_mode(mode, "commanded")
                else:
                    result = mav.MAV_RESULT_UNSUPPORTED
            else:
                result = mav.MAV_RESULT_UNSUPPORTED
            self.conn.mav.command_ack_send(msg.command, result)  # type: ignore[attr-defined]
        elif kind == "SET_POSITION_TARGET_LOCAL_NED":
            self.last_setpoint = now
            m = msg
            self.note(f"SETPOINT mask={m.type_mask} vx={m.vx:.3f} vy={m.vy:.3f} x={m.x:.3f}")  # type: ignore[attr-defined]
            if self.mode == self.modes["offboard"]:
                if m.type_mask == VELOCITY_MASK:  # type: ignore[attr-defined]
                    self.vel, self.target_pos = [m.vx, m.vy, m.vz], None  # type: ignore[attr-defined]
                elif m.type_mask == POSITION_MASK:  # type: ignore[attr-defined]
                    self.target_pos = [m.x, m.y, m.z]  # type: ignore[attr-defined]

    def physics(self, now: float, dt: float) -> None:
        silent = self.last_setpoint is None or now - self.last_setpoint > OFFBOARD_LOSS_S
        if self.mode == self.modes["offboard"] and silent and self.autopilot == mav.MAV_AUTOPILOT_PX4:
            self.set_mode(self.modes["hold"], "offboard_loss")
        if self.armed and self.mode == self.modes["land"]:
            self.vel, self.target_pos = [0.0, 0.0, LAND_SPEED], None
        elif not self.armed or self.mode != self.modes["offboard"]:
            self.vel = [0.0, 0.0, 0.0]
            self.target_pos = None
        elif self.target_pos is not None:
            d = [t - p for t, p in zip(self.target_pos, self.pos, strict=True)]
            dist = math.sqrt(sum(x * x for x in d))
            speed = min(MAX_SPEED, dist / max(dt, 1e-3))
            self.vel = [x / dist * speed for x in d] if dist > 1e-6 else [0.0, 0.0, 0.0]
        norm = math.sqrt(sum(v * v for v in self.vel))
        if norm > MAX_SPEED:
            self.vel = [v * MAX_SPEED / norm for v in self.vel]
        self.pos = [p + v * dt for p, v in zip(self.pos, self.vel, strict=True)]
        if self.pos[2] >= 0.0:  # on the ground
            self.pos[2], self.vel[2] = 0.0, min(self.vel[2], 0.0)
            if self.armed and self.mode == self.modes["land"]:
                self.armed = False
                self.note("LANDED")

    def tick(self, now: float) -> None:
        """What is due at ``now``: physics at 50 Hz, heartbeat at 5 Hz, LOCAL_POSITION_NED at 20 Hz."""
        if now - self._last_physics >= PHYSICS_PERIOD_S:
            self.physics(now, now - self._last_physics)
            self._last_physics = now
        if now >= self._next_heartbeat:
            base = mav.MAV_MODE_FLAG_CUSTOM_MODE_ENABLED | (mav.MAV_MODE_FLAG_SAFETY_ARMED if self.armed else 0)
            self.conn.mav.heartbeat_send(mav.MAV_TYPE_QUADROTOR, self.autopilot, base, self.mode, mav.MAV_STATE_ACTIVE)
            self._next_heartbeat = now + HEARTBEAT_PERIOD_S
        if now >= self._next_position:
            ms = int((now - self.t0) * 1000)
            self.conn.mav.local_position_ned_send(ms, *self.pos, *self.vel)
            self._next_position = now + POSITION_PERIOD_S

    def run(self) -> None:
        while self.running:
            msg = self.conn.recv_match(blocking=True, timeout=0.005)
            now = self.clock.now()
            if msg is not None and msg.get_type() != "BAD_DATA":
                self.handle(msg, now)
            self.tick(now)


class _Wire:
    """One direction of the in-memory link: what one end's encoder writes, parsed for the other end.

    ``sent`` keeps every message written, delivered or not, as ``(clock time, message, delivered)``.
    """

    def __init__(self, clock: Clock) -> None:
        self.up = True
        self.sent: list[tuple[float, Any, bool]] = []
        self._clock = clock
        self._parser = mav.MAVLink(None)
        self._pending: deque[Any] = deque()

    def write(self, data: bytes) -> None:
        for msg in self._parser.parse_buffer(bytes(data)) or []:
            self.sent.append((self._clock.now(), msg, self.up))
            if self.up:
                self._pending.append(msg)

    def pop(self) -> Any:
        return self._pending.popleft() if self._pending else None


class _LoopbackEnd:
    """One end's connection: the part of pymavlink's connection API that the host and the double use."""

    def __init__(
        self, loop: MavLoopback | MavLoopbackFleet, inbox: _Wire, outbox: _Wire, system: int, component: int
    ) -> None:
        self.mav = mav.MAVLink(outbox, srcSystem=system, srcComponent=component)
        self._loop = loop
        self._inbox = inbox

    def recv_match(self, blocking: bool = False, timeout: float | None = None) -> Any:
        """The next message; when none is waiting and ``blocking``, ``timeout`` s of simulated time pass first."""
        msg = self._inbox.pop()
        if msg is None and blocking and timeout:
            self._loop.advance(timeout)
            msg = self._inbox.pop()
        return msg

    def close(self) -> None:
        """Nothing to release."""


class MavLoopback:
    """A host connection wired to a :class:`VehicleDouble` in process, on a :class:`ManualClock`.

    Pass ``host`` as the ``connection`` of a :class:`MavlinkVehicle` (with ``clock=loop.clock``). Delivery is
    instant; the double runs every ``step`` s of simulated time while the host waits in ``recv_match``, or
    when a test calls :meth:`advance`. Faults: ``cut(True)`` drops everything in both directions (the radio
    goes dark); ``frozen`` stops the double while what the host sends queues up (a stopped process).
    """

    def __init__(
        self, autopilot: str = "px4", step: float = 0.005, clock: ManualClock | None = None, system: int = 1
    ) -> None:
        self.clock = clock or ManualClock()
        self.step = step
        self.frozen = False
        self.to_vehicle, self.to_host = _Wire(self.clock), _Wire(self.clock)
        self.host = _LoopbackEnd(self, self.to_host, self.to_vehicle, 255, mav.MAV_COMP_ID_ONBOARD_COMPUTER)
        end = _LoopbackEnd(self, self.to_vehicle, self.to_host, system, 1)
        self.vehicle = VehicleDouble(end, io.StringIO(), autopilot, clock=self.clock)
        self.vehicle.tick(self.clock.now())

    def cut(self, dark: bool) -> None:
        self.to_vehicle.up = self.to_host.up = not dark

    def advance(self, seconds: float) -> None:
        """Let ``seconds`` (at least 1 µs) of simulated time pass, running the double every ``step``."""
        n = max(1, math.ceil(seconds / self.step - 1e-9))
        dt = max(seconds, 1e-6) / n
        for _ in range(n):
            self.run_at(self.clock.advance(dt))

    def run_at(self, now: float) -> None:
        """The double handles what reached it and does what is due at ``now`` (unless ``frozen``)."""
        if self.frozen:
            return
        while (msg := self.to_vehicle.pop()) is not None:
            self.vehicle.handle(msg, now)
        self.vehicle.tick(now)


class MavLoopbackFleet:
    """``n`` :class:`MavLoopback` vehicles (system ids 1..n) on ONE :class:`ManualClock`: whenever any host
    connection waits, simulated time passes for every double. ``autopilots`` gives each vehicle's family.

    ``at(t, action)`` runs ``action()`` once when simulated time reaches ``t`` (an operator's e-stop mid-step).
    """

    def __init__(self, autopilots: list[str], step: float = 0.005) -> None:
        self.clock = ManualClock()
        self.step = step
        self.loops = [MavLoopback(a, step, self.clock, system=i + 1) for i, a in enumerate(autopilots)]
        for loop in self.loops:
            loop.host._loop = self  # type: ignore[assignment]  # a host's wait advances the whole fleet
        self._timers: list[tuple[float, Any]] = []

    def at(self, t: float, action: Any) -> None:
        self._timers.append((t, action))

    def advance(self, seconds: float) -> None:
        n = max(1, math.ceil(seconds / self.step - 1e-9))
        dt = max(seconds, 1e-6) / n
        for _ in range(n):
            now = self.clock.advance(dt)
            for loop in self.loops:
                loop.run_at(now)
            due = [a for t, a in self._timers if t <= now]
            self._timers = [(t, a) for t, a in self._timers if t > now]
            for action in due:
                action()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--log", type=Path, required=True)
    parser.add_argument("--autopilot", choices=["px4", "ardupilot"], default="px4", help="which mode numbers")
    args = parser.parse_args(argv)
    conn = mavutil.mavlink_connection(f"udpin:127.0.0.1:{args.port}", source_system=1, source_component=1)
    vehicle = VehicleDouble(conn, args.log.open("w", buffering=1), autopilot=args.autopilot)

    def stop(*_: object) -> None:
        vehicle.running = False

    signal.signal(signal.SIGTERM, stop)
    sys.stdout.write("READY\n")  # start-up handshake line read by the test that spawned this process
    sys.stdout.flush()
    vehicle.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
