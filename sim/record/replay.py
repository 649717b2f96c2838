"""Read an episode recording back (:func:`read_recording`) and draw it top-down as a GIF (:func:`write_gif`)."""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from fleetmind.robots.errors import BadInputError
from fleetmind.sim.record._cdr import decode_marker_items, decode_pose, decode_string

log = logging.getLogger(__name__)


class RecordingError(BadInputError):
    """A file that is not a readable fleetmind recording (one line: the path and why)."""


@dataclass
class ReplayFrame:
    """Everything drawn at simulated time ``t``: robots ``{name: (x, y, yaw)}``, boxes and targets as
    ``(x, y, sx, sy, rgba)``."""

    t: float
    robots: dict[str, tuple[float, float, float]] = field(default_factory=dict)
    boxes: list[tuple[float, float, float, float, tuple[float, float, float, float]]] | None = None
    targets: list[tuple[float, float, float, float, tuple[float, float, float, float]]] | None = None


@dataclass
class Recording:
    """A recording read back: frames in time order, the per-step metrics and plans, the episode info."""

    frames: list[ReplayFrame]
    metrics: list[dict[str, Any]]
    plans: list[dict[str, Any]]
    episode: dict[str, Any]
    images: int = 0

    def poses(self, robot: str) -> list[tuple[float, float, float, float]]:
        """``(t, x, y, yaw)`` of one robot over the episode."""
        return [(f.t, *f.robots[robot]) for f in self.frames if robot in f.robots]


def _yaw(qx: float, qy: float, qz: float, qw: float) -> float:
    return math.atan2(2 * (qw * qz + qx * qy), 1 - 2 * (qy * qy + qz * qz))


POSE = "geometry_msgs/msg/PoseStamped"
MARKERS = "visualization_msgs/msg/MarkerArray"
STRING = "std_msgs/msg/String"


MAGIC = b"\x89MCAP0\r\n"
"""The bytes an MCAP file starts and, once finished, ends with."""


def _unreadable(path: Path) -> str | None:
    """Why ``path`` cannot be an episode recording, from its size and MCAP markers (``None``: worth decoding)."""
    from fleetmind.sim.record.writer import PARTIAL_SUFFIX

    if path.is_dir():
        return "a folder, not a recording file"
    size = path.stat().st_size
    partial = path.name.endswith(PARTIAL_SUFFIX)
    killed = "the run that wrote it stopped before the episode ended (killed?); record the episode again"
    if size == 0:
        return f"empty file (0 bytes): {killed}"
    with path.open("rb") as f:
        head = f.read(len(MAGIC))
        f.seek(max(0, size - len(MAGIC)))
        tail = f.read(len(MAGIC))
    if head != MAGIC[: len(head)] or (len(head) == len(MAGIC) and head != MAGIC):
        return f"not an MCAP file (it does not start with the MCAP magic bytes; {size} bytes)"
    if partial or size < 2 * len(MAGIC) or tail != MAGIC:
        return f"unfinished MCAP ({size} bytes, no end marker): {killed}"
    return None


def read_recording(path: str | Path) -> Recording:
    """Read an episode recording; any file that is not one raises :class:`RecordingError` with the reason."""
    path = Path(path)
    if not path.exists():
        raise RecordingError(f"recording not found: {path}")
    try:
        problem = _unreadable(path)
    except OSError as exc:
        raise RecordingError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if problem:
        raise RecordingError(f"{path}: {problem}")
    frames: dict[int, ReplayFrame] = {}
    metrics: list[tuple[int, int, dict[str, Any]]] = []
    plans: list[tuple[int, int, dict[str, Any]]] = []
    episode: dict[str, Any] = {}
    images = 0
    from mcap.reader import make_reader

    try:
        with path.open("rb") as f:
            # raw records in file order, decoded by the fast CDR readers: mcap_ros2's generic decoder and the
            # log-time merge made a 64-robot, 256-step recording take a minute of CPU to read
            for k, (schema, channel, record) in enumerate(make_reader(f).iter_messages(log_time_order=False)):
                topic, ns = channel.topic, record.log_time
                kind = schema.name if schema is not None else ""
                if topic.endswith("/pose") and kind == POSE:
                    x, y, _, qx, qy, qz, qw = decode_pose(record.data)
                    frame = frames.setdefault(ns, ReplayFrame(ns / 1e9))
                    frame.robots[topic.split("/")[1]] = (x, y, _yaw(qx, qy, qz, qw))
                elif topic in ("/boxes", "/targets") and kind == MARKERS:
                    frame = frames.setdefault(ns, ReplayFrame(ns / 1e9))
                    setattr(frame, topic[1:], decode_marker_items(record.data))
                elif topic in ("/metrics", "/plan", "/episode") and kind == STRING:
                    doc = json.loads(decode_string(record.data))
                    if topic == "/episode":
                        episode = doc
                    else:
                        (metrics if topic == "/metrics" else plans).append((ns, k, doc))
                elif topic.endswith("/image_raw"):
                    images += 1
    except Exception as exc:  # noqa: BLE001 - a damaged file makes the decoders raise anything (zstd, lz4, struct)
        reason = " ".join(str(exc).split()) or "no detail"
        raise RecordingError(f"{path}: corrupt MCAP recording: {type(exc).__name__}: {reason}") from None
    boxes: list[Any] = []
    targets: list[Any] = []
    for _, f in sorted(frames.items()):  # markers are written when they change: carry them forward
        boxes = f.boxes if f.boxes is not None else boxes
        targets = f.targets if f.targets is not None else targets
        f.boxes, f.targets = boxes, targets
    ordered = [f for _, f in sorted(frames.items()) if f.robots]
    if not ordered:
        raise RecordingError(f"{path}: the recording holds no robot poses")
    in_time = [doc for *_, doc in sorted(metrics, key=lambda m: m[:2])]
    return Recording(ordered, in_time, [doc for *_, doc in sorted(plans, key=lambda m: m[:2])], episode, images)


