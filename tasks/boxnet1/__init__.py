"""BoxNet1 (Chen et al., ICRA 2024): boxes between cells, one robot per cell."""

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
from fleetmind.tasks.boxnet1 import hints, layout, shield
from fleetmind.tasks.boxnet1.rules import BoxNet1
from pydantic import Field


class BoxNet1Config(BoxNetConfig):
    task: Literal["boxnet1"] = Field(description="BoxNet1: boxes between cells, one robot per cell.")


class BoxNet1Task(BoxNetPlugin):
    name = "boxnet1"
    title = "BoxNet1"
    config: ClassVar = BoxNet1Config
    rules_class = BoxNet1
    rules_text = (
        "Robots stand at the centres of grid squares. A robot can move one box of its own square to a "
        "neighbouring square, or into a same-colour target in its own square (box and target vanish). "
        "Goal: every box into a target of its colour, in as few steps as possible."
    )

    coordinates_text = (
        "Positions are (row, column), row 0 at the top: square[0.5, 1.5] is the centre of the square in row 0, "
        "column 1."
    )

    def make_oracle(self) -> Planner:
        from fleetmind.tasks.boxnet1.oracle import BoxNet1Oracle

        return BoxNet1Oracle()

    def check(self, observation: Observation, plan: Mapping[RobotId, Command], physical: bool = True) -> list[str]:
        return shield.check(observation, plan)

    def hint(self, robot: RobotId, command: Command, world: Mapping[str, Any], undo: UndoMoves) -> tuple[str, float]:
        return hints.hint(robot, command, world, undo)

    def scene(self, world: Mapping[str, Any], cell: float = 1.0, z: float = 0.0, t: float = 0.0) -> Scene:
        return layout.scene(world, cell, z, t)


TASK = BoxNet1Task()
