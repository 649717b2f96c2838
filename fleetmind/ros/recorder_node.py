"""``fleetmind_recorder``: writes the fleet topics to a rosbag2 in MCAP format (what ``ros2 bag record -s mcap``
would write; it opens in Foxglove and reads back with ``rosbags``). Messages are stored as received
(serialized CDR, ``raw=True`` subscriptions): no decode, no re-encode.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from rclpy.node import Node

from fleetmind.ros import common as rc

log = logging.getLogger(__name__)


class RecorderParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    path: str = Field("", min_length=1, description="Output folder of the rosbag2 (must not exist yet).")
    robots: list[str] = Field(default_factory=list, description="Robots whose odom/task_state/command to record.")
    expect_nodes: list[str] = Field(
        default_factory=list,
        description="Fully qualified nodes to discover before joining the world's start gate (the node graph).",
    )
    discovery_timeout_s: float = Field(30.0, gt=0, description="Join the start gate anyway after this long.")


def fleet_topics(robots: list[str]) -> list[tuple[str, str, bool]]:
    """``(topic, ROS type, latched)`` of everything recorded."""
    topics = [
        (rc.STATE_TOPIC, "std_msgs/msg/String", True),
        (rc.MARKERS_TOPIC, "visualization_msgs/msg/MarkerArray", False),
        (rc.PLAN_TOPIC, "std_msgs/msg/String", True),
        (rc.DIALOGUE_TOPIC, "std_msgs/msg/String", True),
        (rc.ROSTER_TOPIC, "std_msgs/msg/String", True),
        (rc.DIAGNOSTICS_TOPIC, "diagnostic_msgs/msg/DiagnosticArray", False),
    ]
    for r in robots:
        topics += [
            (rc.robot_topic(r, rc.ODOM), "nav_msgs/msg/Odometry", False),
            (rc.robot_topic(r, rc.TASK_STATE), "std_msgs/msg/String", True),
            (rc.robot_topic(r, rc.COMMAND), "std_msgs/msg/String", True),
        ]
    return topics


TF_BAG_TOPICS = ((False, "/tf"), (True, "/tf_static"))
"""(static, topic in the bag) of the transforms."""


def _msg_class(ros_type: str) -> Any:
    package, _, name = ros_type.split("/")
    module = __import__(f"{package}.msg", fromlist=[name])
    return getattr(module, name)


class RecorderNode(Node):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__("recorder", **kwargs)
        from rosbags.rosbag2 import StoragePlugin, Writer
        from rosbags.typesys import Stores, get_typestore

        self.params = rc.declare_model_parameters(self, RecorderParams)
        typestore = get_typestore(Stores.ROS2_JAZZY)
        try:
            self.writer = Writer(self.params.path, version=9, storage_plugin=StoragePlugin.MCAP)
            self.writer.open()
        except Exception as exc:  # rosbags raises its own WriterError, e.g. for an existing folder
            raise rc.ParameterError(f"parameter path: cannot write a bag at {self.params.path}: {exc}") from None
        self.counts: dict[str, int] = {}
        robots = self.params.robots or []
        self._subs: list[tuple[str, Any]] = []
        self._state: tuple[Any, Any] | None = None
        for topic, ros_type, latched in fleet_topics(robots):
            # per-robot names are relative (a pushed namespace applies); the bag names them from the graph's root
            name = topic if topic.startswith("/") else f"/{topic}"
            conn = self.writer.add_connection(name, ros_type, typestore=typestore)
            if topic == rc.STATE_TOPIC:
                self._state = (conn, ros_type)  # subscribed last: it is what the world's start gate counts
                continue
            qos = rc.latched_qos(50) if latched else 50
            sub = self.create_subscription(
                _msg_class(ros_type), topic, lambda data, c=conn, t=name: self.write(c, t, data), qos, raw=True
            )
            self._subs.append((topic, sub))
        self._add_tf(typestore)
        self.get_logger().info(f"recording {len(fleet_topics(robots)) + 2} topics to {self.params.path} (MCAP)")
        self._since = rc.now_s()
        self._gate = self.create_timer(0.1, self._join_when_discovered)

    def _add_tf(self, typestore: Any) -> None:
        """``/tf`` and ``/tf_static``: recorded as they are where ``tf2_msgs`` exists, else written from the world's
        ``fleetmind/tf/1`` documents (the same transforms, serialized as ``tf2_msgs/TFMessage`` here)."""
        from std_msgs.msg import String

        from fleetmind.ros import tf

        kind = "tf2_msgs/msg/TFMessage"
        conns = {static: self.writer.add_connection(t, kind, typestore=typestore) for static, t in TF_BAG_TOPICS}
        msg_type = tf.tf_message_type()
        if msg_type is not None:
            for static, topic in TF_BAG_TOPICS:
                qos = rc.latched_qos(50) if static else 100
                sub = self.create_subscription(
                    msg_type, topic, lambda d, c=conns[static], t=topic: self.write(c, t, d), qos, raw=True
                )
                self._subs.append((topic, sub))
            return
        self._tf_conns, self._typestore = conns, typestore
        sub = self.create_subscription(String, tf.TF_JSON_TOPIC, lambda m: self.on_tf_doc(m.data), rc.latched_qos(50))
        self._subs.append((tf.TF_JSON_TOPIC, sub))

    def on_tf_doc(self, text: str) -> None:
        from fleetmind.ros import tf

        try:
            transforms, sec, nanosec, static = tf.from_doc(rc.parse_doc(text, "fleetmind/tf/1"))
        except (ValueError, KeyError, TypeError) as exc:
            self.get_logger().warning(f"malformed tf document dropped: {exc}")
            return
        types = self._typestore.types
        header = types["std_msgs/msg/Header"]
        stamp = types["builtin_interfaces/msg/Time"](sec=sec, nanosec=nanosec)
        items = []
        for t in transforms:
            q = types["geometry_msgs/msg/Quaternion"](*t.quaternion())
            v = types["geometry_msgs/msg/Vector3"](x=t.x, y=t.y, z=t.z)
            items.append(
                types["geometry_msgs/msg/TransformStamped"](
                    header=header(stamp=stamp, frame_id=t.parent),
                    child_frame_id=t.child,
                    transform=types["geometry_msgs/msg/Transform"](translation=v, rotation=q),
                )
            )
        data = self._typestore.serialize_cdr(
            types["tf2_msgs/msg/TFMessage"](transforms=items), "tf2_msgs/msg/TFMessage"
        )
        self.write(self._tf_conns[static], "/tf_static" if static else "/tf", bytes(data))

    def _discovered(self) -> bool:
        """Every expected node is in the graph and every publisher the graph shows on a recorded topic is
        matched, so a short episode cannot finish before the recorder hears its publishers."""
        names = {f"{ns.rstrip('/')}/{n}" for n, ns in self.get_node_names_and_namespaces()}
        if not set(self.params.expect_nodes) <= names:
            return False
        return all(sub.get_publisher_count() >= self.count_publishers(topic) for topic, sub in self._subs)

    def _join_when_discovered(self) -> None:
        if not self._discovered():
            if rc.now_s() - self._since < self.params.discovery_timeout_s:
                return
            self.get_logger().warning("not every node was discovered in time; recording what can be heard")
        self.destroy_timer(self._gate)
        assert self._state is not None
        conn, ros_type = self._state
        self.create_subscription(
            _msg_class(ros_type),
            rc.STATE_TOPIC,
            lambda data: self.write(conn, rc.STATE_TOPIC, data),
            rc.latched_qos(50),
            raw=True,
        )

    def write(self, connection: Any, topic: str, data: bytes) -> None:
        self.writer.write(connection, self.get_clock().now().nanoseconds, data)
        self.counts[topic] = self.counts.get(topic, 0) + 1

    def destroy_node(self) -> None:
        self.writer.close()
        log.info("bag closed: %d messages on %d topics", sum(self.counts.values()), len(self.counts))
        super().destroy_node()


def main() -> None:
    from fleetmind.ros.world_node import run_node

    sys.exit(run_node(RecorderNode))


if __name__ == "__main__":
    main()
