"""``fleetmind_bridge``: a lifecycle node wrapping the firmware link (:class:`RobotLink`) of one robot.

- configure: open the link (serial port or UDP, validated by :class:`RobotLinkConfig`); create ``odom``
  (``nav_msgs/Odometry``, lifecycle publisher) and the ``cmd_vel`` subscription (``geometry_msgs/TwistStamped``).
- activate: wait for telemetry, arm, enable motion: every ``period_s`` read telemetry, publish ``odom``, stream
  the latest ``cmd_vel`` (zero once older than ``command_timeout_s``).
- error (link silent for ``heartbeat_timeout_s``, or a transition that fails with an exception): stop the robot,
  then ``on_error`` closes the link and the node is back to unconfigured; ``last_error`` says why.
- deactivate: stop (zero velocity) and disarm; cleanup: close the link.
- e-stop: ``/fleet/estop_state`` (latched, from ``/fleet/estop``) sends the firmware's latched EStop and holds zero
  velocity until it is cleared.
- diagnostics: every ``diagnostics_period_s`` (steady clock, in every state) one status with a real level
  (:mod:`fleetmind.ros.health`: link, e-stop, battery, watchdog trips, lifecycle).
- parameters: a change applies at once (``max_linear``, ``max_angular``, the timeouts, ``period_s``, battery
  levels, ``frame_id``) or is refused with the reason (link settings while the link is open, ``robot``).

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
from fleetmind.ros.health import Health, HealthMonitor
from fleetmind.ros.throttle import LogThrottle

log = logging.getLogger(__name__)
LINK_FIELDS = frozenset({"wire_id", "serial_port", "baudrate", "udp_host", "udp_port", "key_file"})
START_FIELDS = frozenset({"robot", "autostart"})


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
    frame_id: str = Field("", description="Frame of the published odometry (default: <robot>/odom).")
    battery_warn_v: float = Field(11.1, gt=0, description="Battery below this (V): diagnostics WARN.")
    battery_error_v: float = Field(10.5, gt=0, description="Battery below this (V): diagnostics ERROR.")
    diagnostics_period_s: float = Field(0.5, gt=0, le=60, description="Diagnostics period (s, steady clock).")
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
        from std_msgs.msg import String

        self.params = rc.declare_model_parameters(self, BridgeParams, self._apply_parameters)
        try:
            self.robot = robot_id(self.params.robot or self.get_namespace().rstrip("/").rsplit("/", 1)[-1])
        except ValueError as exc:
            raise rc.ParameterError(f"parameter robot: {exc}") from None
        self.link: RobotLink | None = None
        self.transport: ReconnectingTransport | None = None
        self.odom_pub: Any = None
        self.cmd_sub: Any = None
        self.timer: Any = None
        self.active = False
        self._stopped = True  # nothing to stop before the first activation
        self.estop = False
        self.command = (0.0, 0.0)  # v, omega of the latest cmd_vel
        self.watchdog = CommandWatchdog(self.params.command_timeout_s)
        self.health_monitor = HealthMonitor(self.params.battery_warn_v, self.params.battery_error_v)
        self.clamp_log = LogThrottle(log, 5.0, clock)  # at most one clamped-cmd_vel warning per 5 s
        self.last_error: str | None = None
        self.beat_pub = self.create_publisher(DiagnosticArray, rc.DIAGNOSTICS_TOPIC, 10)
        self.create_subscription(String, rc.ESTOP_STATE_TOPIC, lambda m: self.on_estop(m.data), rc.latched_qos())
        self.diag_timer = rc.steady_timer(self, self.params.diagnostics_period_s, self.publish_health)
        if self.params.autostart:
            self._starter = self.create_timer(0.1, self._autostart)

    def _autostart(self) -> None:
        self.destroy_timer(self._starter)
        if self.trigger_configure() == TransitionCallbackReturn.SUCCESS:
            self.trigger_activate()

    @property
    def frame_id(self) -> str:
        return self.params.frame_id or f"{self.robot}/odom"

    # ------------------------------------------------------------------------------------------ parameters
    def _apply_parameters(self, new: BridgeParams, changed: frozenset[str]) -> str | None:
        """Apply a valid change at once, or say why not (never accepted and ignored)."""
        if changed & START_FIELDS:
            return f"parameter {min(changed & START_FIELDS)}: read at start only; restart the node with the new value"
        if changed & LINK_FIELDS and self.link is not None:
            name = min(changed & LINK_FIELDS)
            return f"parameter {name}: the link is open; deactivate and clean up the bridge first, then set it"
        if new.battery_error_v >= new.battery_warn_v:
            warn = new.battery_warn_v
            return f"parameter battery_error_v: {new.battery_error_v} must be below battery_warn_v ({warn})"
        self.params = new
        self.watchdog.timeout = new.command_timeout_s
        self.health_monitor.battery_warn_v = new.battery_warn_v
        self.health_monitor.battery_error_v = new.battery_error_v
        if self.link is not None:
            self.link.monitor.timeout = new.heartbeat_timeout_s
        v, w = self.command
        self.command = (self._clamp(v, new.max_linear), self._clamp(w, new.max_angular))  # a lower limit bites now
        if "period_s" in changed and self.timer is not None:
            self._stop_timer()
            self.timer = rc.steady_timer(self, new.period_s, self.tick)
        if "diagnostics_period_s" in changed:
            self.destroy_timer(self.diag_timer)
            self.diag_timer = rc.steady_timer(self, new.diagnostics_period_s, self.publish_health)
        self.get_logger().info(f"parameters applied: {', '.join(sorted(changed))}")
        return None

    # ------------------------------------------------------------------------------------------ transitions
    def on_configure(self, state: LifecycleState) -> TransitionCallbackReturn:
        from geometry_msgs.msg import TwistStamped
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
        self.cmd_sub = self.create_subscription(TwistStamped, "cmd_vel", self.on_cmd_vel, 10)
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
        self.timer = rc.steady_timer(self, self.params.period_s, self.tick)  # link deadlines: wall time
        self.active, self._stopped = True, False
        return super().on_activate(state)

    def on_deactivate(self, state: LifecycleState) -> TransitionCallbackReturn:
        self.active = False
        self._stop_timer()
        self._stop_robot()
        result = super().on_deactivate(state)
        # a fault (link lost) ends in on_error: the link is closed and the node is back to unconfigured
        return TransitionCallbackReturn.ERROR if self.last_error else result

    def on_error(self, state: LifecycleState) -> TransitionCallbackReturn:
        self.get_logger().error(f"{self.robot}: error in {state.label}: {self.last_error}; robot stopped, link closed")
        self.active = False
        self._stop_timer()
        self._stop_robot()
        self._close()
        return TransitionCallbackReturn.SUCCESS  # recovered: unconfigured, ready to configure again

    def on_cleanup(self, state: LifecycleState) -> TransitionCallbackReturn:
        self._close()
        return TransitionCallbackReturn.SUCCESS

    def on_shutdown(self, state: LifecycleState) -> TransitionCallbackReturn:
        self.active = False
        self._stop_timer()
        self._stop_robot()
        self._close()
        return TransitionCallbackReturn.SUCCESS

    # ------------------------------------------------------------------------------------------ active work
    @staticmethod
    def _clamp(value: float, limit: float) -> float:
        return max(-limit, min(limit, value))

    def on_cmd_vel(self, msg: Any) -> None:
        """``TwistStamped`` (a plain ``Twist`` is read the same way); clamped to ``max_linear`` / ``max_angular``."""
        twist = getattr(msg, "twist", msg)
        v = self._clamp(twist.linear.x, self.params.max_linear)
        w = self._clamp(twist.angular.z, self.params.max_angular)
        if (v, w) != (twist.linear.x, twist.angular.z):
            limits = (twist.linear.x, twist.angular.z, v, w)
            # logging, rate-limited: a planner over the limit clamps every message, and rclpy's logger costs ms a call
            self.clamp_log.warning("clamped", "%s: cmd_vel (%s, %s) clamped to (%s, %s)", self.robot, *limits)
        self.command = (v, w)
        self.watchdog.commanded(self.clock.now())

    def on_estop(self, text: str) -> None:
        """The fleet e-stop (``fleetmind/estop/1``): latch the firmware's EStop and hold zero velocity."""
        try:
            doc = rc.parse_doc(text, "fleetmind/estop/1")
            active = bool(doc["active"])
        except (ValueError, KeyError) as exc:
            self.get_logger().warning(f"malformed e-stop state dropped: {exc}")
            return
        if active == self.estop:
            return
        self.estop = active
        self.command = (0.0, 0.0)
        if self.link is None:
            return
        try:
            self.link.send(wire.EStop() if active else wire.ClearEStop())
            if active:
                self.link.send(wire.SetVelocityMsg(0.0, 0.0))
        except (LinkDown, OSError) as exc:
            log.warning("%s: e-stop not sent: %s", self.robot, exc)
        stamp = doc.get("stamp")
        late = f" {rc.wall_s() - stamp:.3f}s after it was published" if isinstance(stamp, (int, float)) else ""
        # plain logging: rclpy's logger looks up its caller's module (inspect.getmodule over sys.modules), 90 ms on
        # a first call and ~0.2 s on a loaded host, which held this executor and the odometry showing the stop
        log.warning("%s: e-stop %s%s", self.robot, "latched" if active else "cleared", late)

    def tick(self) -> None:
        assert self.link is not None
        self.link.poll(0.0)
        if self.link.lost:
            self.fault(f"link lost: no telemetry for {self.params.heartbeat_timeout_s}s")
            return
        stopped = self.estop or self.watchdog.expired(self.clock.now())
        v, w = (0.0, 0.0) if stopped else self.command
        self.link.send(wire.SetVelocityMsg(v, w))
        t = self.link.telemetry
        self.health_monitor.observe(t)
        if t is not None:
            self.odom_pub.publish(self._odometry(t))

    def health(self) -> Health:
        link = "closed" if self.link is None else "lost" if self.link.lost else "up"
        telemetry = self.link.telemetry if self.link is not None else None
        return self.health_monitor.health(link, self.active, telemetry, self.estop)

    def publish_health(self) -> None:
        h = self.health()
        values = h.values | ({"last_error": self.last_error} if self.last_error else {})
        self.beat_pub.publish(rc.heartbeat(self, self.robot, "fleetmind_bridge", values, int(h.level), h.message))

    def fault(self, reason: str) -> None:
        """On error: stop the robot; deactivating then ends in ``on_error`` (link closed, unconfigured)."""
        self.last_error = reason
        self.get_logger().error(f"{self.robot}: {reason}; stopping")
        self._stop_timer()
        self.trigger_deactivate()
        self.publish_health()

    def _odometry(self, t: wire.Telemetry) -> Any:
        from nav_msgs.msg import Odometry

        msg = Odometry()
        msg.header.stamp = self.get_clock().now().to_msg()
        msg.header.frame_id = self.frame_id
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
        if self.link is None or self._stopped:
            return
        self._stopped = True  # once per activation: on_error after a deactivate sends nothing twice
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
