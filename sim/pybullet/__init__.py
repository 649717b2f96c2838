"""3D physics backend (PyBullet, DIRECT mode, headless): the grid tasks and MAPF as robot motion.

Importing this package does not import PyBullet; :class:`PyBulletFleet` does, quietly, when built.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fleetmind.sim.pybullet.config import ROBOT_KINDS, PyBulletSettings

if TYPE_CHECKING:
    from fleetmind.sim.pybullet.fleet import PyBulletFleet
    from fleetmind.tasks import Task

__all__ = ["ROBOT_KINDS", "PyBulletFleet", "PyBulletSettings", "make_pybullet_fleet"]


def make_pybullet_fleet(inner: Any, task: Task | str, settings: PyBulletSettings | None = None) -> PyBulletFleet:
    """``inner`` (a GridFleet or a MapfFleet) run in 3D physics; ``task`` is its plug-in or the plug-in's name."""
    from fleetmind.sim.pybullet.fleet import PyBulletFleet

    return PyBulletFleet(inner, task, settings)


def __getattr__(name: str) -> Any:
    if name == "PyBulletFleet":
        from fleetmind.sim.pybullet.fleet import PyBulletFleet

        return PyBulletFleet
    raise AttributeError(name)
