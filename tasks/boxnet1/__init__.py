"""BoxNet1 (Chen et al., ICRA 2024): boxes between cells, one robot per cell."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Literal

from fleetmind.robots.commands import Command
from fleetmind.robots.fleet import Observation
from fleetmind.robots.ids import RobotId
from fleetmind.robots.planner import Planner
from fleetmind.robots.scene import Scene
from fleetmind.tasks.base import GridTaskPlugin, TaskConfig, UndoMoves
from fleetmind.tasks.base import size_pair as _pair
from fleetmind.tasks.boxnet1 import hints, layout, shield
from fleetmind.tasks.boxnet1.rules import BoxNet1
from pydantic import Field


class BoxNet1Config(TaskConfig):
    task: Literal["boxnet1"] = Field(description="BoxNet1: boxes between cells, one robot per cell.")
    rows: int = Field(2, ge=1, le=32, strict=True, description="Grid rows (paper: 2 or 4).")
    cols: int = Field(2, ge=1, le=32, strict=True, description="Grid columns (paper: 2, 4 or 8).")
    step_limit: int | None = Field(None, ge=1, le=10_000, strict=True, description="Override the task's step limit.")


class BoxNet1Task(GridTaskPlugin):
    name = "boxnet1"
    title = "BoxNet1"
    config: ClassVar = BoxNet1Config
    paper_sizes = ("2x2", "2x4", "4x4", "4x8")
    static_robots = True
    rules_text = (
        "Robots stand at the centres of grid squares. A robot can move one box of its own square to a "
        "neighbouring square, or into a same-colour target in its own square (box and target vanish). "
        "Goal: every box into a target of its colour, in as few steps as possible."
    )

    coordinates_text = (
        "Positions are (row, column), row 0 at the top: square[0.5, 1.5] is the centre of the square in row 0, "
        "column 1."
    )

    def size_label(self, config: BoxNet1Config) -> str:
        return f"{config.rows}x{config.cols}"

    def world_for_size(self, size: str) -> dict[str, Any]:
        rows, cols = _pair(size)
        return {"task": self.name, "rows": rows, "cols": cols}

    def make_rules(self, config: BoxNet1Config) -> BoxNet1:
        return BoxNet1(config.rows, config.cols)

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
