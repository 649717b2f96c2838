"""BoxNet2 (Chen et al., ICRA 2024): boxes on cell corners, two boxes on one corner collide."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Literal

from fleetmind.robots.commands import Command
from fleetmind.robots.fleet import Observation
from fleetmind.robots.ids import RobotId
from fleetmind.robots.planner import Planner
from fleetmind.robots.scene import Scene
from fleetmind.tasks._boxnet import BoxNetConfig, BoxNetPlugin
from fleetmind.tasks.base import UndoMoves
from fleetmind.tasks.boxnet2 import hints, layout, shield
from fleetmind.tasks.boxnet2.rules import BoxNet2
from pydantic import Field


class BoxNet2Config(BoxNetConfig):
    task: Literal["boxnet2"] = Field(description="BoxNet2: boxes on corners, must not collide.")


class BoxNet2Task(BoxNetPlugin):
    name = "boxnet2"
    title = "BoxNet2"
    config: ClassVar = BoxNet2Config
    rules_class = BoxNet2
    rules_text = (
        "Boxes sit on square corners, robots at square centres, targets at centres. A robot can move a box "
        "on a corner of its square to another corner of its square, or into the same-colour target at its "
        "centre. Two boxes on one corner is a collision and fails the task. Goal: every box into its target."
    )

    coordinates_text = (
        "Positions are (row, column), row 0 at the top: square[0.5, 1.5] is the centre of the square in row 0, "
        "column 1; position[1.0, 2.0] is the corner where rows 0 and 1 and columns 1 and 2 meet."
    )

    def make_oracle(self) -> Planner:
        from fleetmind.tasks.boxnet2.oracle import BoxNet2Oracle

        return BoxNet2Oracle()

    def check(self, observation: Observation, plan: Mapping[RobotId, Command], physical: bool = True) -> list[str]:
        return shield.check(observation, plan)

    def hint(self, robot: RobotId, command: Command, world: Mapping[str, Any], undo: UndoMoves) -> tuple[str, float]:
        return hints.hint(robot, command, world, undo)

    def doomed(self, observation: Observation) -> dict[RobotId, list[Command]]:
        return hints.doomed(observation)

    def scene(self, world: Mapping[str, Any], cell: float = 1.0, z: float = 0.0, t: float = 0.0) -> Scene:
        return layout.scene(world, cell, z, t)


TASK = BoxNet2Task()
