"""BoxNet1 in metres: robot at the cell centre, boxes on a ring of 16 slots (radius 0.38 cell), one target pad per
colour on an inner ring (radius 0.22 cell). Pure: numbers in, numbers out."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from fleetmind.robots.scene import BOX_MASS, BOX_SIDE, COLOUR_RGBA, Scene, box_item, cell_xy, pad_item

RING_SLOTS = 16


def ring_slot(row: int, col: int, k: int, cell: float) -> tuple[float, float]:
    """Box slot ``k`` (0..15, then again between them) of a cell: ring of radius 0.38 cell, starting at +x."""
    cx, cy = cell_xy(row, col, cell)
    a = 2.0 * math.pi * (k % RING_SLOTS) / RING_SLOTS + (math.pi / RING_SLOTS) * (k // RING_SLOTS)
    r = 0.38 * cell
    return cx + r * math.cos(a), cy + r * math.sin(a)


def pad_xy(row: int, col: int, colour: str, cell: float) -> tuple[float, float]:
    """The target pad of ``colour`` in a cell: inner ring of radius 0.22 cell."""
    k = list(COLOUR_RGBA).index(colour) if colour in COLOUR_RGBA else 0
    cx, cy = cell_xy(row, col, cell)
    a = 2.0 * math.pi * k / len(COLOUR_RGBA) + math.pi / 2
    return cx + 0.22 * cell * math.cos(a), cy + 0.22 * cell * math.sin(a)


def scene(world: Mapping[str, Any], cell: float, z: float, t: float) -> Scene:
    """The scene of a BoxNet1 ``observation.world`` (robots at height ``z``, facing +x)."""
    robots = {r: (*cell_xy(rc[0], rc[1], cell), z, 0.0) for r, rc in world["robots"].items()}
    used: dict[tuple[int, int], int] = {}
    boxes = []
    for r, c, colour in world["boxes"]:
        k = used.get((r, c), 0)
        used[(r, c)] = k + 1
        xy = ring_slot(r, c, k, cell)
        boxes.append(box_item(f"box_{colour}_{r}_{c}_{k}", xy, BOX_SIDE, COLOUR_RGBA[colour], BOX_MASS, colour))
    counts: dict[tuple[int, int, str], int] = {}
    for r, c, colour in world["targets"]:
        counts[(r, c, colour)] = counts.get((r, c, colour), 0) + 1
    targets = [
        pad_item(f"target_{colour}_{r}_{c}", pad_xy(r, c, colour, cell), 0.07, COLOUR_RGBA[colour], colour, n)
        for (r, c, colour), n in sorted(counts.items())
    ]
    return Scene(t, robots, boxes, targets)
