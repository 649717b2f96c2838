"""3D physics backend (PyBullet, DIRECT mode, headless): the grid tasks and MAPF as robot motion.

Importing this package does not import PyBullet; :class:`PyBulletFleet` does, quietly, when built.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fleetmind.sim.pybullet.config import ROBOT_KINDS, PyBulletSettings

if TYPE_CHECKING:
    from fleetmind.sim.pybullet.fleet import PyBulletFleet

__all__ = ["ROBOT_KINDS", "PyBulletFleet", "PyBulletSettings", "make_pybullet_fleet"]


def make_pybullet_fleet(inner: Any, task: str, settings: PyBulletSettings | None = None) -> PyBulletFleet:
    from fleetmind.sim.pybullet.fleet import PyBulletFleet

    return PyBulletFleet(inner, task, settings)


def __getattr__(name: str) -> Any:
    if name == "PyBulletFleet":
        from fleetmind.sim.pybullet.fleet import PyBulletFleet

        return PyBulletFleet
    raise AttributeError(name)
