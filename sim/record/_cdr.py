"""Fast CDR (ROS 2's XCDR1, little endian) for the messages an episode recording holds: ``PoseStamped``,
``std_msgs/String`` and ``MarkerArray`` with its ``CUBE`` / ``DELETEALL`` markers.

The generic encoder and decoder of ``mcap_ros2`` walk the message definition field by field in Python (about
3 ms per 64-marker ``MarkerArray``): reading a 64-robot, 256-step recording back took a minute of CPU. These
functions write the same bytes (tests compare them with ``mcap_ros2``'s) with a few ``struct`` calls, and read back
only the fields a replay draws, so files stay standard ROS 2 MCAP that Foxglove and ``ros2 bag`` open.
"""

from __future__ import annotations

import struct
from typing import Any

HEADER = b"\x00\x01\x00\x00"  # CDR little endian, no options
_I = struct.Struct("<i")
_U = struct.Struct("<I")
_POSE = struct.Struct("<7d")
_STAMP = struct.Struct("<iI")


class _Out:
    """A CDR byte buffer: alignment counts from the end of the 4-byte encapsulation header."""

    __slots__ = ("b",)

    def __init__(self) -> None:
        self.b = bytearray(HEADER)

    def align(self, n: int) -> None:
        pad = -(len(self.b) - 4) % n
        if pad:
            self.b += b"\0" * pad

    def stamp(self, sec: int, nanosec: int) -> None:
        self.align(4)
        self.b += _STAMP.pack(sec, nanosec)

    def string(self, text: str) -> None:
        raw = text.encode()
        self.align(4)
        self.b += _U.pack(len(raw) + 1)
        self.b += raw
        self.b += b"\0"

    def u32(self, value: int) -> None:
        self.align(4)
        self.b += _U.pack(value)

    def i32s(self, *values: int) -> None:
        self.align(4)
        self.b += struct.pack(f"<{len(values)}i", *values)

    def f64s(self, *values: float) -> None:
        self.align(8)
        self.b += struct.pack(f"<{len(values)}d", *values)

    def f32s(self, *values: float) -> None:
        self.align(4)
        self.b += struct.pack(f"<{len(values)}f", *values)

    def byte(self, value: int) -> None:
        self.b.append(value)


def _header(out: _Out, header: dict[str, Any]) -> None:
    stamp = header["stamp"]
    out.stamp(stamp["sec"], stamp["nanosec"])
    out.string(header["frame_id"])


def encode_pose_stamped(message: dict[str, Any]) -> bytes:
    """``geometry_msgs/PoseStamped`` from the writer's dict (header, pose.position, pose.orientation)."""
    out = _Out()
    _header(out, message["header"])
    p, q = message["pose"]["position"], message["pose"]["orientation"]
    out.f64s(p["x"], p["y"], p["z"], q["x"], q["y"], q["z"], q["w"])
    return bytes(out.b)


_POSE_IN_WORLD = struct.Struct("<4siII6s6x7d")  # header, stamp, frame_id "world" (6 bytes with its NUL), pad, pose


def pose_in_world(sec: int, nanosec: int, x: float, y: float, z: float, qz: float, qw: float) -> bytes:
    """:func:`encode_pose_stamped` of a pose in frame ``world`` turned by a yaw (``qz``, ``qw``), in one pack."""
    return _POSE_IN_WORLD.pack(HEADER, sec, nanosec, 6, b"world\0", x, y, z, 0.0, 0.0, qz, qw)


def encode_string(message: dict[str, Any]) -> bytes:
    """``std_msgs/String``."""
    out = _Out()
    out.string(message["data"])
    return bytes(out.b)


def encode_image(message: dict[str, Any]) -> bytes:
    """``sensor_msgs/Image`` (header, height, width, encoding, is_bigendian, step, data)."""
    out = _Out()
    _header(out, message["header"])
    out.u32(message["height"])
    out.u32(message["width"])
    out.string(message["encoding"])
    out.byte(message["is_bigendian"])
    out.u32(message["step"])
    out.u32(len(message["data"]))
    out.b += message["data"]
    return bytes(out.b)


