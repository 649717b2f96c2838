"""Grid actions as map-frame motion: which tasks are pure motion, where a task's robots stand, how one drives there."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from fleetmind.firmware_bridge.localization import Pose2D
from fleetmind.robots.controllers import UnicycleGains, unicycle_control, wrap_angle
from fleetmind.robots.errors import BadInputError
from fleetmind.robots.ids import RobotId
from fleetmind.tasks import Task, real_robot_tasks

XY = tuple[float, float]


def check_supported(task: Task, world: Any = None) -> None:
    """One-line :class:`BadInputError` unless real robots can play ``task`` (with ``world``, a scenario's world
    section: that world of it): the task's own :meth:`~fleetmind.tasks.base.Task.real_robots_refusal`."""
    why = task.real_robots_refusal(world)
    if why is not None:
        names = ", ".join(real_robot_tasks())
        raise BadInputError(
            f"world.task: {task.name!r} is unsupported on this backend (firmware): {why}; supported: {names} "
            "(or use backend: grid / pybullet)"
        )


def drive_to(pose: Pose2D, target: XY, gains: UnicycleGains) -> tuple[float, float, bool]:
    """:func:`unicycle_control`, driving backwards when the target lies behind (a diff-drive robot need not turn
    round to step back a cell): ``(v, w, arrived)``."""
    bearing = math.atan2(target[1] - pose.y, target[0] - pose.x)
    if abs(wrap_angle(bearing - pose.yaw)) <= math.pi / 2:
        return unicycle_control(pose.as_tuple(), target, gains)
    v, w, ok = unicycle_control((pose.x, pose.y, wrap_angle(pose.yaw + math.pi)), target, gains)
    return -v, w, ok


def waypoints(task: Task, world: Mapping[str, Any], cell: float) -> dict[RobotId, XY]:
    """Where each robot of an ``observation.world`` stands, in metres of the map frame (the task's layout)."""
    scene = task.scene(world, cell)
    return {RobotId(r): (p[0], p[1]) for r, p in scene.robots.items()}
