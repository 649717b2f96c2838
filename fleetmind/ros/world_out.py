"""What the world node publishes about where robots are: ``/<robot>/odom``, tf, ``/clock`` and the markers.

Poses by backend (:func:`frame_poses`): the real-robot executor gives each robot's odometry and its
``map <- odom`` transform (start pose, then external fixes); PyBullet gives the physics pose (odometry frame =
map); the grid world the centre of the robot's cell, facing +x. Odometry is stamped with simulated time where the
world has it (PyBullet's ``sim_time``, also sent on ``/clock`` for nodes with ``use_sim_time``), else the node
clock. Frames: ``map -> <robot>/odom -> <robot>/base_link`` (:mod:`fleetmind.ros.tf`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from fleetmind.firmware_bridge.executor import ExecutorFleet
from fleetmind.robots.fleet import Fleet, Observation
from fleetmind.robots.ids import RobotId
from fleetmind.ros import common as rc
from fleetmind.ros import tf

_COLOURS = {"blue": (0.1, 0.3, 1.0), "red": (1.0, 0.1, 0.1), "green": (0.1, 0.8, 0.2), "purple": (0.6, 0.2, 0.8)}
IDENTITY: tf.Pose2D = (0.0, 0.0, 0.0)
FramePoses = dict[RobotId, tuple[tf.Pose2D, tf.Pose2D]]
"""Per robot: (``map <- <robot>/odom``, pose in ``<robot>/odom``)."""


def frame_poses(fleet: Fleet, obs: Observation, cell_size: float) -> FramePoses:
    """Each robot's odometry origin in the map and its odometry pose, from whatever the backend knows."""
    if isinstance(fleet, ExecutorFleet):
        loc = fleet.localizer
        out: FramePoses = {}
        for r in fleet.robot_ids:
            odom = loc.odometry(r)
            out[r] = (loc.map_from_odom(r).as_tuple(), odom.as_tuple() if odom is not None else IDENTITY)
        return out
    physics = getattr(fleet, "poses", None)  # PyBulletFleet.poses(): the physics pose now
    if callable(physics):
        return {RobotId(r): (IDENTITY, p) for r, p in physics().items()}
    return {r: (IDENTITY, (*rc.grid_xy(obs, r, cell_size), 0.0)) for r in obs.robots}


def sim_time(obs: Observation | None) -> float | None:
    t = obs.world.get("sim_time") if obs is not None else None
    return float(t) if isinstance(t, (int, float)) else None


class WorldOut:
    """Publishers of one world node: odometry per robot, tf, ``/clock`` (only once simulated time is seen)."""

    def __init__(self, node: Any, robots: tuple[RobotId, ...], map_frame: str = tf.MAP, odometry: bool = True) -> None:
        """``odometry=False``: real robots, whose bridges publish ``/<robot>/odom`` themselves (the world only
        reads it; publishing there too would feed the world its own stale poses)."""
        from nav_msgs.msg import Odometry
        from rosgraph_msgs.msg import Clock

        self.node = node
        self.robots = robots
        self.map_frame = map_frame
        topics = {r: rc.robot_topic(r, rc.ODOM) for r in robots} if odometry else {}
        self.odom_pubs = {r: node.create_publisher(Odometry, topic, 10) for r, topic in topics.items()}
        self.clock_pub = node.create_publisher(Clock, rc.CLOCK_TOPIC, 10)
        self.tf = tf.TfOut(node)
        self.origins: dict[RobotId, tf.Pose2D] = {}
        self.published = 0

    def stamp(self, t_sim: float | None) -> Any:
        if t_sim is None:
            return self.node.get_clock().now().to_msg()
        from builtin_interfaces.msg import Time

        sec, nanosec = divmod(round(t_sim * 1e9), 1_000_000_000)
        return Time(sec=int(sec), nanosec=int(nanosec))

    def publish(self, poses: Mapping[RobotId, tuple[tf.Pose2D, tf.Pose2D]], t_sim: float | None) -> None:
        """Odometry of every robot and its tf at one instant (and ``/clock`` when ``t_sim`` is simulated time)."""
        stamp = self.stamp(t_sim)
        if t_sim is not None:
            from rosgraph_msgs.msg import Clock

            self.clock_pub.publish(Clock(clock=stamp))
        origins = {r: o for r, (o, _) in poses.items()}
        if origins != self.origins:  # map -> <robot>/odom: latched, sent again when a fix moves it
            self.origins = dict(origins)
            self.tf.static([tf.Transform(self.map_frame, tf.odom_frame(r), *o) for r, o in origins.items()], stamp)
        self.tf.dynamic(tf.robot_transforms({r: p for r, (_, p) in poses.items()}), stamp)
        for r, (_, pose) in poses.items():
            if r in self.odom_pubs:
                self.odom_pubs[r].publish(self.odometry(r, pose, stamp))
        self.published += 1

    @staticmethod
    def odometry(robot: RobotId, pose: tf.Pose2D, stamp: Any) -> Any:
        from nav_msgs.msg import Odometry

        msg = Odometry()
        msg.header.stamp = stamp
        msg.header.frame_id = tf.odom_frame(robot)
        msg.child_frame_id = tf.base_frame(robot)
        msg.pose.pose.position.x, msg.pose.pose.position.y = float(pose[0]), float(pose[1])
        msg.pose.pose.orientation.z = math.sin(pose[2] / 2.0)
        msg.pose.pose.orientation.w = math.cos(pose[2] / 2.0)
        return msg


def markers(obs: Observation, robots: tuple[RobotId, ...], frame: str, size: float, stamp: Any) -> Any:
    """A ``MarkerArray``: robots (cylinders, labels), boxes and targets of the grid world, in ``frame``."""
    from visualization_msgs.msg import Marker, MarkerArray

    out = MarkerArray()
    clear = Marker(action=Marker.DELETEALL)
    clear.header.frame_id = frame
    out.markers.append(clear)

    def add(ns: str, idx: int, kind: int, x: float, y: float, rgb: tuple[float, float, float], text: str = "") -> None:
        m = Marker(ns=ns, id=idx, type=kind, action=Marker.ADD, text=text)
        m.header.frame_id, m.header.stamp = frame, stamp
        m.pose.position.x, m.pose.position.y, m.pose.orientation.w = x, y, 1.0
        m.scale.x = m.scale.y = m.scale.z = 0.25 * size
        m.color.r, m.color.g, m.color.b = rgb
        m.color.a = 1.0
        out.markers.append(m)

    for i, r in enumerate(robots):
        x, y = rc.grid_xy(obs, r, size)
        add("robots", i, Marker.CYLINDER, x, y, (0.5, 0.5, 0.5))
        add("labels", i, Marker.TEXT_VIEW_FACING, x, y + 0.3 * size, (1.0, 1.0, 1.0), r)
    for ns, kind, offset in (("boxes", Marker.CUBE, -0.25), ("targets", Marker.SPHERE, 0.25)):
        for i, item in enumerate(obs.world.get(ns, []) or []):
            if isinstance(item, (list, tuple)) and len(item) >= 3 and isinstance(item[2], str):
                rgb = _COLOURS.get(item[2], (1.0, 0.6, 0.0))
                add(ns, i, kind, (item[1] + 0.5 + offset) * size, (item[0] + 0.5 + offset) * size, rgb)
    return out
