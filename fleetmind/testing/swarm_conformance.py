"""The swarm's Fleet backends for the conformance fixture: 16 unicycles of :class:`SwarmFleet`, alone and in
PyBullet (kinematic), and 4 of them on SITL robots over their firmware links (:class:`FirmwareSwarmFleet`), stepped
with velocities sampled within half the limits (``velocity_sampler``)."""

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


def _firmware_swarm() -> Backend:
    """4 unicycles in a 2 m torus on 4 SITL robots (UDP, keyed), dt 0.1 played in 0.05 s steps (time scale 2: the
    model's limits are half the link's), 10 steps an episode: ~3 s of robot time for the suite's 50 steps."""
    from fleetmind.firmware_bridge.config import Limits
    from fleetmind.sim.swarm.fleet import UnicycleLimits

    link = Limits()
    limits = UnicycleLimits(link.max_linear / 2, link.max_angular / 2)

    def build(tmp_dir: Path) -> Factory:
        from fleetmind.firmware_bridge.swarm import FirmwareSwarmFleet
        from fleetmind.sim.swarm.fleet import SwarmFleet
        from fleetmind.testing.sitl import build_sitl, sitl_fleet_factory

        robots = sitl_fleet_factory(tmp_dir, build_sitl(), "udp", n=4, step_limit=1000)  # 0.05 s steps
        return lambda: FirmwareSwarmFleet(SwarmFleet(4, box=2.0, dt=0.1, step_limit=10, limits=limits), robots())

    too_fast = {RobotId("robot_0"): SetVelocity(limits.max_linear + 0.1, 0.0)}
    return Backend("swarm-firmware-sitl", build, too_fast, velocity_sampler(limits.max_linear, limits.max_angular),
                   max_steps=20)  # fmt: skip


def swarm_backends() -> list[Backend]:
    """``swarm-unicycle``, ``pybullet-kinematic-swarm`` and ``swarm-firmware-sitl``."""
    return [_swarm(pybullet=False), _swarm(pybullet=True), _firmware_swarm()]
