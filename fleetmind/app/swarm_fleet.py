"""The swarm controllers on robot Fleets: the Vicsek task's agents as unicycle robots under velocity commands, in the
swarm world (:class:`SwarmFleet`) or replayed in PyBullet kinematic (:class:`PyBulletSwarmFleet`). Each step the
controller's turn rates become ``SetVelocity(speed, turn)`` commands, the swarm shield rule checks them (a refused
plan never executes) and the Fleet steps. The Fleets model no heading noise: the config's noise level is unused."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from fleetmind.app.swarm_env import Frame, local_view
from fleetmind.planners.swarm.observation import SwarmObservation
from fleetmind.planners.swarm.shield import check_velocity_plan
from fleetmind.robots.commands import SetVelocity
from fleetmind.robots.errors import BadInputError
from fleetmind.tasks.swarm import SwarmConfig, SwarmTask, VicsekConfig, VicsekTask

Act = Callable[[SwarmObservation], np.ndarray | None]


class ShieldRefused(RuntimeError):
    """A swarm plan the shield rule refused (never executed)."""


def fleet_episode(
    task: SwarmTask,
    config: SwarmConfig,
    act: Act,
    seed: int,
    pybullet: bool,
    frames: int = 0,
    on_step: Callable[[int], None] | None = None,
) -> tuple[list[float], list[Frame]]:
    """The heading order after each step on the robot Fleet and up to ``frames`` snapshots."""
    if not isinstance(task, VicsekTask) or not isinstance(config, VicsekConfig):
        raise BadInputError(f"--backend: robot fleets play the vicsek task (unicycles), not {task.name}")
    from fleetmind.sim.swarm.fleet import SwarmFleet

    inner = SwarmFleet(config.agents, box=config.box, radius=config.radius, dt=config.dt, periodic=True,
                       step_limit=config.steps, bins=config.bins)  # fmt: skip
    lim = inner.limits
    if config.speed > lim.max_linear or config.max_turn > lim.max_angular:
        raise BadInputError(f"speed/max_turn beyond the robots' limits ({lim.max_linear} m/s, {lim.max_angular} rad/s)")
    fleet = inner
    if pybullet:
        from fleetmind.sim.pybullet.swarm import PyBulletSwarmFleet

        fleet = PyBulletSwarmFleet(inner, physics_hz=30)
    expected = config.density * np.pi * config.radius**2
    ids = inner.robot_ids
    every = max(1, config.steps // max(frames - 1, 1)) if frames else 0
    try:
        obs = fleet.reset(seed)
        shots = [Frame(inner.pose[:, :2].copy(), inner.pose[:, 2].copy())] if frames else []
        series: list[float] = []
        for t in range(1, config.steps + 1):
            hist = np.array([obs.robots[rid].data["observation"] for rid in ids])
            action = act(local_view(inner.world, hist, expected))  # the fleet's world holds the robots' poses
            turn = np.zeros(len(ids)) if action is None else np.clip(action, -1.0, 1.0) * config.max_turn
            plan = {rid: SetVelocity(config.speed, float(turn[i])) for i, rid in enumerate(ids)}
            refused = check_velocity_plan(plan, lim.max_linear, lim.max_angular)
            if refused:
                raise ShieldRefused("; ".join(refused))
            result = fleet.step(plan)
            obs = result.observation
            series.append(float(result.metrics["order"]))
            if frames and t % every == 0 and len(shots) < frames:
                shots.append(Frame(inner.pose[:, :2].copy(), inner.pose[:, 2].copy()))
            if on_step is not None:
                on_step(t)
            if result.done:
                break
    finally:
        fleet.close()
    return series, shots
