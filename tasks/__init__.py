"""Tasks as plug-ins: one sub-package per task, one registry.

``get_task(name)`` imports only that task's package (rules, config, oracle, shield rules, prompt text and hints),
so loading a scenario imports no planner, numba or ROS code.
"""

from __future__ import annotations

import importlib

from fleetmind.robots.errors import BadInputError
from fleetmind.tasks.base import GridTaskPlugin, Task, TaskConfig

TASKS: dict[str, str] = {
    "boxnet1": "fleetmind.tasks.boxnet1",
    "boxnet2": "fleetmind.tasks.boxnet2",
    "warehouse": "fleetmind.tasks.warehouse",
    "boxlift": "fleetmind.tasks.boxlift",
    "mapf_lifelong": "fleetmind.tasks.mapf_lifelong",
    "has": "fleetmind.tasks.has",
}
"""Task name -> package; each package defines ``TASK``, its :class:`Task`."""


class UnknownTaskError(BadInputError):
    """A task name that is not registered; ``str()`` lists the tasks there are."""


def task_names() -> list[str]:
    return list(TASKS)


def get_task(name: str) -> Task:
    """The plug-in of task ``name``; the error lists the tasks there are."""
    if name not in TASKS:
        raise UnknownTaskError(f"unknown task {name!r}; tasks: {', '.join(TASKS)}")
    return importlib.import_module(TASKS[name]).TASK


def real_robot_tasks() -> list[str]:
    """The tasks real robots can play (:meth:`Task.real_robots_refusal` says None), for refusals' lists."""
    return [name for name in TASKS if get_task(name).real_robots_refusal() is None]


__all__ = [
    "TASKS",
    "GridTaskPlugin",
    "Task",
    "TaskConfig",
    "UnknownTaskError",
    "get_task",
    "real_robot_tasks",
    "task_names",
]
