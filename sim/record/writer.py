"""Write an episode to MCAP with ROS 2 message schemas, so it opens in Foxglove.

Topics: ``/<robot>/pose`` (``geometry_msgs/PoseStamped``, frame ``world``), ``/boxes`` and ``/targets``
(``visualization_msgs/MarkerArray``, every box / pad as a CUBE, DELETEALL first so removed items vanish;
written when they change),
``/<robot>/camera/image_raw`` (``sensor_msgs/Image``, rgb8) when cameras are on, ``/plan`` and
``/metrics`` (``std_msgs/String`` with JSON) once per task step, ``/episode`` (JSON: scenario, seed); for backends
with odometry (real robots) ``/tf`` (``map -> <robot>/odom -> <robot>/base_link``) and ``/<robot>/odom``
(``nav_msgs/Odometry``).
Times are simulated seconds since the episode started. Messages are encoded by :mod:`fleetmind.sim.record._cdr`
(the same bytes as ``mcap_ros2``'s generic encoder, in a fraction of its time), chunked and zstd-compressed as
``mcap_ros2``'s writer does.

An episode is written to ``<name>.mcap.part`` and renamed to ``<name>.mcap`` when it is closed, so a process that
is killed mid-episode leaves a ``.part`` file, never a 0-byte or footer-less ``.mcap``.
"""

from __future__ import annotations

import functools
import json
import math
import os
from pathlib import Path
from typing import Any

import numpy as np
from fleetmind.robots.scene import Item, Scene
from fleetmind.sim.record._cdr import (
    cube_markers,
    encode_image,
    encode_marker_array,
    encode_pose_stamped,
    encode_string,
    pose_in_world,
)
from fleetmind.sim.record.schemas import msgdef, schema_name
from mcap.well_known import SchemaEncoding
from mcap.writer import CompressionType
from mcap.writer import Writer as McapWriter
from mcap_ros2.writer import _library_identifier

TYPES = (
    "geometry_msgs/PoseStamped",
    "visualization_msgs/MarkerArray",
    "sensor_msgs/Image",
    "std_msgs/String",
)
LATER_TYPES = ("tf2_msgs/TFMessage", "nav_msgs/Odometry")
"""Registered on first use (only backends with odometry write them)."""


