"""The real robots' links as the executor sees them, through their ``fleetmind_bridge`` nodes (the ROS real graph).

:class:`fleetmind.firmware_bridge.executor.ExecutorFleet` drives robots through a set of links (``links[robot]``
with ``send``, ``poll``, ``telemetry`` and ``lost``; ``reset``, ``estop_all``, ``clear_estop``, ``close``). In the ROS
graph each robot's link belongs to its bridge node; :class:`RosLinks` gives the executor the same surface over
topics: a velocity becomes ``/<robot>/cmd_vel`` (``TwistStamped``), telemetry is rebuilt from ``/<robot>/odom``
(pose, velocity) and the bridge's diagnostics (battery, status flags), and a robot whose odometry is older than
``heartbeat_timeout`` is lost (its bridge stopped it, or its link died) once the evidence agrees (:attr:`RosLink.lost`):
another bridge stamped odometry more than ``heartbeat_timeout`` after the robot's last one, or its own bridge reported
an error. A stall of this process (its callbacks waiting while the bridges kept publishing: 0.3-1.5 s gaps with 4 SITL
robots on a quiet 2-core host) is not a loss, up to ``STALL_FACTOR`` timeouts. The e-stop goes out on the latched
``/fleet/estop_state`` that every bridge obeys (firmware EStop, zero velocity held).

Pure where it matters: :class:`RosLink` takes plain numbers (``on_odometry``, ``on_diagnostics``) on an injected
clock; :class:`RosLinks` only wires it to rclpy. Callbacks arrive on other executor threads while a step runs.
"""

from __future__ import annotations

import logging
import math
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from fleetmind.firmware_bridge import messages as wire
from fleetmind.robots.clock import MONOTONIC, Clock
from fleetmind.robots.ids import RobotId
from fleetmind.ros import common as rc

log = logging.getLogger(__name__)

STALL_FACTOR = 10.0
"""A robot silent (by receipt) this many heartbeat timeouts is lost even when no bridge's stamp is newer: every
bridge gone at once, or this process stalled that long."""


