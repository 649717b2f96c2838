"""External poses over ROS for the real-robot executor: ``<robot>/external_pose`` (``geometry_msgs/PoseStamped``).

Motion capture, AprilTags or AMCL publish each robot's pose in the shared map frame (the world's ``frame_id``,
``map`` by default); the world node (``links: bridges``) hands every fix to the executor's
:class:`fleetmind.firmware_bridge.localization.Localizer`, which lets it win while fresh and carries the pose on with
odometry between fixes. Topic names are relative (``robot_0/external_pose``), so a namespace pushed over the graph
applies. A fix in another frame is refused (warned once per robot and frame); a fix with a non-finite value is
dropped.

Time: a header stamp is on the ROS clock (wall time; simulated time with ``use_sim_time``), the localizer's fixes on
its own monotonic clock. The node converts through the fix's age: ``age = node ROS now - stamp``, and the fix is
taken at ``localizer.clock.now() - age``, so ``max_age`` means "seconds since the pose was measured", whichever
clock the graph runs on. A stamp ahead of the node's clock (two hosts whose clocks disagree) counts as age 0; an unset
stamp (0) counts as taken when received (warned once). The fix is anchored to the robot's newest odometry (from its
bridge), the reading closest to the instant the fix was taken.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from typing import Any

from fleetmind.firmware_bridge.executor import ExecutorFleet
from fleetmind.firmware_bridge.localization import Pose2D
from fleetmind.robots.ids import RobotId
from fleetmind.ros import common as rc
from fleetmind.ros.throttle import LogThrottle

log = logging.getLogger(__name__)

EXTERNAL_POSE = "external_pose"  # per robot: geometry_msgs/PoseStamped in the map frame (external fixes)


def fix_age(stamp_s: float, ros_now_s: float) -> float:
    """Seconds between a fix's stamp and the node's ROS clock now (>= 0; an unset stamp, 0, is age 0)."""
    if stamp_s <= 0.0:
        return 0.0
    return max(0.0, ros_now_s - stamp_s)


def yaw_of(qx: float, qy: float, qz: float, qw: float) -> float:
    """The heading (rotation about z) of a quaternion, in ``[-pi, pi]``."""
    return math.atan2(2.0 * (qw * qz + qx * qy), 1.0 - 2.0 * (qy * qy + qz * qz))


class ExternalPoseInput:
    """Subscribes ``<robot>/external_pose`` for every robot of ``fleet`` on ``node`` and feeds its localizer."""

    def __init__(
        self,
        node: Any,
        fleet: ExecutorFleet,
        frame_id: Callable[[], str],
        callback_group: Any = None,
        warn_period_s: float = 5.0,
    ) -> None:
        from geometry_msgs.msg import PoseStamped

        self.node = node
        self.fleet = fleet
        self.frame_id = frame_id
        self.received = 0
        self.refused = 0  # wrong frame or non-finite values
        self._frames_warned: set[tuple[RobotId, str]] = set()
        self._unstamped_warned = False
        self.throttle = LogThrottle(log, warn_period_s, fleet.clock)
        for r in fleet.robot_ids:
            node.create_subscription(
                PoseStamped, rc.robot_topic(r, EXTERNAL_POSE), lambda m, r=r: self.on_pose(r, m), 10,
                callback_group=callback_group,
            )  # fmt: skip

    def on_pose(self, robot: RobotId, msg: Any) -> bool:
        """One ``PoseStamped``; returns whether the localizer used it."""
        self.received += 1
        frame = msg.header.frame_id.lstrip("/")
        if frame != self.frame_id():
            self.refused += 1
            if (robot, frame) not in self._frames_warned:
                self._frames_warned.add((robot, frame))
                log.warning(
                    "%s: external pose in frame %r refused: publish it in %r (the world's frame_id)",
                    robot, frame, self.frame_id(),
                )  # fmt: skip
            return False
        p, q = msg.pose.position, msg.pose.orientation
        stamp = msg.header.stamp.sec + msg.header.stamp.nanosec * 1e-9
        if stamp <= 0.0 and not self._unstamped_warned:
            self._unstamped_warned = True
            log.warning("%s: external pose without a stamp: taken as measured when received", robot)
        ros_now = self.node.get_clock().now().nanoseconds * 1e-9
        return self.push(robot, p.x, p.y, yaw_of(q.x, q.y, q.z, q.w), fix_age(stamp, ros_now))

    def push(self, robot: RobotId, x: float, y: float, yaw: float, age: float) -> bool:
        """A fix of ``robot`` at map pose (x, y, yaw) measured ``age`` seconds ago."""
        if not all(math.isfinite(v) for v in (x, y, yaw)):
            self.refused += 1
            self.throttle.warning(f"nan:{robot}", "%s: external pose with a non-finite value dropped", robot)
            return False
        loc = self.fleet.localizer
        link = self.fleet.robots.links.get(robot)
        t = link.telemetry if link is not None else None
        if t is not None:  # anchor the fix to the newest odometry (the control loop reads it again each tick)
            loc.update_odometry(robot, Pose2D(t.x, t.y, t.yaw))
        used = loc.push_external(robot, Pose2D(x, y, (yaw + math.pi) % math.tau - math.pi), loc.clock.now() - age)
        if not used:
            why = "no odometry yet" if loc.odometry(robot) is None else f"{age:.3f}s old (max_age {loc.max_age}s)"
            self.throttle.warning(f"dropped:{robot}", "%s: external pose dropped: %s", robot, why)
        return used
