"""PyBulletSwarmFleet: a :class:`SwarmFleet` (unicycle robots under velocity commands) played in PyBullet.

The swarm fleet stays the model (legal commands, observations, metrics); each step PyBullet replays every robot's
unicycle arc at ``physics_hz`` (kinematic mode: poses set along the arc where they are read, at the robot-robot contact
checks every ``contact_every`` ticks and at the step's end), so robots are URDF bodies in a 3D scene: diff-drive robots
on the floor, or quadrotors flying the same plane motion at their hover height. Observations gain each robot's odometry
(the PyBullet pose) and the simulated time; metrics the contacts so far. Dynamic mode is not offered for swarms.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import numpy as np
from fleetmind.robots.commands import Command
from fleetmind.robots.errors import FleetClosedError
from fleetmind.robots.fleet import Observation, RobotEvent, RobotObservation, StepResult, final_step
from fleetmind.robots.ids import RobotId
from fleetmind.sim.pybullet.world import PhysicsWorld
from fleetmind.sim.swarm.fleet import SwarmFleet, keep_in_box, unicycle_arc


class PyBulletSwarmFleet:
    """``inner`` (a SwarmFleet) in PyBullet, kinematic, with robots of ``kind`` (``diff_drive`` or ``quadrotor``)."""

    def __init__(self, inner: SwarmFleet, kind: str = "diff_drive", physics_hz: int = 240, contact_every: int = 4):
        if kind not in ("diff_drive", "quadrotor"):
            raise ValueError(f"kind={kind!r}: a swarm robot is 'diff_drive' or 'quadrotor'")
        if isinstance(physics_hz, bool) or not isinstance(physics_hz, int) or not 10 <= physics_hz <= 2000:
            raise ValueError(f"physics_hz={physics_hz!r} must be a whole number in [10, 2000]")
        if isinstance(contact_every, bool) or not isinstance(contact_every, int) or contact_every < 1:
            raise ValueError(f"contact_every={contact_every!r} must be a whole number >= 1")
        self.inner = inner
        self.world = PhysicsWorld(True, physics_hz, kind)
        self.contact_every = contact_every
        self.ticks_per_step = max(1, round(inner.dt * physics_hz))
        self.contacts = 0
        self._touching: set[tuple[str, str]] = set()
        self._seed: int | None = None
        self._final: StepResult | None = None
        self._closed = False

    @property
    def robot_ids(self) -> tuple[RobotId, ...]:
        return self.inner.robot_ids

    def reset(self, seed: int) -> Observation:
        if self._closed:
            raise FleetClosedError()
        obs = self.inner.reset(seed)
        self.world.reset()
        for rid, (x, y, yaw) in zip(self.inner.robot_ids, self.inner.pose, strict=True):
            self.world.add_robot(rid, float(x), float(y), float(yaw))
        self._seed, self._final, self.contacts, self._touching = seed, None, 0, set()
        return self._augment(obs)

    def _augment(self, obs: Observation) -> Observation:
        robots: dict[RobotId, RobotObservation] = {}
        for rid, ro in obs.robots.items():
            x, y, _, yaw = self.world.pose(self.world.robots[rid])
            odom = [round(float(x), 4), round(float(y), 4), round(float(yaw), 4)]
            robots[rid] = dataclasses.replace(ro, data={**ro.data, "odometry": odom})
        world = {**obs.world, "sim_time": round(self.world.t, 4)}
        return dataclasses.replace(obs, robots=robots, world=world)

    def step(self, commands: Mapping[RobotId, Command]) -> StepResult:
        if (final := final_step(self._closed, self._seed is not None, self._final)) is not None:
            return final
        checked = self.inner.validate(commands)
        start = self.inner.pose.copy()
        velocity = self.inner.velocities(checked)
        events = self._replay(start, velocity)
        result = self.inner.step(checked)
        metrics = {**result.metrics, "sim_time": round(self.world.t, 4), "contacts": self.contacts}
        final = dataclasses.replace(result, observation=self._augment(result.observation),
                                    events=(*result.events, *events), metrics=metrics)  # fmt: skip
        if final.done:
            self._final = final
        return final

    def _replay(self, start: np.ndarray, velocity: np.ndarray) -> list[RobotEvent]:
        """Move every body along its arc and log the robot pairs that start touching. Kinematic: a pose matters only
        where something reads it, so bodies are set at the ticks that check contacts (every ``contact_every``) and
        at the step's last tick; their poses come from one vectorised call (``(ticks * N, 3)``)."""
        w, inner = self.world, self.inner
        bodies = [w.robots[rid] for rid in inner.robot_ids]
        n, robots = self.ticks_per_step, len(bodies)
        ticks = [t for t in range(1, n + 1) if t % self.contact_every == 0 or t == n]
        times = np.repeat(inner.dt * np.asarray(ticks) / n, robots)
        tiled = np.tile(start, (len(ticks), 1))
        linear, angular = np.tile(velocity[:, 0], len(ticks)) * times, np.tile(velocity[:, 1], len(ticks)) * times
        poses = keep_in_box(unicycle_arc(tiled, linear, angular, 1.0), inner.box, inner.periodic)
        poses = poses.reshape(len(ticks), robots, 3)
        half = 0.5 * poses[:, :, 2]
        quats = np.stack([np.zeros_like(half), np.zeros_like(half), np.sin(half), np.cos(half)], axis=2).tolist()
        xyz = np.concatenate([poses[:, :, :2], np.full((len(ticks), robots, 1), w.body.z)], axis=2).tolist()
        reset, cid = w.p.resetBasePositionAndOrientation, w.cid
        events: list[RobotEvent] = []
        t0 = w.t
        for j, tick in enumerate(ticks):
            for body, position, quat in zip(bodies, xyz[j], quats[j], strict=True):
                reset(body, position, quat, physicsClientId=cid)
            w.t = t0 + inner.dt * tick / n
            touching = w.robot_contacts()
            for a, b in sorted(touching - self._touching):
                self.contacts += 1
                events.append(RobotEvent(RobotId(a), "contact", f"touched {b} at t={w.t:.2f} s"))
                events.append(RobotEvent(RobotId(b), "contact", f"touched {a} at t={w.t:.2f} s"))
            self._touching = touching
        return events

    def close(self) -> None:
        if not self._closed:
            self.world.close()
        self._closed = True
