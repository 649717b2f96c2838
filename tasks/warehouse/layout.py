"""Warehouse in metres: track ``t`` is the row ``y = (t + 0.5) cell``, column ``c`` is at ``x = (c + 1.5) cell``,
box slot ``(g + 0.5, c)`` between two tracks; the target area is the strip ``x < cell`` with one parking spot per
robot. A carried box rides beside its robot. Pure: numbers in, numbers out."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fleetmind.robots.scene import BOX_MASS, BOX_SIDE, COLOUR_RGBA, Item, Scene, box_item

TARGET_RGBA = (0.3, 0.8, 0.3, 0.4)


def track_xy(track: float, col: float, cell: float) -> tuple[float, float]:
    """Track ``track`` (or a half row between tracks), column ``col``."""
    return (col + 1.5) * cell, (track + 0.5) * cell


def parking_xy(index: int, robots: int, tracks: int, cell: float) -> tuple[float, float]:
    """The target area's parking spot of robot number ``index`` of ``robots``."""
    return 0.5 * cell, (index + 0.5) * tracks * cell / max(robots, 1)


def robot_xy(rid: str, pos: Any, world: Mapping[str, Any], cell: float) -> tuple[float, float]:
    """Where robot ``rid`` stands: its track cell ``pos = (track, col, carrying)``, or its parking spot (None)."""
    if pos is None:
        index = list(world["robots"]).index(rid)
        return parking_xy(index, len(world["robots"]), world["tracks"], cell)
    return track_xy(pos[0], pos[1], cell)


def scene(world: Mapping[str, Any], cell: float, z: float, t: float) -> Scene:
    """The scene of a Warehouse ``observation.world`` (robots at height ``z``, facing +x)."""
    orange = COLOUR_RGBA["orange"]
    robots = {r: (*robot_xy(r, p, world, cell), z, 0.0) for r, p in world["robots"].items()}
    boxes = [
        box_item(f"box_{row:.1f}_{col}", track_xy(row, col, cell), BOX_SIDE, orange, BOX_MASS)
        for row, col in world["boxes"]
    ]
    for r, p in world["robots"].items():  # carried boxes ride on their robot
        if p is not None and p[2]:
            x, y, _, _ = robots[r]
            boxes.append(box_item(f"carried_{r}", (x + 0.17, y), BOX_SIDE, orange, BOX_MASS))
    height = world["tracks"] * cell
    targets = [Item("target_area", (0.5 * cell, height / 2, 0.001), (cell, height, 0.002), TARGET_RGBA)]
    return Scene(t, robots, boxes, targets)
