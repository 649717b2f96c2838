"""HAS missions in metres: online robots at the centres of their cells, a pad on every target already found.
Pure: numbers in, numbers out."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fleetmind.robots.scene import GREY, Scene, cell_xy, pad_item


def scene(world: Mapping[str, Any], cell: float, z: float, t: float) -> Scene:
    """The scene of a HAS ``observation.world`` (``positions``, ``active``, ``found``: cells of found targets).
    Offline robots are parked one row north of the map."""
    robots = {}
    for i, ((r, c), on) in enumerate(zip(world["positions"], world["active"], strict=True)):
        robots[f"robot_{i}"] = (*cell_xy(r if on else -2, c if on else i, cell), z, 0.0)
    pads = [pad_item(f"found_{k}", cell_xy(r, c, cell), 0.15 * cell, GREY) for k, (r, c) in enumerate(world["found"])]
    return Scene(t, robots, [], pads)
