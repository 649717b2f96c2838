"""Base of the task adapters: a grid task's logical model on one side, its physical scene on the other."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from fleetmind.robots.commands import Command
from fleetmind.robots.fleet import RobotEvent, StepResult
from fleetmind.robots.ids import RobotId
from fleetmind.robots.scene import Item, Scene
from fleetmind.sim.pybullet.motion import Executor, Outcome, Script
from fleetmind.sim.pybullet.world import PhysicsWorld
from fleetmind.tasks import Task

XY = tuple[float, float]


def approach(frm: XY, obj: XY, reach: float) -> XY:
    """Where a robot coming from ``frm`` stops so that its front (``reach`` ahead) is on ``obj``."""
    dx, dy = obj[0] - frm[0], obj[1] - frm[1]
    d = math.hypot(dx, dy)
    if d < 1e-9:
        return obj[0] - reach, obj[1]
    return obj[0] - reach * dx / d, obj[1] - reach * dy / d


class TaskAdapter:
    """Builds the physical scene of a task and turns each step's commands into motion.

    ``build`` lays out the scene of the task's plug-in (``plugin.scene``); ``before(commands)`` runs the motion
    of a step and returns the robots whose command physics vetoed (with failure events); ``after(result)`` runs
    what must follow the logical step (MAPF moves) and may patch the result.
    """

    def __init__(self, world: PhysicsWorld, executor: Executor, cell: float, timeout: float, plugin: Task) -> None:
        self.plugin = plugin
        self.world = world
        self.executor = executor
        self.cell = cell
        self.timeout = timeout
        self.meta: dict[str, Item] = {}
        self.homes: dict[str, tuple[float, float, float]] = {}
        self.contacts: list[tuple[float, str, str]] = []
        self.task: Any = None

    @property
    def reach(self) -> float:
        return self.world.body.reach

    def build(self, world_data: Mapping[str, Any], task: Any) -> None:
        self.task = task
        scene = self.plugin.scene(world_data, self.cell, self.world.body.z)
        for name, (x, y, _, yaw) in scene.robots.items():
            self.world.add_robot(name, x, y, yaw)
            self.homes[name] = (x, y, yaw)
        for item in scene.boxes:
            self.add_box(self.adjust(item, task))
        for item in scene.targets:
            self.meta[item.key] = item
            self.world.add_item(item, collide=False)

    def adjust(self, item: Item, task: Any) -> Item:
        """Hook: change a box before it is created (BoxLift: its hidden weight as mass)."""
        if self.world.body.flying and item.mass > 0:  # a Crazyflie carries a few grams
            return Item(item.key, item.pos, (0.04, 0.04, 0.04), item.rgba, 0.002, item.colour, item.count)
        return item

    def add_box(self, item: Item) -> None:
        self.meta[item.key] = item
        self.world.add_item(item)

    def home_steps(self, robot: str) -> list[Any]:
        from fleetmind.sim.pybullet.motion import Drive

        x, y, yaw = self.homes[robot]
        return [Drive(x, y, face=(x + math.cos(yaw), y + math.sin(yaw)))]

    def run(self, scripts: list[Script]) -> Outcome:
        out = self.executor.run(scripts, self.timeout)
        self.contacts.extend(out.contacts)
        return out

    def contact_events(self, out: Outcome) -> list[RobotEvent]:
        events = []
        for t, a, b in out.contacts:
            events.append(RobotEvent(RobotId(a), "contact", f"touched {b} at t={t:.2f} s"))
            events.append(RobotEvent(RobotId(b), "contact", f"touched {a} at t={t:.2f} s"))
        return events

    def restore(self, key: str, pose: tuple[float, float, float, float]) -> None:
        """Put a box back where it was (a failed primitive leaves the world as the task sees it)."""
        for robot, k in list(self.executor.carrying.items()):
            if k == key:
                self.executor.carrying.pop(robot)
                self.executor._unconstrain(robot)
        if key in self.world.items:
            self.world.set_pose(self.world.items[key], *pose)

    def before(self, commands: Mapping[RobotId, Command]) -> tuple[set[RobotId], list[RobotEvent]]:
        return set(), []

    def after(self, result: StepResult, fleet: Any) -> tuple[StepResult, list[RobotEvent]]:
        return result, []

    def scene(self) -> Scene:
        """The physical scene now (for recording)."""
        robots = {n: self.world.pose(b) for n, b in self.world.robots.items()}
        boxes, targets = [], []
        for key, body in self.world.items.items():
            m = self.meta[key]
            x, y, z, _ = self.world.pose(body)
            item = Item(key, (x, y, z), m.size, m.rgba, m.mass, m.colour, m.count)
            (boxes if m.mass > 0 else targets).append(item)
        return Scene(self.world.t, robots, boxes, targets)
