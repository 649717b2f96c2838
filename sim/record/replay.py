"""Read an episode recording back (:func:`read_recording`) and draw it top-down as a GIF (:func:`write_gif`)."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fleetmind.robots.errors import BadInputError

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


def _yaw(q: Any) -> float:
    import math

    return math.atan2(2 * (q.w * q.z + q.x * q.y), 1 - 2 * (q.y * q.y + q.z * q.z))


def _items(msg: Any) -> list[tuple[float, float, float, float, tuple[float, float, float, float]]]:
    out = []
    for m in msg.markers:
        if m.action == 0:
            c = m.color
            out.append((m.pose.position.x, m.pose.position.y, m.scale.x, m.scale.y, (c.r, c.g, c.b, c.a)))
    return out


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
    metrics: list[dict[str, Any]] = []
    plans: list[dict[str, Any]] = []
    episode: dict[str, Any] = {}
    images = 0
    from mcap.reader import make_reader
    from mcap_ros2.decoder import DecoderFactory

    try:
        with path.open("rb") as f:
            messages = list(
                make_reader(f, decoder_factories=[DecoderFactory()]).iter_decoded_messages(log_time_order=True)
            )
        for _, channel, record, msg in messages:
            topic, ns = channel.topic, record.log_time
            frame = frames.setdefault(ns, ReplayFrame(ns / 1e9))
            if topic.endswith("/pose"):
                p = msg.pose
                frame.robots[topic.split("/")[1]] = (p.position.x, p.position.y, _yaw(p.orientation))
            elif topic == "/boxes":
                frame.boxes = _items(msg)
            elif topic == "/targets":
                frame.targets = _items(msg)
            elif topic == "/metrics":
                metrics.append(json.loads(msg.data))
            elif topic == "/plan":
                plans.append(json.loads(msg.data))
            elif topic == "/episode":
                episode = json.loads(msg.data)
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
    return Recording(ordered, metrics, plans, episode, images)


def write_gif(recording: Recording, out: str | Path, max_frames: int = 120, fps: int = 10) -> Path:
    """A top-down animation of ``recording`` (robots as circles with a heading tick, boxes as squares)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.animation import FuncAnimation, PillowWriter
    from matplotlib.patches import Circle, Rectangle

    frames = recording.frames
    if len(frames) > max_frames:
        stride = len(frames) / max_frames
        frames = [frames[int(i * stride)] for i in range(max_frames)] + [recording.frames[-1]]
    xs = [x for f in frames for x, _, _ in f.robots.values()] + [b[0] for f in frames for b in f.boxes + f.targets]
    ys = [y for f in frames for _, y, _ in f.robots.values()] + [b[1] for f in frames for b in f.boxes + f.targets]
    pad = 0.5
    fig, ax = plt.subplots(figsize=(5, 5), dpi=80)
    title = recording.episode.get("scenario", Path(out).stem)

    def draw(k: int) -> None:
        f = frames[k]
        ax.clear()
        ax.set_xlim(min(xs) - pad, max(xs) + pad)
        ax.set_ylim(max(ys) + pad, min(ys) - pad)  # rows grow downwards, as in the grid
        ax.set_aspect("equal")
        ax.grid(True, linewidth=0.4, alpha=0.5)  # grid lines at the cell borders for 1 m cells
        ax.set_title(f"{title}  t = {f.t:5.1f} s", fontsize=9)
        for x, y, sx, sy, rgba in f.targets:
            ax.add_patch(Rectangle((x - sx / 2, y - sy / 2), sx, sy, color=rgba[:3], alpha=0.35))
        for x, y, sx, sy, rgba in f.boxes:
            ax.add_patch(Rectangle((x - sx / 2, y - sy / 2), sx, sy, color=rgba[:3]))
        for name, (x, y, yaw) in f.robots.items():
            import math

            ax.add_patch(Circle((x, y), 0.12, color="0.25", alpha=0.8))
            ax.plot([x, x + 0.18 * math.cos(yaw)], [y, y + 0.18 * math.sin(yaw)], color="white", lw=1.5)
            ax.text(x, y - 0.18, name.replace("robot_", "r"), fontsize=6, ha="center")

    anim = FuncAnimation(fig, draw, frames=len(frames), interval=1000 / fps)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    anim.save(str(out), writer=PillowWriter(fps=fps))
    plt.close(fig)
    return out
