"""SwarmFleet: unicycle robots in the swarm world behind the Fleet contract.

Each robot takes body velocity commands (:class:`SetVelocity`: ``linear`` m/s forward, ``angular`` rad/s), moves on
the exact unicycle arc for ``dt`` seconds and is kept in the box (periodic: wrapped; bounded: reflected, position
and heading, as in the Vicsek world). A robot without a command (or with :class:`Wait`) stops. Each robot observes
what a swarm agent observes (``VicsekWorld.observe``: the histogram or RBF embedding of its neighbours' headings
relative to its own, within ``radius`` and the field of view, with the world's observation noise), so controllers
written for the swarm worlds command these robots unchanged; ``sim.pybullet.swarm`` runs the same fleet in PyBullet.
The episode ends after ``step_limit`` steps: a success when the heading order parameter is at least
``success_order``, else ``failure_reason = "step_limit"``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from fleetmind.robots.commands import Command, SetVelocity, Wait
from fleetmind.robots.errors import FleetClosedError, IllegalCommandError, UnknownRobotError
from fleetmind.robots.fleet import Observation, RobotObservation, StepResult, final_step
from fleetmind.robots.ids import RobotId, robot_ids
from fleetmind.sim.swarm.world import VicsekWorld, _check


@dataclass(frozen=True)
class UnicycleLimits:
    """Velocity bounds of a robot: a command beyond them is illegal (the robot would not follow it)."""

    max_linear: float = 0.5
    max_angular: float = 2.0


def unicycle_arc(pose: np.ndarray, linear: np.ndarray, angular: np.ndarray, t: float) -> np.ndarray:
    """Poses ``(N, 3)`` (x, y, yaw) after ``t`` seconds at constant ``linear`` / ``angular`` (``(N,)``): the exact
    arc (a straight line where ``angular`` is 0). No box: see ``keep_in_box``."""
    x, y, yaw = pose[:, 0], pose[:, 1], pose[:, 2]
    turn = angular * t
    straight = np.abs(turn) < 1e-9
    safe = np.where(straight, 1.0, angular)
    out = np.empty_like(pose)
    out[:, 0] = np.where(straight, x + linear * t * np.cos(yaw), x + linear / safe * (np.sin(yaw + turn) - np.sin(yaw)))
    out[:, 1] = np.where(straight, y + linear * t * np.sin(yaw), y - linear / safe * (np.cos(yaw + turn) - np.cos(yaw)))
    out[:, 2] = (yaw + turn + math.pi) % (2 * math.pi) - math.pi
    return out


def keep_in_box(pose: np.ndarray, box: float, periodic: bool) -> np.ndarray:
    """Poses moved back into the box: wrapped into ``[0, box)``, or reflected off the walls into ``[0, box]`` with
    the heading mirrored (a wall across x: ``yaw -> pi - yaw``; across y: ``yaw -> -yaw``), as the worlds do."""
    out = pose.copy()
    xy = out[:, :2]
    if periodic:
        xy -= box * np.floor(xy / box)
        xy[xy >= box] -= box  # -1e-17 % box == box
        return out
    low, high = xy < 0.0, xy > box
    xy[low] = -xy[low]
    xy[high] = 2.0 * box - xy[high]
    np.clip(xy, 0.0, box, out=xy)
    flip = low | high
    out[flip[:, 0], 2] = np.pi - out[flip[:, 0], 2]
    out[flip[:, 1], 2] = -out[flip[:, 1], 2]
    out[:, 2] = (out[:, 2] + math.pi) % (2 * math.pi) - math.pi
    return out


class SwarmFleet:
    """``robots`` unicycles in a ``box`` (periodic or bounded), observing neighbours within ``radius``."""

    def __init__(
        self,
        robots: int = 16,
        box: float = 4.0,
        radius: float = 1.0,
        dt: float = 0.1,
        periodic: bool = True,
        limits: UnicycleLimits | None = None,
        step_limit: int = 200,
        success_order: float = 0.9,
        *,
        fov: float = 2 * math.pi,
        bins: int = 8,
        observation: str = "histogram",
        obs_noise: float = 0.0,
    ) -> None:
        self.world = VicsekWorld(robots, box=box, radius=radius, speed=0.0, eta=0.0, coupling=0.0, periodic=periodic,
                                 bins=bins, fov=fov, dt=dt, observation=observation, obs_noise=obs_noise)  # fmt: skip
        self.dt = self.world.dt
        self.limits = limits or UnicycleLimits()
        _check("max_linear", self.limits.max_linear, 0.0, "give a finite speed bound > 0")
        _check("max_angular", self.limits.max_angular, 0.0, "give a finite turn-rate bound > 0")
        if isinstance(step_limit, bool) or not isinstance(step_limit, int) or step_limit < 1:
            raise ValueError(f"step_limit={step_limit!r} must be a whole number >= 1")
        self.step_limit = step_limit
        self.success_order = _check("success_order", success_order, 0.0, "give an order in [0, 1]", strict=False,
                                    high=1.0)  # fmt: skip
        self._ids = robot_ids(robots)
        self._index = {rid: i for i, rid in enumerate(self._ids)}
        self.pose = np.zeros((robots, 3))
        self.velocity = np.zeros((robots, 2))  # the last commanded (linear, angular) of each robot
        self.steps = 0
        self._seed: int | None = None
        self._final: StepResult | None = None
        self._closed = False

    @property
    def robot_ids(self) -> tuple[RobotId, ...]:
        return self._ids

    @property
    def box(self) -> float:
        return self.world.box

    @property
    def periodic(self) -> bool:
        return self.world.periodic

    def reset(self, seed: int) -> Observation:
        if self._closed:
            raise FleetClosedError()
        self.world.reset(seed)
        self.pose = np.column_stack([self.world.pos, self.world.theta])
        self.velocity[:] = 0.0
        self.steps, self._seed, self._final = 0, seed, None
        return self.observe()

    def order(self) -> float:
        """The heading order parameter ``|mean exp(i yaw)|``."""
        return float(np.hypot(np.cos(self.pose[:, 2]).mean(), np.sin(self.pose[:, 2]).mean()))

    def observe(self) -> Observation:
        self.world.pos = self.pose[:, :2].copy()
        self.world.theta = self.pose[:, 2]
        self.world._cells = None
        rows = self.world.observe()
        order = self.order()
        robots = {}
        for rid, i in self._index.items():
            x, y, yaw = (round(float(v), 4) for v in self.pose[i])
            data: dict[str, Any] = {"pose": [x, y, yaw], "observation": [round(float(v), 6) for v in rows[i]]}
            text = f"{rid} at ({x:.2f}, {y:.2f}) heading {yaw:.2f} rad; swarm order {order:.3f}"
            robots[rid] = RobotObservation(rid, data, text, (SetVelocity(0.0, 0.0),))
        world = {"order": round(order, 6), "t": round(self.steps * self.dt, 6), "box": self.box}
        return Observation(self.steps, robots, world, f"{len(self._ids)} unicycles, order {order:.3f}")

    def validate(self, commands: Mapping[RobotId, Command]) -> dict[RobotId, Command]:
        """The commands as given; raises on an unknown robot or a command beyond the limits."""
        lim = self.limits
        for rid, command in commands.items():
            if rid not in self._index:
                raise UnknownRobotError(rid, self._ids)
            if isinstance(command, Wait):
                continue
            if not isinstance(command, SetVelocity):
                raise IllegalCommandError(rid, command, f"{type(command).__name__} is not a unicycle command",
                                          ("set_velocity(linear, angular)",))  # fmt: skip
            v, w = command.linear, command.angular
            if not (math.isfinite(v) and math.isfinite(w)) or abs(v) > lim.max_linear or abs(w) > lim.max_angular:
                raise IllegalCommandError(rid, command, f"beyond the limits |linear| <= {lim.max_linear} m/s, "
                                          f"|angular| <= {lim.max_angular} rad/s")  # fmt: skip
        return dict(commands)

    def velocities(self, commands: Mapping[RobotId, Command]) -> np.ndarray:
        """``(N, 2)`` (linear, angular) of validated commands; 0 for robots that wait."""
        out = np.zeros((len(self._ids), 2))
        for rid, command in commands.items():
            if isinstance(command, SetVelocity):
                out[self._index[rid]] = command.linear, command.angular
        return out

    def step(self, commands: Mapping[RobotId, Command]) -> StepResult:
        if (final := final_step(self._closed, self._seed is not None, self._final)) is not None:
            return final
        self.velocity = self.velocities(self.validate(commands))
        moved = unicycle_arc(self.pose, self.velocity[:, 0], self.velocity[:, 1], self.dt)
        self.pose = keep_in_box(moved, self.box, self.periodic)
        self.steps += 1
        obs = self.observe()
        order = float(obs.world["order"])
        done = self.steps >= self.step_limit
        success = done and order >= self.success_order
        reason = "step_limit" if done and not success else None
        metrics = {"success": success, "steps": self.steps, "failure_reason": reason, "order": order}
        result = StepResult(obs, (), done, reason, metrics)
        if done:
            self._final = result
        return result

    def close(self) -> None:
        self._closed = True
