"""``fleetmind_bridge``: a lifecycle node wrapping the firmware link (:class:`RobotLink`) of one robot.

- configure: open the transport (serial port or UDP) and the link from the parameters (validated by
  :class:`RobotLinkConfig`); create ``odom`` (lifecycle publisher) and the ``cmd_vel`` subscription.
- activate: wait for telemetry, arm, then every ``period_s``: read telemetry, publish ``odom`` and a
  heartbeat on ``/diagnostics``, stream the latest ``cmd_vel`` (zero once older than ``command_timeout_s``).
- error (link silent for ``heartbeat_timeout_s``): stop the robot and deactivate itself; ``last_error`` says why.
- deactivate: stop (zero velocity) and disarm; cleanup: close the transport.

Thin: the link, framing, authentication and watchdogs are ``firmware_bridge``'s; this only maps messages.
Both deadlines (link lost, command timeout) run on the injected ``clock``; ``open_transport`` opens the link.
Tests pass a manual clock and an in-process robot double and call :meth:`BridgeNode.tick` themselves.
"""

from __future__ import annotations

import logging
import math
import sys
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from rclpy.lifecycle import LifecycleNode, LifecycleState, TransitionCallbackReturn

from fleetmind.firmware_bridge import messages as wire
from fleetmind.firmware_bridge.auth import load_key
from fleetmind.firmware_bridge.config import RobotLinkConfig
from fleetmind.firmware_bridge.fleet import open_transport
from fleetmind.firmware_bridge.link import RobotLink
from fleetmind.firmware_bridge.monitor import CommandWatchdog
from fleetmind.firmware_bridge.transport import LinkDown, ReconnectingTransport, Transport
from fleetmind.robots.clock import MONOTONIC, Clock
from fleetmind.robots.ids import robot_id
from fleetmind.ros import common as rc

log = logging.getLogger(__name__)


