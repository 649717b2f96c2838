"""tf for every robot: ``map -> <robot>/odom -> <robot>/base_link`` (REP 105 with one prefix per robot).

``map -> <robot>/odom`` is where the robot's odometry started in the shared map (static: ``tf_static``);
``<robot>/odom -> <robot>/base_link`` is its odometry pose (``tf``). In simulation the odometry frame of every
robot is the map itself (identity), on real robots its start pose from the scenario.

The frames and transforms are pure (:func:`robot_transforms`, :func:`tree`); :class:`TfOut` publishes them as
``tf2_msgs/TFMessage`` on the relative topics ``tf`` and ``tf_static`` (so a pushed namespace applies) where
``tf2_msgs`` imports (a ROS install). The PyPI ROS wheels have no ``tf2_msgs``: there the same transforms go out as
``fleetmind/tf/1`` JSON on ``fleet/tf``, which the recorder writes to the bag as ``/tf`` and ``/tf_static``
(``tf2_msgs/TFMessage``), and every ``nav_msgs/Odometry`` names its frames.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

MAP = "map"
TF_TOPIC = "tf"
TF_STATIC_TOPIC = "tf_static"
TF_JSON_TOPIC = "fleet/tf"
"""Without ``tf2_msgs``: the same transforms as ``fleetmind/tf/1`` JSON (``std_msgs/String``), which the recorder
turns into ``/tf`` and ``/tf_static`` (``tf2_msgs/TFMessage``) in the bag, so recordings show the frames anyway."""


def odom_frame(robot: str) -> str:
    return f"{robot}/odom"


def base_frame(robot: str) -> str:
    return f"{robot}/base_link"


@dataclass(frozen=True)
class Transform:
    """``child``'s pose in ``parent``: translation (m) and yaw (rad); planar robots, so roll = pitch = 0."""

    parent: str
    child: str
    x: float = 0.0
    y: float = 0.0
    yaw: float = 0.0
    z: float = 0.0

    def quaternion(self) -> tuple[float, float, float, float]:
        """``(x, y, z, w)`` of the yaw rotation."""
        return (0.0, 0.0, math.sin(self.yaw / 2.0), math.cos(self.yaw / 2.0))


Pose2D = tuple[float, float, float]
"""``(x, y, yaw)`` in metres and radians."""


def compose(a: Pose2D, b: Pose2D) -> Pose2D:
    """Pose ``b`` (given in frame ``a``) expressed in ``a``'s parent: ``a * b``."""
    c, s = math.cos(a[2]), math.sin(a[2])
    yaw = math.atan2(math.sin(a[2] + b[2]), math.cos(a[2] + b[2]))
    return (a[0] + c * b[0] - s * b[1], a[1] + s * b[0] + c * b[1], yaw)


def static_transforms(origins: Mapping[str, Pose2D]) -> list[Transform]:
    """``map -> <robot>/odom`` for each robot, from where its odometry started in the map."""
    return [Transform(MAP, odom_frame(r), *origins[r]) for r in origins]


def robot_transforms(poses: Mapping[str, Pose2D]) -> list[Transform]:
    """``<robot>/odom -> <robot>/base_link`` for each robot, from its odometry pose."""
    return [Transform(odom_frame(r), base_frame(r), *poses[r]) for r in poses]


def tree(transforms: Iterable[Transform]) -> dict[str, str]:
    """``{child: parent}``; ``ValueError`` when a frame has two parents or the frames form a cycle."""
    parents: dict[str, str] = {}
    for t in transforms:
        if parents.get(t.child, t.parent) != t.parent:
            raise ValueError(f"frame {t.child!r} has two parents: {parents[t.child]!r} and {t.parent!r}")
        parents[t.child] = t.parent
    for frame in parents:
        seen = {frame}
        while frame in parents:
            frame = parents[frame]
            if frame in seen:
                raise ValueError(f"tf cycle through {frame!r}")
            seen.add(frame)
    return parents


def chain(parents: Mapping[str, str], frame: str) -> list[str]:
    """``frame`` and its ancestors up to the root: ``["robot_0/base_link", "robot_0/odom", "map"]``."""
    out = [frame]
    while out[-1] in parents:
        out.append(parents[out[-1]])
    return out


