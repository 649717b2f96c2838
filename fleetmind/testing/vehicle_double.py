"""TEST DOUBLE: a tiny MAVLink vehicle simulator built with pymavlink. Not an autopilot and not a flight model.

It stands in for PX4 (``--autopilot ardupilot``: ArduCopter mode numbers) in tests of
:mod:`fleetmind.firmware_bridge.mavlink`: heartbeat (5 Hz), custom modes,
arming via COMMAND_LONG, DO_SET_MODE (offboard only accepted while setpoints stream, like PX4),
SET_POSITION_TARGET_LOCAL_NED velocity or position setpoints integrated kinematically (50 Hz, 2 m/s cap),
LOCAL_POSITION_NED at 20 Hz, and PX4's offboard-loss failsafe (no setpoint for 0.5 s: switch to hold).
It logs every setpoint and mode change to ``--log`` for the tests to check rates and failsafes.

    python -m fleetmind.testing.vehicle_double --port 14600 --log /tmp/vehicle.log
"""

from __future__ import annotations

import argparse
import logging
import math
import signal
import sys
import time
from pathlib import Path

from pymavlink import mavutil
from pymavlink.dialects.v20 import common as mav

from fleetmind.firmware_bridge.mavlink import ARDUCOPTER_MODES, POSITION_MASK, PX4_MODES, VELOCITY_MASK

log = logging.getLogger("mav_vehicle_double")
MAX_SPEED = 2.0
OFFBOARD_LOSS_S = 0.5


class VehicleDouble:
    def __init__(self, port: int, log_path: Path, system_id: int = 1, autopilot: str = "px4") -> None:
        self.modes = PX4_MODES if autopilot == "px4" else ARDUCOPTER_MODES
        self.autopilot = mav.MAV_AUTOPILOT_PX4 if autopilot == "px4" else mav.MAV_AUTOPILOT_ARDUPILOTMEGA
        self.conn = mavutil.mavlink_connection(f"udpin:127.0.0.1:{port}", source_system=system_id, source_component=1)
        self.log = log_path.open("w", buffering=1)
        self.armed = False
        self.mode = self.modes["hold"]
        self.pos = [0.0, 0.0, 0.0]
        self.vel = [0.0, 0.0, 0.0]
        self.target_pos: list[float] | None = None
        self.last_setpoint: float | None = None
        self.t0 = time.monotonic()
        self.running = True

    def note(self, text: str) -> None:
        self.log.write(f"{time.monotonic() - self.t0:.4f} {text}\n")

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
                self.armed = msg.param1 > 0.5  # type: ignore[attr-defined]
                self.note(f"ARMED {int(self.armed)}")
            elif msg.command == mav.MAV_CMD_DO_SET_MODE:  # type: ignore[attr-defined]
                mode = int(msg.param2)  # type: ignore[attr-defined]
                streaming = self.last_setpoint is not None and now - self.last_setpoint < OFFBOARD_LOSS_S
                if mode == self.modes["offboard"] and not (streaming and self.armed):
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
        if self.mode == self.modes["offboard"] and silent:
            self.set_mode(self.modes["hold"], "offboard_loss")
        if not self.armed or self.mode != self.modes["offboard"]:
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

    def run(self) -> None:
        last = next_hb = next_pos = time.monotonic()
        while self.running:
            msg = self.conn.recv_match(blocking=True, timeout=0.005)
            now = time.monotonic()
            if msg is not None and msg.get_type() != "BAD_DATA":
                self.handle(msg, now)
            if now - last >= 0.02:
                self.physics(now, now - last)
                last = now
            if now >= next_hb:
                base = mav.MAV_MODE_FLAG_CUSTOM_MODE_ENABLED | (mav.MAV_MODE_FLAG_SAFETY_ARMED if self.armed else 0)
                self.conn.mav.heartbeat_send(
                    mav.MAV_TYPE_QUADROTOR, self.autopilot, base, self.mode, mav.MAV_STATE_ACTIVE
                )
                next_hb = now + 0.2
            if now >= next_pos:
                ms = int((now - self.t0) * 1000)
                self.conn.mav.local_position_ned_send(ms, *self.pos, *self.vel)
                next_pos = now + 0.05


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--log", type=Path, required=True)
    parser.add_argument("--autopilot", choices=["px4", "ardupilot"], default="px4", help="which mode numbers")
    args = parser.parse_args(argv)
    vehicle = VehicleDouble(args.port, args.log, autopilot=args.autopilot)

    def stop(*_: object) -> None:
        vehicle.running = False

    signal.signal(signal.SIGTERM, stop)
    sys.stdout.write("READY\n")  # start-up handshake line read by the test that spawned this process
    sys.stdout.flush()
    vehicle.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
