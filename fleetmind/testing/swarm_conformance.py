"""The swarm's Fleet backends for the conformance fixture: 16 unicycles of :class:`SwarmFleet`, alone and in
PyBullet (kinematic), stepped with velocities sampled within half the limits (``velocity_sampler``)."""

from __future__ import annotations

from pathlib import Path

from fleetmind.robots.commands import SetVelocity
from fleetmind.robots.ids import RobotId
from fleetmind.testing.conformance import Backend, Factory, velocity_sampler


def _swarm(pybullet: bool) -> Backend:
    """16 unicycles in a 4 m periodic box, 30 steps an episode; PyBullet replays them at 30 Hz."""
    from fleetmind.sim.swarm.fleet import UnicycleLimits

    limits = UnicycleLimits()

    def build(tmp_dir: Path) -> Factory:
        from fleetmind.sim.swarm.fleet import SwarmFleet

        if not pybullet:
            return lambda: SwarmFleet(16, box=4.0, step_limit=30)
        from fleetmind.sim.pybullet.swarm import PyBulletSwarmFleet

        return lambda: PyBulletSwarmFleet(SwarmFleet(16, box=4.0, step_limit=30), physics_hz=30)

    too_fast = {RobotId("robot_0"): SetVelocity(limits.max_linear + 1.0, 0.0)}
    name = "pybullet-kinematic-swarm" if pybullet else "swarm-unicycle"
    return Backend(name, build, too_fast, velocity_sampler(limits.max_linear, limits.max_angular), max_steps=40)


def swarm_backends() -> list[Backend]:
    """``swarm-unicycle`` and ``pybullet-kinematic-swarm``."""
    return [_swarm(pybullet=False), _swarm(pybullet=True)]
