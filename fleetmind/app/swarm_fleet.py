"""The swarm controllers on robot Fleets: the Vicsek task's agents as unicycle robots under velocity commands, in the
swarm world (:class:`SwarmFleet`), replayed in PyBullet kinematic (:class:`PyBulletSwarmFleet`) or driven through the
firmware links of SITL robots the run starts (:class:`FirmwareSwarmFleet`, one SITL process per robot, stopped at the
end). Each step the controller's turn rates become ``SetVelocity(speed, turn)`` commands, the swarm shield rule checks
them (a refused plan never executes) and the Fleet steps. The Fleets model no heading noise: the config's noise level
is unused. On firmware robots the limits the shield checks are the link's divided by the time scale (see
:mod:`fleetmind.firmware_bridge.swarm`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from fleetmind.app.swarm_env import Frame, local_view
from fleetmind.planners.swarm.observation import SwarmObservation
from fleetmind.planners.swarm.shield import check_velocity_plan
from fleetmind.robots.commands import SetVelocity
from fleetmind.robots.errors import BadInputError
from fleetmind.tasks.swarm import SwarmConfig, SwarmTask, VicsekConfig, VicsekTask

if TYPE_CHECKING:
    from fleetmind.firmware_bridge.swarm import FirmwareSwarmFleet, SwarmFirmwareSettings
    from fleetmind.sim.swarm.fleet import SwarmFleet

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
    *,
    firmware: SwarmFirmwareSettings | None = None,
    report: dict[str, Any] | None = None,
) -> tuple[list[float], list[Frame]]:
    """The heading order after each step on the robot Fleet and up to ``frames`` snapshots; ``firmware`` (settings)
    plays it on SITL robots instead. ``report`` gets the last step's metrics (and how the episode ended)."""
    if not isinstance(task, VicsekTask) or not isinstance(config, VicsekConfig):
        raise BadInputError(f"--backend: robot fleets play the vicsek task (unicycles), not {task.name}")
    from fleetmind.app.firmware import MAX_SITL_ROBOTS

    if firmware is not None and config.agents > MAX_SITL_ROBOTS:
        raise BadInputError(f"--agents {config.agents}: the firmware backend starts one SITL robot per agent, at most "
                            f"{MAX_SITL_ROBOTS}; give --agents <= {MAX_SITL_ROBOTS}")  # fmt: skip
    from fleetmind.sim.swarm.fleet import SwarmFleet, UnicycleLimits

    limits, scale = None, 1.0
    if firmware is not None:
        from fleetmind.firmware_bridge.config import Limits
        from fleetmind.firmware_bridge.swarm import time_scale_for

        link = Limits()
        scale = time_scale_for(config.speed, config.max_turn, link, firmware.time_scale)
        limits = UnicycleLimits(link.max_linear / scale, link.max_angular / scale)
    inner = SwarmFleet(config.agents, box=config.box, radius=config.radius, dt=config.dt, periodic=True,
                       step_limit=config.steps, bins=config.bins, limits=limits)  # fmt: skip
    lim = inner.limits
    if config.speed > lim.max_linear or config.max_turn > lim.max_angular:
        raise BadInputError(f"speed/max_turn beyond the robots' limits ({lim.max_linear} m/s, {lim.max_angular} rad/s)")
    fleet: Any = inner
    if pybullet:
        from fleetmind.sim.pybullet.swarm import PyBulletSwarmFleet

        fleet = PyBulletSwarmFleet(inner, physics_hz=30)
    elif firmware is not None:
        fleet = firmware_swarm_fleet(inner, firmware, scale)
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
            if report is not None:
                report.update(result.metrics)
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


def firmware_swarm_fleet(inner: SwarmFleet, settings: SwarmFirmwareSettings, scale: float) -> FirmwareSwarmFleet:
    """``inner``'s robots as SITL robots: one process each (``fleetmind.app.firmware.start_sitl_robots``: UDP on
    127.0.0.1, a fresh key each), stopped when the fleet closes. A step lasts ``dt / scale`` seconds."""
    from fleetmind.app.firmware import start_sitl_robots
    from fleetmind.firmware_bridge.config import FirmwareFleetConfig, Limits
    from fleetmind.firmware_bridge.fleet import FirmwareFleet
    from fleetmind.firmware_bridge.swarm import FirmwareSwarmFleet

    period = inner.dt / scale
    if period > 5.0:
        raise BadInputError(f"dt {inner.dt}: a step would last {period:.3g} s on the robots (at most 5); lower dt")
    links, owned = start_sitl_robots(list(inner.robot_ids), settings.sitl)
    config = FirmwareFleetConfig(
        robots=links,
        limits=Limits(),
        step_period=period,
        step_limit=inner.step_limit + 1,
        heartbeat_timeout=settings.heartbeat_timeout,
        command_timeout=max(0.5, 2 * period),
    )
    robots = FirmwareFleet(config, owned=owned)
    try:
        return FirmwareSwarmFleet(inner, robots, settings)
    except BaseException:
        robots.close()
        raise