def _rects(items: list[Any], alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """``(x, y, sx, sy, rgba)`` items -> ``(K, 4, 2)`` corner arrays and ``(K, 4)`` face colours."""
    if not items:
        return np.zeros((0, 4, 2)), np.zeros((0, 4))
    a = np.array([(x, y, sx, sy) for x, y, sx, sy, _ in items], dtype=float)
    corners = np.array([(-0.5, -0.5), (0.5, -0.5), (0.5, 0.5), (-0.5, 0.5)])
    verts = a[:, None, :2] + corners[None] * a[:, None, 2:4]
    colours = np.array([(*rgba[:3], alpha if alpha < 1 else rgba[3]) for *_, rgba in items], dtype=float)
    return verts, colours


def write_gif(recording: Recording, out: str | Path, max_frames: int = 120, fps: int = 10) -> Path:
    """A top-down animation of ``recording`` (robots as circles with a heading tick, boxes as squares, target pads
    shaded; names beside the robots when there are at most 32). The artists are made once and updated per frame
    (collections, not one patch per robot), so fleets of thousands draw in seconds."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.animation import FuncAnimation, PillowWriter
    from matplotlib.collections import EllipseCollection, LineCollection, PolyCollection

    frames = recording.frames
    if len(frames) > max_frames:
        stride = len(frames) / max_frames
        frames = [frames[int(i * stride)] for i in range(max_frames)] + [recording.frames[-1]]
    xs = [x for f in frames for x, _, _ in f.robots.values()] + [b[0] for f in frames for b in f.boxes + f.targets]
    ys = [y for f in frames for _, y, _ in f.robots.values()] + [b[1] for f in frames for b in f.boxes + f.targets]
    pad = 0.5
    fig, ax = plt.subplots(figsize=(5, 5), dpi=80)
    title = recording.episode.get("scenario", Path(out).stem)
    ax.set_xlim(min(xs) - pad, max(xs) + pad)
    ax.set_ylim(max(ys) + pad, min(ys) - pad)  # rows grow downwards, as in the grid
    ax.set_aspect("equal")
    ax.grid(True, linewidth=0.4, alpha=0.5)  # grid lines at the cell borders for 1 m cells
    ax.tick_params(labelbottom=False, labelleft=False, length=0)  # tick labels were most of each frame's time
    names = sorted({name for f in frames for name in f.robots})
    targets = PolyCollection(np.zeros((0, 4, 2)), linewidths=0)
    boxes = PolyCollection(np.zeros((0, 4, 2)), linewidths=0)
    ax.add_collection(targets)
    ax.add_collection(boxes)
    size = np.full(len(names), 0.24)
    bodies = EllipseCollection(
        size, size, np.zeros(len(names)), units="xy", offsets=np.zeros((len(names), 2)), offset_transform=ax.transData
    )
    bodies.set_facecolor((0.25, 0.25, 0.25, 0.8))
    ax.add_collection(bodies)
    ticks = LineCollection([], colors="white", linewidths=1.5)
    ax.add_collection(ticks)
    shown = names if len(names) <= 32 else []
    labels = [ax.text(0, 0, n.replace("robot_", "r"), fontsize=6, ha="center") for n in shown]

    def draw(k: int) -> None:
        f = frames[k]
        ax.set_title(f"{title}  t = {f.t:5.1f} s", fontsize=9)
        for collection, items, alpha in ((targets, f.targets, 0.35), (boxes, f.boxes, 1.0)):
            verts, colours = _rects(items, alpha)
            collection.set_verts(verts)
            collection.set_facecolor(colours)
        pose = np.array([f.robots.get(n, (np.nan, np.nan, 0.0)) for n in names], dtype=float).reshape(-1, 3)
        bodies.set_offsets(pose[:, :2])
        tip = pose[:, :2] + 0.18 * np.stack([np.cos(pose[:, 2]), np.sin(pose[:, 2])], axis=1)
        ticks.set_segments(np.stack([pose[:, :2], tip], axis=1))
        for label, (x, y, _) in zip(labels, pose, strict=False):
            label.set_position((x, y - 0.18))
            label.set_visible(bool(np.isfinite(x)))

    anim = FuncAnimation(fig, draw, frames=len(frames), interval=1000 / fps)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    anim.save(str(out), writer=PillowWriter(fps=fps))
    plt.close(fig)
    return out
