"""Lifelong MAPF in metres: robots at the centres of their cells, a grey pad on each robot's goal cell.
Pure: numbers in, numbers out."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fleetmind.robots.scene import GREY, Scene, cell_xy, pad_item


def scene(world: Mapping[str, Any], cell: float, z: float, t: float) -> Scene:
    """The scene of a MAPF ``observation.world`` (``positions`` and ``goals``, one ``(row, col)`` per robot)."""
    robots = {f"robot_{i}": (*cell_xy(r, c, cell), z, 0.0) for i, (r, c) in enumerate(world["positions"])}
    goals = [pad_item(f"goal_{i}", cell_xy(r, c, cell), 0.15 * cell, GREY) for i, (r, c) in enumerate(world["goals"])]
    return Scene(t, robots, [], goals)