class RosLink:
    """One robot as the executor sees it; ``publish(v, omega)`` sends a velocity to its bridge, ``estop(active)``
    latches or clears the fleet e-stop that every bridge obeys (``/fleet/estop_state``)."""

    def __init__(
        self,
        robot: RobotId,
        publish: Callable[[float, float], None],
        clock: Clock,
        timeout: float,
        estop: Callable[[bool], None] | None = None,
        newest: Callable[[], float | None] | None = None,
    ) -> None:
        """``newest``: the newest stamp (s) of any bridge's message handled so far (None: judge by receipt only)."""
        self.robot = robot
        self.newest = newest
        self.stamp: float | None = None  # the newest odometry stamp of this robot (its bridge's clock)
        self._publish = publish
        self._estop = estop
        self.clock = clock
        self.timeout = timeout
        self._odom: tuple[float, float, float, float, float] | None = None
        self.telemetry_time: float | None = None
        self.battery = 0.0
        self.status = wire.Status(0)
        self.estop = False  # the fleet e-stop as sent (the bridges latch it in the firmware)
        self._estop_sent: float | None = None
        self.sent = 0
        self.replies: deque[wire.Ack | wire.Nack] = deque(maxlen=256)
        # what the executor names when a robot is late; the wire session belongs to the bridge
        self.session, self.sessions, self.seq, self.foreign, self.replayed, self.transport = None, 0, 0, 0, 0, None
        self.bridge_error: str | None = None  # the bridge's ``last_error`` (a failed configure/activate), if any

    def on_odometry(self, x: float, y: float, yaw: float, v: float, omega: float, stamp: float | None = None) -> None:
        self._odom, self.telemetry_time = (x, y, yaw, v, omega), self.clock.now()
        if stamp is not None:
            self.stamp = stamp if self.stamp is None else max(self.stamp, stamp)

    def on_diagnostics(self, values: Mapping[str, str]) -> None:
        self.bridge_error = values.get("last_error")
        try:
            if "battery_v" in values:
                self.battery = float(values["battery_v"])
            if "status" in values:
                self.status = wire.Status(int(values["status"], 16))
        except ValueError as exc:
            log.warning("%s: diagnostics value dropped: %s", self.robot, exc)

    @property
    def telemetry(self) -> wire.Telemetry | None:
        if self._odom is None:
            return None
        x, y, yaw, v, omega = self._odom
        # the e-stop shows once odometry newer than it arrived (its bridge has had a tick to latch it)
        latched = self.estop and self._estop_sent is not None and (self.telemetry_time or 0.0) > self._estop_sent
        status = self.status | (wire.Status.ESTOP if latched else wire.Status(0))
        return wire.Telemetry(x, y, yaw, v, omega, self.battery, status, 0)

    @property
    def lost(self) -> bool:
        """No odometry for ``timeout`` by receipt, confirmed when there are stamps: its bridge reported an error
        (it stops publishing odometry when its link dies), another robot's odometry handled since is stamped more
        than ``timeout`` after this robot's last one (a stall of this process delays every callback alike, so the
        stamps stay close), or the silence passed ``STALL_FACTOR`` timeouts."""
        if self.telemetry_time is None:
            return True
        silent = self.clock.now() - self.telemetry_time
        if silent <= self.timeout:
            return False
        newest = self.newest() if self.newest is not None else None
        if self.stamp is None or newest is None or self.bridge_error is not None:
            return True
        return newest - self.stamp > self.timeout or silent > STALL_FACTOR * self.timeout

    def send(self, message: wire.Message) -> int:
        """A velocity goes to the bridge; EStop / ClearEStop go to every bridge on the latched e-stop topic and are
        acknowledged once published (the bridges latch it in their firmware; the executor then watches the
        odometry for zero speed); arming is the bridge's own business."""
        self.sent += 1
        if isinstance(message, wire.SetVelocityMsg):
            v, omega = (0.0, 0.0) if self.estop else (message.v, message.omega)
            self._publish(v, omega)
        elif isinstance(message, (wire.EStop, wire.ClearEStop)):
            active = isinstance(message, wire.EStop)
            if self._estop is not None and active != self.estop:
                self._estop(active)
            if active and self._estop_sent is None:
                self._estop_sent = self.clock.now()
            self.estop = active
            if not active:
                self._estop_sent = None
            self.replies.append(wire.Ack(self.sent, message.TYPE))
        return self.sent

    def poll(self, timeout: float = 0.0) -> list[Any]:
        """Messages arrive on the executor's threads; polling only lets ``timeout`` pass."""
        if timeout > 0:
            self.clock.sleep(timeout)
        return []


