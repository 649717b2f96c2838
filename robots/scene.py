"""A metric scene: robot poses, boxes and target pads in metres at one instant (pure, no physics).

A grid cell is a square of ``cell`` metres; x runs along columns, y along rows (:func:`cell_xy`). Each task lays
its own world out as a :class:`Scene` (``Task.scene``, in ``tasks/<name>/layout.py``); the PyBullet backend builds
its world from it and the recorder draws grid episodes with it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

RGBA = tuple[float, float, float, float]
COLOUR_RGBA: dict[str, RGBA] = {
    "blue": (0.15, 0.35, 0.95, 1.0),
    "red": (0.9, 0.15, 0.15, 1.0),
    "green": (0.15, 0.75, 0.25, 1.0),
    "purple": (0.6, 0.25, 0.8, 1.0),
    "orange": (1.0, 0.55, 0.1, 1.0),
}
"""Box and pad colours of the tasks' colour names (their order is the order of the BoxNet1 pad ring)."""
GREY: RGBA = (0.6, 0.6, 0.6, 1.0)
BOX_SIDE = 0.1
"""Metres: the small boxes of BoxNet1, BoxNet2 and Warehouse."""
BOX_MASS = 0.2
"""Kilograms: the small boxes of BoxNet1, BoxNet2 and Warehouse."""


@dataclass(frozen=True)
class Item:
    """A box or a target pad: ``key`` unique in the scene, centre ``(x, y, z)``, ``size`` (sx, sy, sz).

    ``mass`` > 0 makes it a box (a body), 0 a pad (drawn, never collides); ``count`` is how many boxes a pad
    still takes."""

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
    """The centre ``(x, y)`` of grid cell ``(row, col)`` with cells of ``cell`` metres."""
    return ((col + 0.5) * cell, (row + 0.5) * cell)


def pad_item(key: str, xy: tuple[float, float], radius: float, rgba: RGBA, colour: str = "", count: int = 1) -> Item:
    """A flat target pad (2 mm thick, ``2 * radius`` wide) lying on the floor at ``xy``."""
    return Item(key, (xy[0], xy[1], 0.001), (2 * radius, 2 * radius, 0.002), rgba, 0.0, colour, count)


def box_item(key: str, xy: tuple[float, float], side: float, rgba: RGBA, mass: float, colour: str = "") -> Item:
    """A cube of ``side`` metres and ``mass`` kg standing on the floor at ``xy``."""
    return Item(key, (xy[0], xy[1], side / 2), (side, side, side), rgba, mass, colour)
