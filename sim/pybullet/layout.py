"""Where grid things stand in metres: the metric layout of every grid task (pure, no PyBullet).

A grid cell is a square of ``cell`` metres; x runs along columns, y along rows (``fleetmind.robots.ids.cell_to_pose``).
:func:`scene_of` turns a task's ``observation.world`` into a :class:`Scene` (robot poses, boxes, target
pads), which the PyBullet backend uses to build its world and the recorder uses to draw grid episodes.

BoxNet1: robot at the cell centre, boxes on a ring of 16 slots (radius 0.38 cell), one target pad per
colour on an inner ring (radius 0.22 cell). BoxNet2: boxes on cell corners, target pads at centres.
Warehouse: track ``t`` is the row ``y = (t + 0.5) cell``, column ``c`` is at ``x = (c + 1.5) cell``, box
slot ``(g + 0.5, c)`` between two tracks, the target area is the strip ``x < cell`` with one parking
spot per robot. BoxLift: lifters parked on the row ``y = 0.5 cell``, boxes (side grows with the cube
root of the volume) two cells apart beyond the lifters' lanes (one lane per lifter). MAPF: robots at cell centres.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

RGBA = tuple[float, float, float, float]
COLOUR_RGBA: dict[str, RGBA] = {
    "blue": (0.15, 0.35, 0.95, 1.0),
    "red": (0.9, 0.15, 0.15, 1.0),
    "green": (0.15, 0.75, 0.25, 1.0),
    "purple": (0.6, 0.25, 0.8, 1.0),
    "orange": (1.0, 0.55, 0.1, 1.0),
}
GREY: RGBA = (0.6, 0.6, 0.6, 1.0)
BOX_SIDE = 0.1  # metres, BoxNet / Warehouse boxes
BOXNET_BOX_MASS = 0.2  # kg
RING_SLOTS = 16


@dataclass(frozen=True)
class Item:
    """A box or a target pad: ``key`` unique in the scene, centre ``(x, y, z)``, ``size`` (sx, sy, sz)."""

    key: str
    pos: tuple[float, float, float]
    size: tuple[float, float, float]
    rgba: RGBA
    mass: float = 0.0
    colour: str = ""
    count: int = 1


@dataclass
class Scene:
    """Robot poses ``{robot: (x, y, z, yaw)}``, boxes and target pads at one instant ``t`` (seconds)."""

    t: float
    robots: dict[str, tuple[float, float, float, float]]
    boxes: list[Item] = field(default_factory=list)
    targets: list[Item] = field(default_factory=list)


def cell_xy(row: float, col: float, cell: float) -> tuple[float, float]:
    return ((col + 0.5) * cell, (row + 0.5) * cell)


def ring_slot(row: int, col: int, k: int, cell: float) -> tuple[float, float]:
    """BoxNet1 box slot ``k`` (0..15) of a cell: ring of radius 0.38 cell, starting at +x."""
    cx, cy = cell_xy(row, col, cell)
    a = 2.0 * math.pi * (k % RING_SLOTS) / RING_SLOTS + (math.pi / RING_SLOTS) * (k // RING_SLOTS)
    r = 0.38 * cell
    return cx + r * math.cos(a), cy + r * math.sin(a)


def pad_xy(row: int, col: int, colour: str, cell: float) -> tuple[float, float]:
    """BoxNet1 target pad of ``colour`` in a cell: inner ring of radius 0.22 cell."""
    k = list(COLOUR_RGBA).index(colour) if colour in COLOUR_RGBA else 0
    cx, cy = cell_xy(row, col, cell)
    a = 2.0 * math.pi * k / len(COLOUR_RGBA) + math.pi / 2
    return cx + 0.22 * cell * math.cos(a), cy + 0.22 * cell * math.sin(a)


def corner_xy(row: int, col: int, cell: float) -> tuple[float, float]:
    """BoxNet2 corner (lattice point) ``(row, col)``."""
    return col * cell, row * cell


def track_xy(track: float, col: float, cell: float) -> tuple[float, float]:
    """Warehouse: track ``track`` (or a half row between tracks), column ``col``."""
    return (col + 1.5) * cell, (track + 0.5) * cell


def parking_xy(index: int, robots: int, tracks: int, cell: float) -> tuple[float, float]:
    """Warehouse target area: the parking spot of robot number ``index``."""
    return 0.5 * cell, (index + 0.5) * tracks * cell / max(robots, 1)


def lift_box_side(volume: float) -> float:
    """BoxLift box side in metres from its volume (volume 1 -> 0.25 m, 10 -> 0.54 m)."""
    return 0.25 * volume ** (1.0 / 3.0)


def lifter_home(index: int, lifters: int, boxes: int, cell: float) -> tuple[float, float]:
    width = max(2 * boxes, lifters) * cell
    return (index + 0.5) * width / lifters, 0.5 * cell


def lift_lane_y(index: int, cell: float) -> float:
    """BoxLift: lifter ``index`` drives sideways only on its own lane, so lifters never meet head-on."""
    return (1.0 + 0.35 * index) * cell


def lift_box_xy(box: int, boxes: int, lifters: int, cell: float) -> tuple[float, float]:
    width = max(2 * boxes, lifters) * cell
    return (box + 0.5) * width / boxes, lift_lane_y(lifters, cell) + 0.5 * cell


def _flat(key: str, xy: tuple[float, float], radius: float, rgba: RGBA, colour: str = "", count: int = 1) -> Item:
    return Item(key, (xy[0], xy[1], 0.001), (2 * radius, 2 * radius, 0.002), rgba, 0.0, colour, count)


def _box(key: str, xy: tuple[float, float], side: float, rgba: RGBA, mass: float, colour: str = "") -> Item:
    return Item(key, (xy[0], xy[1], side / 2), (side, side, side), rgba, mass, colour)


def scene_of(world: Mapping[str, Any], cell: float = 1.0, z: float = 0.0, t: float = 0.0) -> Scene:
    """The metric scene of a task's ``observation.world`` (robots at their nominal poses, height ``z``)."""
    task = world.get("task")
    if task == "boxnet1":
        return _boxnet1(world, cell, z, t)
    if task == "boxnet2":
        return _boxnet2(world, cell, z, t)
    if task == "warehouse":
        return _warehouse(world, cell, z, t)
    if task == "boxlift":
        return _boxlift(world, cell, z, t)
    if "positions" in world:  # MAPF
        robots = {f"robot_{i}": (*cell_xy(r, c, cell), z, 0.0) for i, (r, c) in enumerate(world["positions"])}
        goals = [_flat(f"goal_{i}", cell_xy(r, c, cell), 0.15 * cell, GREY) for i, (r, c) in enumerate(world["goals"])]
        return Scene(t, robots, [], goals)
    raise ValueError(f"no metric layout for world of task {task!r}")


