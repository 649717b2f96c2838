"""PyBulletFleet: a grid task (or MAPF world) run in 3D physics behind the same Fleet contract.

The wrapped grid fleet stays the logical model: same legal actions, same observations, same metrics.
Each step the commands are validated by it, executed physically by the task's adapter (motion
primitives in PyBullet), and only the commands that physics carried out are applied to the logical
model; a vetoed command becomes a wait plus a ``physics_failure`` / ``too_heavy`` event. Observations
gain each robot's (optionally noisy) odometry and the world's simulated time.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
from fleetmind.robots.commands import Command
from fleetmind.robots.errors import FleetClosedError
from fleetmind.robots.fleet import Observation, RobotObservation, StepResult, final_step
from fleetmind.robots.ids import RobotId
from fleetmind.robots.scene import Scene
from fleetmind.sim.pybullet._adapter import TaskAdapter
from fleetmind.sim.pybullet._boxlift import BoxLiftAdapter
from fleetmind.sim.pybullet._boxnet import BoxNet1Adapter, BoxNet2Adapter
from fleetmind.sim.pybullet._mapf import MapfAdapter
from fleetmind.sim.pybullet._warehouse import WarehouseAdapter
from fleetmind.sim.pybullet.config import PyBulletSettings
from fleetmind.sim.pybullet.motion import Executor
from fleetmind.sim.pybullet.world import PhysicsWorld
from fleetmind.tasks import Task, get_task, task_names
from fleetmind.tasks.boxlift import BoxLiftTask
from fleetmind.tasks.boxnet1 import BoxNet1Task
from fleetmind.tasks.boxnet2 import BoxNet2Task
from fleetmind.tasks.has import HasTask
from fleetmind.tasks.mapf_lifelong import MapfLifelongTask
from fleetmind.tasks.warehouse import WarehouseTask

log = logging.getLogger(__name__)

ADAPTERS: dict[type[Task], type[TaskAdapter]] = {
    BoxNet1Task: BoxNet1Adapter,
    BoxNet2Task: BoxNet2Adapter,
    WarehouseTask: WarehouseAdapter,
    BoxLiftTask: BoxLiftAdapter,
    MapfLifelongTask: MapfAdapter,
    HasTask: MapfAdapter,  # grid moves between cell centres, as in MAPF
}
"""The motion of each task, keyed by its plug-in class (a subclass of a plug-in gets its parent's motion)."""
FRAME_PERIOD = 0.1  # seconds of simulated time between recorded frames


class PyBulletFleet:
    """The PyBullet backend of the Fleet protocol (``inner`` is a GridFleet or a MapfFleet)."""

    def __init__(self, inner: Any, task: Task | str, settings: PyBulletSettings | None = None) -> None:
        self.plugin = get_task(task) if isinstance(task, str) else task
        self._adapter_type = adapter_for(self.plugin)
        self.inner = inner
        self.task_name = self.plugin.name
        self.settings = settings or PyBulletSettings()
        kind = self.settings.kind_for(self.plugin)
        if kind == "panda" and not self.plugin.static_robots:
            static = " and ".join(n for n in task_names() if get_task(n).static_robots)
            raise ValueError(f"robot kind 'panda' is a fixed arm: it serves {static}, not {self.plugin.name}")
        s = self.settings
        self.world = PhysicsWorld(s.mode == "kinematic", s.physics_hz, kind, s.urdf)
        self.executor = Executor(self.world, contact_every=s.contact_every)
        self.executor.on_tick = self._tick
        self.adapter: TaskAdapter = self._new_adapter()
        self.record_frames = False
        self.frames: list[Scene] = []
        self.images: dict[RobotId, np.ndarray] = {}
        self._next_frame = 0.0
        self._seed: int | None = None
        self._final: StepResult | None = None
        self._closed = False
        self._rng = np.random.default_rng(0)
        self.contacts = 0
        self._pose_watch: tuple[float, Callable[[float, dict[RobotId, tuple[float, float, float]]], None]] | None = None
        self._next_pose = 0.0

    @property
    def robot_ids(self) -> tuple[RobotId, ...]:
        return self.inner.robot_ids

    def reset(self, seed: int) -> Observation:
        if self._closed:
            raise FleetClosedError()
        obs = self.inner.reset(seed)
        self._build(obs)
        self._seed, self._final, self.contacts = seed, None, 0
        self._rng = np.random.default_rng(seed)
        self.frames, self._next_frame, self._next_pose = [], 0.0, 0.0
        self._tick()
        self._render(0)
        return self._augment(obs)

    def _build(self, obs: Observation) -> None:
        self.world.reset()
        self.adapter = self._new_adapter()
        self.adapter.build(obs.world, getattr(self.inner, "task", self.inner))
        self.executor.reset()

    def _new_adapter(self) -> TaskAdapter:
        s = self.settings
        return self._adapter_type(self.world, self.executor, s.cell_size, s.step_timeout, self.plugin)

    def rebuild(self) -> Observation:
        """Lay the physical world out again from the logical state (after a task's ``set_state``)."""
        obs = self.inner.observe()
        self._build(obs)
        return self._augment(obs)

    def _tick(self) -> None:
        if self.record_frames and self.world.t + 1e-9 >= self._next_frame:
            self.frames.append(self.adapter.scene())
            self._next_frame = self.world.t + FRAME_PERIOD
        if self._pose_watch is not None and self.world.t + 1e-9 >= self._next_pose:
            period, callback = self._pose_watch
            self._next_pose += period  # on the period's grid, not the tick's: 1/period calls per simulated second
            if self._next_pose <= self.world.t:
                self._next_pose = self.world.t + period
            callback(self.world.t, self.poses())

    def poses(self) -> dict[RobotId, tuple[float, float, float]]:
        """Every robot's physics pose now, ``(x m, y m, yaw rad)`` in the world frame (no odometry noise)."""
        out: dict[RobotId, tuple[float, float, float]] = {}
        for rid in self.inner.robot_ids:
            x, y, _, yaw = self.world.pose(self.world.robots[rid])
            out[RobotId(rid)] = (float(x), float(y), float(yaw))
        return out

    def watch_poses(
        self, period_s: float, callback: Callable[[float, dict[RobotId, tuple[float, float, float]]], None]
    ) -> None:
        """Call ``callback(sim_time, poses())`` every ``period_s`` of simulated time while physics steps (the ROS
        world node publishes odometry, tf and ``/clock`` from it during a step, at >= 20 Hz)."""
        if period_s <= 0:
            raise ValueError(f"period_s must be > 0, got {period_s}")
        self._pose_watch, self._next_pose = (period_s, callback), 0.0

    def take_frames(self) -> list[Scene]:
        """Scenes sampled since the last call (every 0.1 s of simulated time, when ``record_frames``)."""
        out, self.frames = self.frames, []
        return out

    def _render(self, step: int) -> None:
        cam = self.settings.camera
        if cam is None or step % cam.every:
            return
        self.images = {
            RobotId(r): self.world.camera(r, cam.width, cam.height, cam.fov_deg) for r in self.inner.robot_ids
        }

    def _augment(self, obs: Observation) -> Observation:
        noise = self.settings.odometry_noise
        robots: dict[RobotId, RobotObservation] = {}
        for rid, ro in obs.robots.items():
            x, y, _, yaw = self.world.pose(self.world.robots[rid])
            if noise > 0:
                x, y, yaw = np.array([x, y, yaw]) + self._rng.normal(0.0, noise, 3)
            odom = [round(float(x), 4), round(float(y), 4), round(float(yaw), 4)]
            robots[rid] = dataclasses.replace(ro, data={**ro.data, "odometry": odom})
        world = {**obs.world, "sim_time": round(self.world.t, 4), "cell_size": self.settings.cell_size}
        return dataclasses.replace(obs, robots=robots, world=world)

    def step(self, commands: Mapping[RobotId, Command]) -> StepResult:
        if (final := final_step(self._closed, self._seed is not None, self._final)) is not None:
            return final
        checked = self._validate(commands)
        vetoed, events = self.adapter.before(checked)
        result = self.inner.step({r: c for r, c in checked.items() if r not in vetoed})
        result, more = self.adapter.after(result, self.inner)
        if self.record_frames:  # the pose at the end of the step, exactly
            self._next_frame = self.world.t + FRAME_PERIOD
            self.frames.append(self.adapter.scene())
        contacts = sum(1 for e in (*events, *more) if e.kind == "contact") // 2
        self.contacts += contacts
        self._render(int(result.metrics["steps"]))
        metrics = {**result.metrics, "sim_time": round(self.world.t, 4), "contacts": self.contacts}
        final = StepResult(
            observation=self._augment(result.observation),
            events=(*result.events, *events, *more),
            done=result.done,
            failure_reason=result.failure_reason,
            metrics=metrics,
        )
        if final.done:
            self._final = final
        return final

    def _validate(self, commands: Mapping[RobotId, Command]) -> dict[RobotId, Command]:
        if hasattr(self.inner, "validate"):
            return self.inner.validate(commands)
        self.inner.actions_of(commands)  # MAPF: raises on unknown robots and foreign commands
        return dict(commands)

    def close(self) -> None:
        if not self._closed:
            self.world.close()
        self._closed = True


def adapter_for(task: Task) -> type[TaskAdapter]:
    """The motion of ``task``'s plug-in; ``ValueError`` naming the tasks the backend can play otherwise."""
    for cls in type(task).__mro__:
        if cls in ADAPTERS:
            return ADAPTERS[cls]
    known = ", ".join(cls.name for cls in ADAPTERS)
    raise ValueError(f"the pybullet backend has no motion for task {task.name!r}; known: {known}")


def make_pybullet_fleet(inner: Any, task: Task | str, settings: PyBulletSettings | None) -> PyBulletFleet:
    """The scenario's entry point (``world.backend: pybullet``); ``task`` is the plug-in or its name."""
    return PyBulletFleet(inner, task, settings)
