"""MAVLink backend for drones (PX4 / ArduPilot) over pymavlink.

``MavlinkVehicle`` sends a GCS heartbeat, arms and disarms with COMMAND_LONG, switches to offboard (PX4) or
guided (ArduPilot) mode, and streams the current velocity or position setpoint at ``setpoint_rate`` (>= 10 Hz,
as PX4 requires > 2 Hz to stay in offboard). Link loss: when the vehicle's heartbeat is silent for
``link_timeout`` the stream stops and the configured failsafe mode (hold or land) is commanded, repeatedly,
until the vehicle reports it; streaming resumes only after an explicit :meth:`engage`.

No spin lives in this class: callers drive it with ``spin_once(timeout)`` or the bounded ``run_for(seconds)``.
Every deadline (heartbeat and setpoint schedule, link loss, failsafe resends, ack waits) runs on the injected
``clock``; tests pair it with the vehicle double on a manual clock (``fleetmind.testing.vehicle_double``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from enum import Enum
from typing import Any, Literal

from fleetmind.firmware_bridge.drone_config import MavlinkConfig
from fleetmind.robots.clock import MONOTONIC, Clock
from pymavlink import mavutil
from pymavlink.dialects.v20 import common as mav

log = logging.getLogger(__name__)

# SET_POSITION_TARGET_LOCAL_NED type masks: use velocity (+ yaw rate) only / position (+ yaw) only
VELOCITY_MASK = 0b0000_0101_1100_0111  # ignore x y z, accel, yaw
POSITION_MASK = 0b0000_1001_1111_1000  # ignore velocity, accel, yaw rate
# PX4 custom modes: main mode in bits 16-23, sub mode in bits 24-31
PX4_MODES = {"offboard": 6 << 16, "hold": (4 << 16) | (3 << 24), "land": (4 << 16) | (6 << 24)}
ARDUCOPTER_MODES = {"offboard": 4, "hold": 17, "land": 9}  # GUIDED, BRAKE, LAND


class LinkState(Enum):
    WAITING = "waiting"  # no heartbeat seen yet
    UP = "up"
    LOST = "lost"


@dataclass(frozen=True)
class VelocitySetpoint:
    """Local NED velocity, m/s, and yaw rate, rad/s."""

    vx: float
    vy: float
    vz: float
    yaw_rate: float = 0.0


@dataclass(frozen=True)
class PositionSetpoint:
    """Local NED position, m, and yaw, rad."""

    x: float
    y: float
    z: float
    yaw: float = 0.0


class MavlinkVehicle:
    def __init__(self, config: MavlinkConfig, connection: Any | None = None, clock: Clock = MONOTONIC) -> None:
        self.config = config
        self.clock = clock
        self.conn = connection or mavutil.mavlink_connection(
            config.url, source_system=config.source_system, source_component=mav.MAV_COMP_ID_ONBOARD_COMPUTER
        )
        self._modes = PX4_MODES if config.autopilot == "px4" else ARDUCOPTER_MODES
        self.state = LinkState.WAITING
        self.setpoint: VelocitySetpoint | PositionSetpoint | None = None
        self.streaming = False
        self.armed = False
        self.custom_mode: int | None = None
        self.position: tuple[float, float, float] | None = None
        self.velocity: tuple[float, float, float] | None = None
        self.acks: dict[int, int] = {}  # command -> last MAV_RESULT
        self.setpoints_sent = 0
        self.link_losses = 0
        self.lost_at: float | None = None  # clock.now() when the link was last found lost
        self._last_heartbeat_rx: float | None = None
        self._next_heartbeat = 0.0
        self._next_setpoint = 0.0
        self._next_failsafe = 0.0
        self._t0 = self.clock.now()

    @property
    def last_heartbeat(self) -> float | None:
        """``clock.now()`` when the vehicle's last heartbeat arrived."""
        return self._last_heartbeat_rx

    # ------------------------------------------------------------------------------------------------ I/O loop
    def spin_once(self, timeout: float = 0.01) -> None:
        """Handle incoming messages for at most ``timeout`` seconds, then send what is due."""
        end = self.clock.now() + timeout
        while True:
            msg = self.conn.recv_match(blocking=True, timeout=max(0.0, min(0.005, end - self.clock.now())))
            if msg is not None:
                self._handle(msg)
            if self.clock.now() >= end:
                break
        if self._silent(self.clock.now()):
            self._drain()  # a host that was descheduled finds the heartbeats it missed queued: no link loss
        self._service(self.clock.now())

    def _silent(self, now: float) -> bool:
        """The vehicle's heartbeat has been silent longer than ``link_timeout`` (at this host's receipt times)."""
        return self._last_heartbeat_rx is not None and now - self._last_heartbeat_rx > self.config.link_timeout

    def _drain(self, limit: int = 10_000) -> None:
        """Handle what already arrived, without waiting (at most ``limit`` messages)."""
        for _ in range(limit):
            msg = self.conn.recv_match(blocking=False)
            if msg is None:
                return
            self._handle(msg)

    def run_for(self, seconds: float) -> None:
        end = self.clock.now() + seconds
        while self.clock.now() < end:
            self.spin_once(min(0.01, max(0.0, end - self.clock.now())))

    def _handle(self, msg: Any) -> None:
        if msg.get_srcSystem() != self.config.target_system:
            return
        kind = msg.get_type()
        if kind == "HEARTBEAT" and msg.type != mav.MAV_TYPE_GCS:
            self._last_heartbeat_rx = self.clock.now()
            self.armed = bool(msg.base_mode & mav.MAV_MODE_FLAG_SAFETY_ARMED)
            self.custom_mode = msg.custom_mode
            if self.state is not LinkState.UP:
                log.info("vehicle %d: link up", self.config.target_system)
            if self.state is LinkState.WAITING:
                self.state = LinkState.UP
            elif self.state is LinkState.LOST and self.custom_mode == self._modes[self.config.failsafe]:
                self.state = LinkState.UP  # back, and in the failsafe mode; streaming waits for engage()
        elif kind == "COMMAND_ACK":
            self.acks[msg.command] = msg.result
        elif kind == "LOCAL_POSITION_NED":
            self.position, self.velocity = (msg.x, msg.y, msg.z), (msg.vx, msg.vy, msg.vz)

    def _service(self, now: float) -> None:
        c = self.config
        if now >= self._next_heartbeat:
            self.conn.mav.heartbeat_send(mav.MAV_TYPE_GCS, mav.MAV_AUTOPILOT_INVALID, 0, 0, mav.MAV_STATE_ACTIVE)
            self._next_heartbeat = now + 1.0 / c.heartbeat_rate
        if self.state is LinkState.UP and self._silent(now):
            self.state = LinkState.LOST
            self.streaming = False
            self.link_losses += 1
            self.lost_at = now
            log.warning("vehicle %d: link lost, stop streaming, command %s", c.target_system, c.failsafe)
        if self.state is LinkState.LOST and now >= self._next_failsafe:
            self._send_mode(self._modes[c.failsafe])
            self._next_failsafe = now + 0.25
        if self.streaming and self.setpoint is not None and now >= self._next_setpoint:
            self._send_setpoint(self.setpoint, now)
            self._next_setpoint = max(self._next_setpoint + 1.0 / c.setpoint_rate, now)

    def _send_setpoint(self, sp: VelocitySetpoint | PositionSetpoint, now: float) -> None:
        t_ms = int((now - self._t0) * 1000) & 0xFFFFFFFF
        c = self.config
        if isinstance(sp, VelocitySetpoint):
            self.conn.mav.set_position_target_local_ned_send(
                t_ms,
                c.target_system,
                c.target_component,
                mav.MAV_FRAME_LOCAL_NED,
                VELOCITY_MASK,
                0,
                0,
                0,
                sp.vx,
                sp.vy,
                sp.vz,
                0,
                0,
                0,
                0,
                sp.yaw_rate,
            )
        else:
            self.conn.mav.set_position_target_local_ned_send(
                t_ms,
                c.target_system,
                c.target_component,
                mav.MAV_FRAME_LOCAL_NED,
                POSITION_MASK,
                sp.x,
                sp.y,
                sp.z,
                0,
                0,
                0,
                0,
                0,
                0,
                sp.yaw,
                0,
            )
        self.setpoints_sent += 1

    def _command(self, command: int, *params: float) -> None:
        p = [*params, 0, 0, 0, 0, 0, 0, 0][:7]
        self.conn.mav.command_long_send(self.config.target_system, self.config.target_component, command, 0, *p)

    def _send_mode(self, custom_mode: int) -> None:
        self._command(mav.MAV_CMD_DO_SET_MODE, mav.MAV_MODE_FLAG_CUSTOM_MODE_ENABLED, custom_mode)

    def _await_ack(self, command: int, timeout: float) -> bool:
        self.acks.pop(command, None)
        end = self.clock.now() + timeout
        while self.clock.now() < end and command not in self.acks:
            self.spin_once(0.01)
        return self.acks.get(command) == mav.MAV_RESULT_ACCEPTED

    # ------------------------------------------------------------------------------------------------ commands
    def connect(self, timeout: float = 3.0) -> bool:
        """Send heartbeats until the vehicle's heartbeat arrives."""
        end = self.clock.now() + timeout
        while self.clock.now() < end and self.state is LinkState.WAITING:
            self.spin_once(0.02)
        return self.state is LinkState.UP

    def arm(self, timeout: float = 1.0) -> bool:
        self._command(mav.MAV_CMD_COMPONENT_ARM_DISARM, 1)
        return self._await_ack(mav.MAV_CMD_COMPONENT_ARM_DISARM, timeout)

    def disarm(self, timeout: float = 1.0) -> bool:
        self.streaming = False
        self._command(mav.MAV_CMD_COMPONENT_ARM_DISARM, 0)
        return self._await_ack(mav.MAV_CMD_COMPONENT_ARM_DISARM, timeout)

    def set_setpoint(self, setpoint: VelocitySetpoint | PositionSetpoint) -> None:
        self.setpoint = setpoint

    def engage(self, timeout: float = 2.0) -> bool:
        """Start streaming the setpoint, then switch to offboard/guided (PX4 needs the stream first)."""
        if self.state is not LinkState.UP:
            return False
        if self.setpoint is None:
            self.setpoint = VelocitySetpoint(0.0, 0.0, 0.0)
        self.streaming = True
        self.run_for(0.25)  # > 2 Hz of setpoints before the switch
        self._send_mode(self._modes["offboard"])
        return self._await_ack(mav.MAV_CMD_DO_SET_MODE, timeout)

    def hold(self, timeout: float = 1.0) -> bool:
        self.streaming = False
        self._send_mode(self._modes["hold"])
        return self._await_ack(mav.MAV_CMD_DO_SET_MODE, timeout)

    def land(self, timeout: float = 1.0) -> bool:
        self.streaming = False
        self._send_mode(self._modes["land"])
        return self._await_ack(mav.MAV_CMD_DO_SET_MODE, timeout)

    # Requests that return at once, for driving several vehicles together: poll ``armed`` / :meth:`mode_is` /
    # ``acks`` (each vehicle's own heartbeat and COMMAND_ACK) while spinning every vehicle.
    def request_arm(self, armed: bool = True) -> None:
        """Send ARM (or DISARM; that also stops the stream) and return at once."""
        if not armed:
            self.streaming = False
        self.acks.pop(mav.MAV_CMD_COMPONENT_ARM_DISARM, None)
        self._command(mav.MAV_CMD_COMPONENT_ARM_DISARM, 1 if armed else 0)

    def request_mode(self, name: Literal["offboard", "hold", "land"]) -> None:
        """Send the mode change and return at once; any mode but offboard also stops the setpoint stream."""
        if name != "offboard":
            self.streaming = False
        self.acks.pop(mav.MAV_CMD_DO_SET_MODE, None)
        self._send_mode(self._modes[name])

    def request_takeoff(self, altitude: float) -> None:
        """MAV_CMD_NAV_TAKEOFF to ``altitude`` m above home (ArduPilot guided; PX4 offboard climbs by setpoint)."""
        self.acks.pop(mav.MAV_CMD_NAV_TAKEOFF, None)
        nan = float("nan")
        self._command(mav.MAV_CMD_NAV_TAKEOFF, 0, 0, 0, nan, nan, nan, altitude)

    def request_message_rate(self, message_id: int, hz: float) -> None:
        """MAV_CMD_SET_MESSAGE_INTERVAL: ask the vehicle to send ``message_id`` at ``hz`` (ArduPilot needs it for
        LOCAL_POSITION_NED); returns at once, a refusal is only logged by the vehicle."""
        self._command(mav.MAV_CMD_SET_MESSAGE_INTERVAL, message_id, 1e6 / hz)

    def start_streaming(self) -> None:
        """Stream the setpoint (a zero velocity when none is set) from the next spin on, without a mode change."""
        if self.setpoint is None:
            self.setpoint = VelocitySetpoint(0.0, 0.0, 0.0)
        self.streaming = True

    def mode_is(self, name: Literal["offboard", "hold", "land"]) -> bool:
        return self.custom_mode == self._modes[name]

    def close(self) -> None:
        self.streaming = False
        self.conn.close()
