"""BoxNet2 in metres: robots at cell centres, boxes on cell corners (lattice points), target pads at cell centres.
Pure: numbers in, numbers out."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fleetmind.robots.scene import BOX_MASS, BOX_SIDE, COLOUR_RGBA, Scene, box_item, cell_xy, pad_item


def corner_xy(row: int, col: int, cell: float) -> tuple[float, float]:
    """The corner (lattice point) ``(row, col)``: the top-left corner of cell ``(row, col)``."""
    return col * cell, row * cell


def scene(world: Mapping[str, Any], cell: float, z: float, t: float) -> Scene:
    """The scene of a BoxNet2 ``observation.world`` (robots at height ``z``, facing +x)."""
    robots = {r: (*cell_xy(rc[0], rc[1], cell), z, 0.0) for r, rc in world["robots"].items()}
    boxes = [
        box_item(f"box_{colour}", corner_xy(k[0], k[1], cell), BOX_SIDE, COLOUR_RGBA[colour], BOX_MASS, colour)
        for colour, k in sorted(world["boxes"].items())
    ]
    counts: dict[tuple[int, int, str], int] = {}
    for r, c, colour in world["targets"]:
        counts[(r, c, colour)] = counts.get((r, c, colour), 0) + 1
    targets = [
        pad_item(f"target_{colour}_{r}_{c}", cell_xy(r, c, cell), 0.09, COLOUR_RGBA[colour], colour, n)
        for (r, c, colour), n in sorted(counts.items())
    ]
    return Scene(t, robots, boxes, targets)
