"""BoxLift in metres: lifters parked on the row ``y = 0.5 cell``, facing +y; boxes (side grows with the cube root of
the volume) in a row beyond the lifters' lanes (one lane per lifter, so lifters never meet head-on), two cells apart.
Pure: numbers in, numbers out."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from fleetmind.robots.scene import GREY, Scene, box_item


def box_side(volume: float) -> float:
    """A box's side in metres from its volume (volume 1 -> 0.25 m, 10 -> 0.54 m)."""
    return 0.25 * volume ** (1.0 / 3.0)


def _width(lifters: int, boxes: int, cell: float) -> float:
    return max(2 * boxes, lifters) * cell


def lifter_home(index: int, lifters: int, boxes: int, cell: float) -> tuple[float, float]:
    """The parking spot of lifter number ``index`` of ``lifters``."""
    return (index + 0.5) * _width(lifters, boxes, cell) / lifters, 0.5 * cell


def lane_y(index: int, cell: float) -> float:
    """The lane of lifter number ``index``: it drives sideways only there."""
    return (1.0 + 0.35 * index) * cell


def box_xy(box: int, boxes: int, lifters: int, cell: float) -> tuple[float, float]:
    """Where box number ``box`` of ``boxes`` stands: half a cell beyond the last lifter's lane."""
    return (box + 0.5) * _width(lifters, boxes, cell) / boxes, lane_y(lifters, cell) + 0.5 * cell


def scene(world: Mapping[str, Any], cell: float, z: float, t: float) -> Scene:
    """The scene of a BoxLift ``observation.world``; a box's mass is its volume (the weight stays hidden)."""
    lifters = list(world["lifters"])
    n_boxes = int(world.get("n_boxes", 0)) or max((int(b) for b in world["boxes"]), default=-1) + 1
    robots = {r: (*lifter_home(i, len(lifters), n_boxes, cell), z, math.pi / 2) for i, r in enumerate(lifters)}
    boxes = [
        box_item(f"box_{b}", box_xy(int(b), n_boxes, len(lifters), cell), box_side(v), GREY, float(v))
        for b, v in world["boxes"].items()
    ]
    return Scene(t, robots, boxes, [])