class RosLinks:
    """The executor's ``robots``: one :class:`RosLink` per robot, wired to the bridges' topics on ``node``."""

    def __init__(
        self,
        node: Any,
        robots: Iterable[RobotId],
        heartbeat_timeout: float,
        connect_timeout: float = 30.0,
        clock: Clock = MONOTONIC,
        callback_group: Any = None,
    ) -> None:
        from diagnostic_msgs.msg import DiagnosticArray
        from geometry_msgs.msg import TwistStamped
        from nav_msgs.msg import Odometry
        from std_msgs.msg import String

        self.node = node
        self.clock = clock
        self.connect_timeout = connect_timeout
        self.robot_ids: tuple[RobotId, ...] = tuple(robots)
        self.links: dict[RobotId, RosLink] = {}
        self.newest: float | None = None  # the newest odometry stamp of any robot handled so far
        for r in self.robot_ids:
            # relative names (a namespace pushed over the world and the bridges applies to both)
            pub = node.create_publisher(TwistStamped, f"{r}/cmd_vel", 10)
            send = lambda v, w, pub=pub: pub.publish(self._twist(v, w))  # noqa: E731
            self.links[r] = RosLink(
                r, send, clock, heartbeat_timeout, lambda on: self._estop_state(on, "estop"), lambda: self.newest
            )
            node.create_subscription(
                Odometry, f"{r}/{rc.ODOM}", lambda m, r=r: self._odometry(r, m), 10,
                callback_group=callback_group,
            )  # fmt: skip
        node.create_subscription(
            DiagnosticArray, rc.DIAGNOSTICS_TOPIC, self._diagnostics, 50, callback_group=callback_group
        )
        self.estop_pub = node.create_publisher(String, rc.ESTOP_STATE_TOPIC, rc.latched_qos())

    def _twist(self, v: float, omega: float) -> Any:
        from geometry_msgs.msg import TwistStamped

        msg = TwistStamped()
        msg.header.stamp = self.node.get_clock().now().to_msg()
        msg.twist.linear.x, msg.twist.angular.z = float(v), float(omega)
        return msg

    def _heard(self, header: Any) -> float | None:
        stamp = header.stamp.sec + header.stamp.nanosec * 1e-9
        if stamp <= 0.0:  # unstamped
            return None
        self.newest = stamp if self.newest is None else max(self.newest, stamp)
        return stamp

    def _odometry(self, robot: RobotId, msg: Any) -> None:
        p, q, t = msg.pose.pose.position, msg.pose.pose.orientation, msg.twist.twist
        yaw = 2.0 * math.atan2(q.z, q.w)
        yaw = math.atan2(math.sin(yaw), math.cos(yaw))
        stamp = self._heard(msg.header)
        self.links[robot].on_odometry(p.x, p.y, yaw, t.linear.x, t.angular.z, stamp)

    def _diagnostics(self, msg: Any) -> None:
        for status in msg.status:
            link = self.links.get(RobotId(status.hardware_id))
            if link is not None and status.name.startswith("fleetmind_bridge/"):
                link.on_diagnostics({kv.key: kv.value for kv in status.values})

    def reset(self, seed: int) -> None:
        """Wait (at most ``connect_timeout``) until every bridge streams odometry or says it failed (its diagnostics
        carry ``last_error``: a link that could not be configured or activated; autostart does not retry, so waiting
        on is pointless); a robot still silent is lost."""
        end = self.clock.now() + self.connect_timeout
        while self.clock.now() < end and any(k.lost and k.bridge_error is None for k in self.links.values()):
            self.clock.sleep(0.05)
        silent = sorted(r for r, link in self.links.items() if link.lost)
        quiet = [r for r in silent if self.links[r].bridge_error is None]
        for r in sorted(set(silent) - set(quiet)):
            log.warning("%s: its bridge failed (%s): lost from the start", r, self.links[r].bridge_error)
        if quiet:
            log.warning("no odometry from %s within %.0fs: lost from the start", ", ".join(quiet), self.connect_timeout)

    def _estop_state(self, active: bool, reason: str) -> None:
        from std_msgs.msg import String

        now = self.clock.now()
        for link in self.links.values():
            link.estop = active
            link._estop_sent = (link._estop_sent or now) if active else None
        self.estop_pub.publish(
            String(
                data=rc.dumps({"schema": "fleetmind/estop/1", "active": active, "reason": reason, "stamp": rc.wall_s()})
            )
        )

    def estop_all(self, timeout: float = 0.5) -> dict[RobotId, bool]:
        """Latch the e-stop in every bridge; per robot, whether its odometry showed it standing within ``timeout``."""
        self._estop_state(True, "estop_all")
        end = self.clock.now() + timeout
        standing: dict[RobotId, bool] = dict.fromkeys(self.robot_ids, False)
        while self.clock.now() < end and not all(standing.values()):
            for r, link in self.links.items():
                t = link.telemetry
                standing[r] = standing[r] or (t is not None and not link.lost and t.v == 0.0 and t.omega == 0.0)
            self.clock.sleep(0.005)
        return standing

    def clear_estop(self, timeout: float = 0.5) -> dict[RobotId, bool]:
        self._estop_state(False, "cleared")
        return dict.fromkeys(self.robot_ids, True)

    def close(self) -> None:
        """The links belong to the bridges: nothing to close here."""