def _tail_block() -> bytes:
    """The bytes from ``frame_locked`` (false, at a 4-aligned offset) to ``text``: no points, colors, texture
    or uv coordinates; the same wherever a marker starts, since the alignment there is always known."""
    out = _Out()
    out.byte(0)  # frame_locked
    out.u32(0)  # points
    out.u32(0)  # colors
    out.string("")  # texture_resource
    out.stamp(0, 0)  # texture.header
    out.string("")
    out.string("")  # texture.format
    out.u32(0)  # texture.data
    out.u32(0)  # uv_coordinates
    return bytes(out.b[4:])


_TAIL = _tail_block()
_TAIL_LOCKED = b"\x01" + _TAIL[1:]
_IDS = struct.Struct("<3i")
_POSE_SCALE_COLOR_LIFETIME = struct.Struct("<10d4f8x")
_END = struct.Struct("<I1sxxxI1sxxxIx")  # mesh_resource "", mesh_file.filename "", mesh_file.data [], embedded: false


def _marker(
    out: _Out,
    sec: int,
    nanosec: int,
    ns: str,
    ids: tuple[int, int, int],
    pose_scale: tuple[float, ...],
    rgba: tuple[float, ...],
    text: str,
    locked: bool,
) -> None:
    """One marker (no points, colors, texture or mesh) in a few packs."""
    out.stamp(sec, nanosec)
    out.string("world")
    out.string(ns)
    out.align(4)
    out.b += _IDS.pack(*ids)
    out.align(8)
    out.b += _POSE_SCALE_COLOR_LIFETIME.pack(*pose_scale, *rgba)
    out.b += _TAIL_LOCKED if locked else _TAIL
    out.string(text)
    out.align(4)
    out.b += _END.pack(1, b"", 1, b"", 0)


def _marker_of(out: _Out, m: dict[str, Any]) -> None:
    zero3 = {"x": 0.0, "y": 0.0, "z": 0.0}
    stamp = m["header"]["stamp"]
    if m["header"]["frame_id"] != "world":
        raise ValueError("encode_marker_array writes markers in frame 'world'")
    pose = m.get("pose", {})
    p = pose.get("position", zero3)
    q = pose.get("orientation", {"x": 0.0, "y": 0.0, "z": 0.0, "w": 1.0})
    s = m.get("scale", zero3)
    c = m.get("color", {"r": 0.0, "g": 0.0, "b": 0.0, "a": 0.0})
    _marker(
        out,
        stamp["sec"],
        stamp["nanosec"],
        m.get("ns", ""),
        (m.get("id", 0), m.get("type", 0), m.get("action", 0)),
        (p["x"], p["y"], p["z"], q["x"], q["y"], q["z"], q["w"], s["x"], s["y"], s["z"]),
        (c["r"], c["g"], c["b"], c["a"]),
        m.get("text", ""),
        bool(m.get("frame_locked", False)),
    )


def cube_markers(sec: int, nanosec: int, ns: str, items: list[Any]) -> bytes:
    """:func:`encode_marker_array` of a DELETEALL then one CUBE per scene item (``pos``, ``size``, ``rgba``,
    ``key`` as its text), ids from 1, straight from the items."""
    out = _Out()
    out.u32(len(items) + 1)
    zero = (0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0)  # a still pose: orientation w = 1, as defaulted
    _marker(out, sec, nanosec, ns, (0, 0, 3), zero, (0.0, 0.0, 0.0, 0.0), "", False)
    for k, item in enumerate(items):
        x, y, z = item.pos
        sx, sy, sz = item.size
        _marker(
            out, sec, nanosec, ns, (k + 1, 1, 0), (x, y, z, 0.0, 0.0, 0.0, 1.0, sx, sy, sz), item.rgba, item.key, False
        )
    return bytes(out.b)