def to_msgs(transforms: Sequence[Transform], stamp: Any) -> list[Any]:
    """``geometry_msgs/TransformStamped`` of each transform, all at ``stamp``."""
    from geometry_msgs.msg import TransformStamped

    out = []
    for t in transforms:
        msg = TransformStamped()
        msg.header.stamp, msg.header.frame_id, msg.child_frame_id = stamp, t.parent, t.child
        tr = msg.transform.translation
        tr.x, tr.y, tr.z = float(t.x), float(t.y), float(t.z)
        q = msg.transform.rotation
        q.x, q.y, q.z, q.w = t.quaternion()
        out.append(msg)
    return out


def to_doc(transforms: Sequence[Transform], sec: int, nanosec: int, static: bool) -> dict[str, Any]:
    """The ``fleetmind/tf/1`` document of one batch of transforms."""
    items = [{"parent": t.parent, "child": t.child, "x": t.x, "y": t.y, "z": t.z, "yaw": t.yaw} for t in transforms]
    return {"schema": "fleetmind/tf/1", "stamp": [sec, nanosec], "static": static, "transforms": items}


def from_doc(doc: Mapping[str, Any]) -> tuple[list[Transform], int, int, bool]:
    """``(transforms, sec, nanosec, static)`` of a ``fleetmind/tf/1`` document; ``KeyError`` / ``TypeError`` /
    ``ValueError`` when it is malformed."""
    sec, nanosec = (int(v) for v in doc["stamp"])
    items = [
        Transform(str(t["parent"]), str(t["child"]), float(t["x"]), float(t["y"]), float(t["yaw"]), float(t["z"]))
        for t in doc["transforms"]
    ]
    return items, sec, nanosec, bool(doc["static"])


def tf_message_type() -> Any:
    """``tf2_msgs.msg.TFMessage``, or ``None`` where ``tf2_msgs`` is not installed (the PyPI wheels)."""
    try:
        from tf2_msgs.msg import TFMessage
    except ImportError:
        return None
    return TFMessage


class TfOut:
    """Publishes transforms of one node: :meth:`static` once (latched ``tf_static``), :meth:`dynamic` often.

    ``last`` keeps what was last sent (static and dynamic), so that tests and nodes without ``tf2_msgs`` can
    see the tree all the same."""

    def __init__(self, node: Any) -> None:
        from fleetmind.ros.common import latched_qos

        self.node = node
        self.static_sent: list[Transform] = []
        self.last: list[Transform] = []
        msg_type = tf_message_type()
        self.msg_type = msg_type
        self.json_pub: Any = None
        if msg_type is None:
            log.info(
                "tf2_msgs is not installed (no PyPI wheel): tf goes out as fleetmind/tf/1 JSON on %s (the recorder "
                "writes it to /tf in bags); odometry carries the frames",
                TF_JSON_TOPIC,
            )
            from std_msgs.msg import String

            self.pub = self.static_pub = None
            self.json_pub = node.create_publisher(String, TF_JSON_TOPIC, latched_qos(10))
            return
        self.pub = node.create_publisher(msg_type, TF_TOPIC, 100)
        self.static_pub = node.create_publisher(msg_type, TF_STATIC_TOPIC, latched_qos())

    def _json(self, transforms: Sequence[Transform], stamp: Any, static: bool) -> None:
        from std_msgs.msg import String

        from fleetmind.ros.common import dumps

        self.json_pub.publish(String(data=dumps(to_doc(transforms, stamp.sec, stamp.nanosec, static))))

    def static(self, transforms: Sequence[Transform], stamp: Any) -> None:
        self.static_sent = list(transforms)
        if self.static_pub is not None:
            self.static_pub.publish(self.msg_type(transforms=to_msgs(transforms, stamp)))
        elif self.json_pub is not None:
            self._json(transforms, stamp, True)

    def dynamic(self, transforms: Sequence[Transform], stamp: Any) -> None:
        self.last = list(transforms)
        if self.pub is not None:
            self.pub.publish(self.msg_type(transforms=to_msgs(transforms, stamp)))
        elif self.json_pub is not None:
            self._json(transforms, stamp, False)

    def current(self) -> list[Transform]:
        """Every transform last sent, static ones first."""
        return [*self.static_sent, *self.last]
