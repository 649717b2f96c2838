"""Where grid things stand in metres: each task's metric layout, reached through its plug-in.

The geometry types live in :mod:`fleetmind.robots.scene`, the layouts in ``tasks/<name>/layout.py`` (pure);
:func:`scene_of` finds the task of an ``observation.world`` in the registry and asks it for its :class:`Scene`.
The PyBullet backend builds its world from that scene and the recorder draws grid episodes with it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fleetmind.robots.scene import RGBA, Item, Scene, cell_xy
from fleetmind.tasks import Task, get_task

__all__ = ["RGBA", "Item", "Scene", "cell_xy", "scene_of"]


def scene_of(
    world: Mapping[str, Any], cell: float = 1.0, z: float = 0.0, t: float = 0.0, task: Task | None = None
) -> Scene:
    """The metric scene of ``world`` (robots at their nominal poses, height ``z``), laid out by ``task`` or, when
    it is None, by the task its ``task`` key names. ``ValueError`` for a task without a layout, ``KeyError`` for a
    world that lacks what its layout needs."""
    return (task or get_task(world["task"])).scene(world, cell, z, t)