def encode_marker_array(message: dict[str, Any]) -> bytes:
    """``visualization_msgs/MarkerArray`` of markers with header, ns, id, type, action, pose, scale, color, text
    and frame_locked (every other field empty: no points, colors, texture, mesh)."""
    for m in message["markers"]:
        if m.get("points") or m.get("colors") or m.get("uv_coordinates") or m.get("mesh_resource"):
            raise ValueError("encode_marker_array writes markers without points, colors, textures or meshes")
    out = _Out()
    out.u32(len(message["markers"]))
    for m in message["markers"]:
        _marker_of(out, m)
    return bytes(out.b)


class _In:
    """A CDR reader over ``data`` (alignment from the end of the encapsulation header)."""

    __slots__ = ("d", "i")

    def __init__(self, data: bytes) -> None:
        if data[:2] != HEADER[:2]:
            raise ValueError(f"not little-endian CDR (encapsulation {data[:2].hex()})")
        self.d = data
        self.i = 4

    def align(self, n: int) -> None:
        self.i += -(self.i - 4) % n

    def u32(self) -> int:
        self.align(4)
        (v,) = _U.unpack_from(self.d, self.i)
        self.i += 4
        return v

    def skip_string(self) -> None:
        n = self.u32()  # not ``self.i += self.u32()``: that adds to the position before the length was read
        self.i += n

    def string(self) -> str:
        n = self.u32()
        text = self.d[self.i : self.i + n - 1].decode()
        self.i += n
        return text

    def skip_bytes(self) -> None:
        n = self.u32()
        self.i += n

    def skip_seq(self, size: int, align: int) -> None:
        n = self.u32()
        if n:
            self.align(align)
            self.i += n * size

    def unpack(self, fmt: struct.Struct, align: int) -> tuple[Any, ...]:
        self.align(align)
        values = fmt.unpack_from(self.d, self.i)
        self.i += fmt.size
        return values


def decode_pose(data: bytes) -> tuple[float, ...]:
    """``PoseStamped`` bytes -> ``(x, y, z, qx, qy, qz, qw)``."""
    r = _In(data)
    r.i += 8  # stamp
    r.skip_string()
    return r.unpack(_POSE, 8)


def decode_string(data: bytes) -> str:
    """``std_msgs/String`` bytes -> its text."""
    return _In(data).string()


_MARKER_HEAD = struct.Struct("<3i")
_MARKER_POSE = struct.Struct("<10d")
_COLOR = struct.Struct("<4f")


def decode_marker_items(data: bytes) -> list[tuple[float, float, float, float, tuple[float, float, float, float]]]:
    """``MarkerArray`` bytes -> ``(x, y, scale x, scale y, rgba)`` of each marker whose action is ADD."""
    r = _In(data)
    items = []
    for _ in range(r.u32()):
        r.align(4)
        r.i += 8  # header.stamp
        r.skip_string()  # header.frame_id
        r.skip_string()  # ns
        _, _, action = r.unpack(_MARKER_HEAD, 4)
        x, y, _, _, _, _, _, sx, sy, _ = r.unpack(_MARKER_POSE, 8)
        rgba = r.unpack(_COLOR, 4)
        r.i += 8  # lifetime (the color ends 4-aligned)
        r.i += 1  # frame_locked
        r.skip_seq(24, 8)  # points
        r.skip_seq(16, 4)  # colors
        r.skip_string()  # texture_resource
        r.align(4)
        r.i += 8  # texture.header.stamp
        r.skip_string()
        r.skip_string()  # texture.format
        r.skip_bytes()  # texture.data
        r.skip_seq(8, 4)  # uv_coordinates
        r.skip_string()  # text
        r.skip_string()  # mesh_resource
        r.skip_string()  # mesh_file.filename
        r.skip_bytes()  # mesh_file.data
        r.i += 1  # mesh_use_embedded_materials
        if action == 0:
            items.append((x, y, sx, sy, (rgba[0], rgba[1], rgba[2], rgba[3])))
    return items