def _boxnet1(world: Mapping[str, Any], cell: float, z: float, t: float) -> Scene:
    robots = {r: (*cell_xy(rc[0], rc[1], cell), z, 0.0) for r, rc in world["robots"].items()}
    used: dict[tuple[int, int], int] = {}
    boxes = []
    for r, c, colour in world["boxes"]:
        k = used.get((r, c), 0)
        used[(r, c)] = k + 1
        xy = ring_slot(r, c, k, cell)
        boxes.append(_box(f"box_{colour}_{r}_{c}_{k}", xy, BOX_SIDE, COLOUR_RGBA[colour], BOXNET_BOX_MASS, colour))
    counts: dict[tuple[int, int, str], int] = {}
    for r, c, colour in world["targets"]:
        counts[(r, c, colour)] = counts.get((r, c, colour), 0) + 1
    targets = [
        _flat(f"target_{colour}_{r}_{c}", pad_xy(r, c, colour, cell), 0.07, COLOUR_RGBA[colour], colour, n)
        for (r, c, colour), n in sorted(counts.items())
    ]
    return Scene(t, robots, boxes, targets)


def _boxnet2(world: Mapping[str, Any], cell: float, z: float, t: float) -> Scene:
    robots = {r: (*cell_xy(rc[0], rc[1], cell), z, 0.0) for r, rc in world["robots"].items()}
    boxes = [
        _box(f"box_{colour}", corner_xy(k[0], k[1], cell), BOX_SIDE, COLOUR_RGBA[colour], BOXNET_BOX_MASS, colour)
        for colour, k in sorted(world["boxes"].items())
    ]
    counts: dict[tuple[int, int, str], int] = {}
    for r, c, colour in world["targets"]:
        counts[(r, c, colour)] = counts.get((r, c, colour), 0) + 1
    targets = [
        _flat(f"target_{colour}_{r}_{c}", cell_xy(r, c, cell), 0.09, COLOUR_RGBA[colour], colour, n)
        for (r, c, colour), n in sorted(counts.items())
    ]
    return Scene(t, robots, boxes, targets)


def warehouse_robot_xy(rid: str, pos: Any, world: Mapping[str, Any], cell: float) -> tuple[float, float]:
    if pos is None:
        index = list(world["robots"]).index(rid)
        return parking_xy(index, len(world["robots"]), world["tracks"], cell)
    return track_xy(pos[0], pos[1], cell)


def _warehouse(world: Mapping[str, Any], cell: float, z: float, t: float) -> Scene:
    robots = {r: (*warehouse_robot_xy(r, p, world, cell), z, 0.0) for r, p in world["robots"].items()}
    boxes = [
        _box(f"box_{row:.1f}_{col}", track_xy(row, col, cell), BOX_SIDE, COLOUR_RGBA["orange"], BOXNET_BOX_MASS)
        for row, col in world["boxes"]
    ]
    for r, p in world["robots"].items():  # carried boxes ride on their robot
        if p is not None and p[2]:
            x, y, _, _ = robots[r]
            boxes.append(_box(f"carried_{r}", (x + 0.17, y), BOX_SIDE, COLOUR_RGBA["orange"], BOXNET_BOX_MASS))
    height = world["tracks"] * cell
    targets = [Item("target_area", (0.5 * cell, height / 2, 0.001), (cell, height, 0.002), (0.3, 0.8, 0.3, 0.4))]
    return Scene(t, robots, boxes, targets)


def _boxlift(world: Mapping[str, Any], cell: float, z: float, t: float) -> Scene:
    lifters = list(world["lifters"])
    n_boxes = int(world.get("n_boxes", 0)) or max((int(b) for b in world["boxes"]), default=-1) + 1
    robots = {r: (*lifter_home(i, len(lifters), n_boxes, cell), z, math.pi / 2) for i, r in enumerate(lifters)}
    boxes = [
        _box(f"box_{b}", lift_box_xy(int(b), n_boxes, len(lifters), cell), lift_box_side(v), GREY, float(v))
        for b, v in world["boxes"].items()
    ]
    return Scene(t, robots, boxes, [])
