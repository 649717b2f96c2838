"""Minimum separation in continuous space: slow or stop the robot whose motion would break it. Pure functions.

The shield keeps plans free of vertex and swap conflicts on the grid; between cells, robots that turn on the spot
while a follower drives on can still come close. :func:`keep_separation` limits each robot's speed towards every
neighbour (and every obstacle, such as a lost robot's last pose) so that, at the current closing speed, the gap stays
above ``min_separation`` for ``horizon`` seconds; moving away and turning on the spot are never limited, so two
robots can never hold each other up.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence

from fleetmind.robots.ids import RobotId

log = logging.getLogger(__name__)

Pose = tuple[float, float, float]


def keep_separation(
    poses: Mapping[RobotId, Pose],
    commands: Mapping[RobotId, tuple[float, float]],
    min_separation: float,
    horizon: float = 0.5,
    obstacles: Sequence[tuple[float, float]] = (),
) -> tuple[dict[RobotId, tuple[float, float]], set[RobotId]]:
    """Commands ``{robot: (v, w)}`` with each linear speed limited; returns them and the robots slowed.

    For a robot at distance ``d`` from a neighbour, closing at ``c = v * cos(angle to it)``: when ``c > 0`` the speed
    is scaled so that ``c <= (d - min_separation) / (2 * horizon)`` (half the gap each, as both may close), i.e.
    zero once ``d <= min_separation``. Robots in ``poses`` without a command stand still and still count.
    """
    out: dict[RobotId, tuple[float, float]] = {}
    slowed: set[RobotId] = set()
    points = {r: (p[0], p[1]) for r, p in poses.items()}
    for rid, (v, w) in commands.items():
        if v == 0.0 or rid not in poses:
            out[rid] = (v, w)
            continue
        x, y, yaw = poses[rid]
        hx, hy = math.cos(yaw), math.sin(yaw)
        scale = 1.0
        others = [p for r, p in points.items() if r != rid] + list(obstacles)
        for ox, oy in others:
            dx, dy = ox - x, oy - y
            d = math.hypot(dx, dy)
            if d < 1e-9:
                continue
            closing = v * (hx * dx + hy * dy) / d
            if closing <= 0.0:
                continue
            allowed = max(0.0, (d - min_separation) / (2.0 * horizon))
            scale = min(scale, allowed / closing)
        if scale < 1.0:
            slowed.add(rid)
        out[rid] = (v * max(0.0, scale), w)
    return out, slowed


def pair_distances(points: Mapping[RobotId, tuple[float, float]]) -> dict[tuple[RobotId, RobotId], float]:
    """Distance of every unordered pair ``(a, b)`` with ``a < b``."""
    ids = sorted(points)
    out = {}
    for i, a in enumerate(ids):
        for b in ids[i + 1 :]:
            out[(a, b)] = math.dist(points[a], points[b])
    return out


def segment_distance(p: tuple[float, float], a: tuple[float, float], b: tuple[float, float]) -> float:
    """Distance from point ``p`` to the segment ``a``-``b`` (the tracking error of a robot driving from a to b)."""
    ax, ay = a
    dx, dy = b[0] - ax, b[1] - ay
    n = dx * dx + dy * dy
    t = 0.0 if n < 1e-18 else max(0.0, min(1.0, ((p[0] - ax) * dx + (p[1] - ay) * dy) / n))
    return math.hypot(p[0] - ax - t * dx, p[1] - ay - t * dy)


class Proximity:
    """Counts, over an episode, the pairs that came closer than ``min_separation`` (near-misses) and than
    ``collision_distance`` (collisions), once per approach: a pair counts again only after it parted by 10 %."""

    def __init__(self, min_separation: float, collision_distance: float) -> None:
        self.limits = {"near_misses": min_separation, "collisions": collision_distance}
        self.counts = dict.fromkeys(self.limits, 0)
        self._inside: dict[str, set[tuple[RobotId, RobotId]]] = {k: set() for k in self.limits}
        self.min_distance = math.inf

    def update(self, points: Mapping[RobotId, tuple[float, float]]) -> None:
        for pair, d in pair_distances(points).items():
            self.min_distance = min(self.min_distance, d)
            for key, limit in self.limits.items():
                inside = self._inside[key]
                if d < limit and pair not in inside:
                    inside.add(pair)
                    self.counts[key] += 1
                    log.warning("%s: %s and %s %.3f m apart", key, *pair, d)
                elif d >= limit * 1.1:
                    inside.discard(pair)