class BridgeParams(BaseModel):
    """Parameters of ``fleetmind_bridge``; the link fields are checked again by :class:`RobotLinkConfig`."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    robot: str = Field("", description="Robot id (default: the node's namespace).")
    wire_id: int = Field(1, ge=0, le=0xFFFE, description="Robot id in the frame header.")
    serial_port: str = Field("", description="Serial device, e.g. /dev/ttyUSB0 (or give udp_host + udp_port).")
    baudrate: int = Field(115200, gt=0, description="Serial baud rate.")
    udp_host: str = Field("", description="Robot IP address for UDP.")
    udp_port: int = Field(0, ge=0, le=65535, description="Robot UDP port (0: not UDP).")
    key_file: str = Field("", description="Hex key file; when set every frame is HMAC-tagged.")
    heartbeat_timeout_s: float = Field(0.5, gt=0, description="Link silence (s) that counts as an error.")
    connect_timeout_s: float = Field(2.0, gt=0, description="activate waits this long for telemetry.")
    command_timeout_s: float = Field(0.5, gt=0, description="A cmd_vel older than this streams zero velocity.")
    period_s: float = Field(0.04, gt=0, le=1.0, description="Telemetry / command period (s).")
    max_linear: float = Field(0.8, gt=0, description="|linear.x| is clamped to this (m/s).")
    max_angular: float = Field(1.5, gt=0, description="|angular.z| is clamped to this (rad/s).")
    frame_id: str = Field("odom", min_length=1, description="Frame of the published odometry.")
    autostart: bool = Field(False, description="Configure and activate at start (no lifecycle manager).")

    def link_config(self, name: str) -> RobotLinkConfig:
        return RobotLinkConfig(
            name=name,
            wire_id=self.wire_id,
            serial_port=self.serial_port or None,
            baudrate=self.baudrate,
            udp_host=self.udp_host or None,
            udp_port=self.udp_port or None,
            key_file=self.key_file or None,
        )


class BridgeNode(LifecycleNode):
    def __init__(
        self,
        clock: Clock = MONOTONIC,
        open_transport: Callable[[RobotLinkConfig], Transport] = open_transport,
        **kwargs: Any,
    ) -> None:
        super().__init__("bridge", **kwargs)
        self.clock = clock
        self._open_transport = open_transport
        from diagnostic_msgs.msg import DiagnosticArray

        self.params = rc.declare_model_parameters(self, BridgeParams)
        try:
            self.robot = robot_id(self.params.robot or self.get_namespace().strip("/"))
        except ValueError as exc:
            raise rc.ParameterError(f"parameter robot: {exc}") from None
        self.link: RobotLink | None = None
        self.transport: ReconnectingTransport | None = None
        self.odom_pub: Any = None
        self.cmd_sub: Any = None
        self.timer: Any = None
        self.command = (0.0, 0.0)  # v, omega of the latest cmd_vel
        self.watchdog = CommandWatchdog(self.params.command_timeout_s)
        self.last_error: str | None = None
        self.beat_pub = self.create_publisher(DiagnosticArray, rc.DIAGNOSTICS_TOPIC, 10)
        if self.params.autostart:
            self._starter = self.create_timer(0.1, self._autostart)

    def _autostart(self) -> None:
        self.destroy_timer(self._starter)
        if self.trigger_configure() == TransitionCallbackReturn.SUCCESS:
            self.trigger_activate()

    # ------------------------------------------------------------------------------------------ transitions
    def on_configure(self, state: LifecycleState) -> TransitionCallbackReturn:
        from geometry_msgs.msg import Twist
        from nav_msgs.msg import Odometry

        try:
            cfg = self.params.link_config(self.robot)
            key = load_key(cfg.key_file) if cfg.key_file else None
            self.transport = ReconnectingTransport(lambda: self._open_transport(cfg), clock=self.clock)
        except ValidationError as exc:
            self.last_error = f"configure: {rc.describe_validation(exc)}"
            self.get_logger().error(self.last_error)
            return TransitionCallbackReturn.FAILURE
        except (ValueError, OSError) as exc:
            self.last_error = f"configure: {exc}"
            self.get_logger().error(self.last_error)
            return TransitionCallbackReturn.FAILURE
        self.link = RobotLink(self.transport, cfg.wire_id, key, self.params.heartbeat_timeout_s, clock=self.clock)
        self.odom_pub = self.create_lifecycle_publisher(Odometry, rc.ODOM, 10)
        self.cmd_sub = self.create_subscription(Twist, "cmd_vel", self.on_cmd_vel, 10)
        return TransitionCallbackReturn.SUCCESS

    def on_activate(self, state: LifecycleState) -> TransitionCallbackReturn:
        assert self.link is not None
        if not self.link.sync(self.params.connect_timeout_s):
            self.last_error = f"activate: no telemetry within {self.params.connect_timeout_s}s"
            self.get_logger().error(self.last_error)
            return TransitionCallbackReturn.FAILURE
        self.link.send(wire.SetVelocityMsg(0.0, 0.0))
        reply = self.link.request(wire.Arm(), timeout=0.5)
        if not isinstance(reply, wire.Ack):
            self.last_error = f"activate: arm not acknowledged ({reply})"
            self.get_logger().error(self.last_error)
            return TransitionCallbackReturn.FAILURE
        self.last_error = None
        self.command = (0.0, 0.0)
        self.watchdog = CommandWatchdog(self.params.command_timeout_s)
        self.timer = self.create_timer(self.params.period_s, self.tick)
        return super().on_activate(state)

    def on_deactivate(self, state: LifecycleState) -> TransitionCallbackReturn:
        self._stop_timer()
        self._stop_robot()
        return super().on_deactivate(state)

    def on_cleanup(self, state: LifecycleState) -> TransitionCallbackReturn:
        self._close()
        return TransitionCallbackReturn.SUCCESS

    def on_shutdown(self, state: LifecycleState) -> TransitionCallbackReturn:
        self._stop_timer()
        self._stop_robot()
        self._close()
        return TransitionCallbackReturn.SUCCESS

    # ------------------------------------------------------------------------------------------ active work
    def on_cmd_vel(self, msg: Any) -> None:
        v = max(-self.params.max_linear, min(self.params.max_linear, msg.linear.x))
        w = max(-self.params.max_angular, min(self.params.max_angular, msg.angular.z))
        if (v, w) != (msg.linear.x, msg.angular.z):
            self.get_logger().warning(f"cmd_vel ({msg.linear.x}, {msg.angular.z}) clamped to ({v}, {w})")
        self.command = (v, w)
        self.watchdog.commanded(self.clock.now())

    def tick(self) -> None:
        assert self.link is not None
        self.link.poll(0.0)
        if self.link.lost:
            self.fault(f"link lost: no telemetry for {self.params.heartbeat_timeout_s}s")
            return
        v, w = (0.0, 0.0) if self.watchdog.expired(self.clock.now()) else self.command
        self.link.send(wire.SetVelocityMsg(v, w))
        t = self.link.telemetry
        if t is not None:
            self.odom_pub.publish(self._odometry(t))
            values = {"battery": f"{t.battery:.2f}", "status": int(t.status), "v": f"{t.v:.3f}"}
            self.beat_pub.publish(rc.heartbeat(self, self.robot, "fleetmind_bridge", values))

    def fault(self, reason: str) -> None:
        """On error: stop the robot and deactivate (a planner then stops hearing this robot's heartbeat)."""
        self.last_error = reason
        self.get_logger().error(f"{self.robot}: {reason}; stopping and deactivating")
        self._stop_timer()
        self.trigger_deactivate()

    def _odometry(self, t: wire.Telemetry) -> Any:
        from nav_msgs.msg import Odometry

        msg = Odometry()
        msg.header.stamp = self.get_clock().now().to_msg()
        msg.header.frame_id = self.params.frame_id
        msg.child_frame_id = f"{self.robot}/base_link"
        msg.pose.pose.position.x, msg.pose.pose.position.y = float(t.x), float(t.y)
        msg.pose.pose.orientation.z = math.sin(t.yaw / 2.0)
        msg.pose.pose.orientation.w = math.cos(t.yaw / 2.0)
        msg.twist.twist.linear.x, msg.twist.twist.angular.z = float(t.v), float(t.omega)
        return msg

    def _stop_timer(self) -> None:
        if self.timer is not None:
            self.destroy_timer(self.timer)
            self.timer = None

    def _stop_robot(self) -> None:
        if self.link is None:
            return
        try:
            self.link.send(wire.SetVelocityMsg(0.0, 0.0))
            self.link.send(wire.Disarm())
        except (LinkDown, OSError) as exc:  # the firmware's own watchdog stops it anyway
            log.warning("%s: stop not sent: %s", self.robot, exc)

    def _close(self) -> None:
        if self.odom_pub is not None:
            self.destroy_lifecycle_publisher(self.odom_pub)
            self.odom_pub = None
        if self.cmd_sub is not None:
            self.destroy_subscription(self.cmd_sub)
            self.cmd_sub = None
        if self.transport is not None:
            self.transport.close()
        self.transport = self.link = None


def main() -> None:
    from fleetmind.ros.world_node import run_node

    sys.exit(run_node(BridgeNode))


if __name__ == "__main__":
    main()