def _stamp(t: float) -> dict[str, int]:
    ns = int(round(t * 1e9))
    return {"sec": ns // 1_000_000_000, "nanosec": ns % 1_000_000_000}


def _header(t: float, frame: str = "world") -> dict[str, Any]:
    return {"stamp": _stamp(t), "frame_id": frame}


def _quat(yaw: float) -> dict[str, float]:
    return {"x": 0.0, "y": 0.0, "z": math.sin(yaw / 2), "w": math.cos(yaw / 2)}


_ENCODE = {
    "geometry_msgs/PoseStamped": encode_pose_stamped,
    "visualization_msgs/MarkerArray": encode_marker_array,
    "sensor_msgs/Image": encode_image,
    "std_msgs/String": encode_string,
}


@functools.cache
def _generic_encoder(kind: str) -> Any:
    """mcap_ros2's generic CDR encoder of ``kind`` (for the types without a fast one: /tf, odometry)."""
    from mcap_ros2._dynamic import serialize_dynamic

    return serialize_dynamic(schema_name(kind), msgdef(kind))[schema_name(kind)]


PARTIAL_SUFFIX = ".part"
"""Appended to a recording's name while its episode is being written."""


def markers_message(items: list[Item], ns: str, t: float) -> dict[str, Any]:
    """The ``MarkerArray`` the writer records for ``items`` as a message dict (DELETEALL, then one CUBE per item):
    what :func:`fleetmind.sim.record._cdr.cube_markers` encodes directly, for the generic encoder and tests."""
    markers = [{"header": _header(t), "ns": ns, "id": 0, "action": 3}]  # DELETEALL
    for k, item in enumerate(items):
        r, g, b, a = item.rgba
        markers.append(
            {
                "header": _header(t),
                "ns": ns,
                "id": k + 1,
                "type": 1,  # CUBE
                "action": 0,
                "pose": {"position": dict(zip("xyz", item.pos, strict=True)), "orientation": _quat(0.0)},
                "scale": dict(zip("xyz", item.size, strict=True)),
                "color": {"r": r, "g": g, "b": b, "a": a},
                "text": item.key,
                "frame_locked": False,
            }
        )
    return {"markers": markers}


class EpisodeWriter:
    """One MCAP file; ``t`` arguments are simulated seconds (written as nanosecond log times). Written under
    :attr:`partial` and renamed to :attr:`path` by :meth:`close`."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.partial = path.with_name(path.name + PARTIAL_SUFFIX)
        self._file = self.partial.open("wb")
        self._writer = McapWriter(self._file, chunk_size=1024 * 1024, compression=CompressionType.ZSTD)
        self._writer.start(profile="ros2", library=_library_identifier())  # as mcap_ros2's own writer starts
        self._schemas = {
            name: self._writer.register_schema(schema_name(name), SchemaEncoding.ROS2, msgdef(name).encode())
            for name in TYPES
        }
        self._seq = 0
        self._last: dict[str, tuple[Any, ...]] = {}
        self._channels: dict[str, int] = {}

    def _write(self, topic: str, kind: str, message: dict[str, Any], t: float) -> None:
        ns = int(round(t * 1e9))
        if kind not in self._schemas:  # LATER_TYPES: registered on first use
            self._schemas[kind] = self._writer.register_schema(
                schema_name(kind), SchemaEncoding.ROS2, msgdef(kind).encode()
            )
        self._seq += 1
        channel = self._channels.get(topic)
        if channel is None:
            channel = self._writer.register_channel(topic, "cdr", self._schemas[kind])
            self._channels[topic] = channel
        data = _ENCODE[kind](message) if kind in _ENCODE else _generic_encoder(kind)(message)
        self._writer.add_message(channel_id=channel, log_time=ns, publish_time=ns, sequence=self._seq, data=data)

    def scene(self, scene: Scene) -> None:
        t = scene.t
        ns = int(round(t * 1e9))
        sec, nanosec = divmod(ns, 1_000_000_000)
        for robot, (x, y, z, yaw) in scene.robots.items():  # packed straight from the tuple: no message dicts
            topic = f"/{robot}/pose"
            channel = self._channels.get(topic)
            if channel is None:
                channel = self._writer.register_channel(topic, "cdr", self._schemas["geometry_msgs/PoseStamped"])
                self._channels[topic] = channel
            self._seq += 1
            data = pose_in_world(sec, nanosec, x, y, z, math.sin(yaw / 2), math.cos(yaw / 2))
            self._writer.add_message(channel_id=channel, log_time=ns, publish_time=ns, sequence=self._seq, data=data)
        for topic, items in (("/boxes", scene.boxes), ("/targets", scene.targets)):
            key = tuple((i.key, round(i.pos[0], 4), round(i.pos[1], 4), round(i.pos[2], 4), i.count) for i in items)
            if self._last.get(topic) != key:  # markers only when something changed (Foxglove keeps the last)
                self._last[topic] = key
                channel = self._channels.get(topic)
                if channel is None:
                    kind = self._schemas["visualization_msgs/MarkerArray"]
                    channel = self._channels[topic] = self._writer.register_channel(topic, "cdr", kind)
                self._seq += 1
                data = cube_markers(sec, nanosec, topic[1:], items)  # = encode_marker_array(markers_message(...))
                self._writer.add_message(
                    channel_id=channel, log_time=ns, publish_time=ns, sequence=self._seq, data=data
                )

    def image(self, robot: str, rgb: np.ndarray, t: float) -> None:
        h, w, _ = rgb.shape
        msg = {
            "header": _header(t),
            "height": h,
            "width": w,
            "encoding": "rgb8",
            "is_bigendian": 0,
            "step": 3 * w,
            "data": rgb.astype(np.uint8).tobytes(),
        }
        self._write(f"/{robot}/camera/image_raw", "sensor_msgs/Image", msg, t)

    def tf(self, transforms: list[tuple[str, str, tuple[float, float, float]]], t: float) -> None:
        """``/tf`` (``tf2_msgs/TFMessage``): each ``(parent, child, (x, y, yaw))`` as one planar transform."""
        msgs = [
            {
                "header": _header(t, parent),
                "child_frame_id": child,
                "transform": {"translation": {"x": x, "y": y, "z": 0.0}, "rotation": _quat(yaw)},
            }
            for parent, child, (x, y, yaw) in transforms
        ]
        self._write("/tf", "tf2_msgs/TFMessage", {"transforms": msgs}, t)

    def odometry(self, robot: str, pose: tuple[float, float, float], v: float, w: float, t: float) -> None:
        """``/<robot>/odom`` (``nav_msgs/Odometry``): the pose in ``<robot>/odom``, the body twist in
        ``<robot>/base_link`` (the map-frame pose follows with ``/tf``'s ``map -> <robot>/odom``)."""
        x, y, yaw = pose
        zero = [0.0] * 36
        msg = {
            "header": _header(t, f"{robot}/odom"),
            "child_frame_id": f"{robot}/base_link",
            "pose": {"pose": {"position": {"x": x, "y": y, "z": 0.0}, "orientation": _quat(yaw)}, "covariance": zero},
            "twist": {
                "twist": {"linear": {"x": v, "y": 0.0, "z": 0.0}, "angular": {"x": 0.0, "y": 0.0, "z": w}},
                "covariance": zero,
            },
        }
        self._write(f"/{robot}/odom", "nav_msgs/Odometry", msg, t)

    def text(self, topic: str, data: Any, t: float) -> None:
        self._write(topic, "std_msgs/String", {"data": json.dumps(data, sort_keys=True, default=str)}, t)

    def close(self) -> None:
        """Finish the MCAP (summary and footer) and give it its name."""
        if self._file.closed:
            return
        self._writer.finish()
        self._file.close()
        os.replace(self.partial, self.path)
