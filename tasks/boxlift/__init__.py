"""BoxLift (Chen et al., ICRA 2024): lifters of known capacity team up on boxes of hidden weight."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Literal

from fleetmind.robots.commands import Command, Lift
from fleetmind.robots.fleet import Observation
from fleetmind.robots.ids import RobotId
from fleetmind.robots.planner import Planner
from fleetmind.robots.scene import Scene
from fleetmind.tasks.base import GridTaskPlugin, TaskConfig, UndoMoves
from fleetmind.tasks.base import size_pair as _pair
from fleetmind.tasks.boxlift import layout, shield
from fleetmind.tasks.boxlift.rules import BoxLift
from pydantic import Field


class BoxLiftConfig(TaskConfig):
    task: Literal["boxlift"] = Field(description="BoxLift: lifters team up on boxes of hidden weight.")
    lifters: int = Field(4, ge=1, le=64, strict=True, description="Number of lifters (paper: 4, 6, 8, 10).")
    boxes: int = Field(10, ge=1, le=256, strict=True, description="Number of boxes (paper: 10, 14, 18, 24).")
    step_limit: int | None = Field(None, ge=1, le=10_000, strict=True, description="Override the task's step limit.")


class BoxLiftTask(GridTaskPlugin):
    name = "boxlift"
    title = "BoxLift"
    config: ClassVar = BoxLiftConfig
    paper_sizes = ("4x10", "6x14", "8x18", "10x24")
    robot_kind = "lifter"
    rules_text = (
        "Lifters have known capacities (W); boxes have volumes (V) and hidden weights close to their volume. "
        "Lifters that choose the same box lift it if their capacities add up to its weight; each lifter "
        "joins one box per step. Failed lifts come back as feedback. Goal: lift every box."
    )

    def size_label(self, config: BoxLiftConfig) -> str:
        return f"{config.lifters} lifters, {config.boxes} boxes"

    def real_robots_refusal(self, config: Any = None) -> str | None:
        return "its robots lift boxes, which real robots here cannot"

    def world_for_size(self, size: str) -> dict[str, Any]:
        lifters, boxes = _pair(size)
        return {"task": self.name, "lifters": lifters, "boxes": boxes}

    def make_rules(self, config: BoxLiftConfig) -> BoxLift:
        return BoxLift(config.lifters, config.boxes)

    def make_oracle(self) -> Planner:
        from fleetmind.tasks.boxlift.oracle import BoxLiftOracle

        return BoxLiftOracle()

    def check(self, observation: Observation, plan: Mapping[RobotId, Command], physical: bool = True) -> list[str]:
        return shield.check(observation, plan)

    def hint(self, robot: RobotId, command: Command, world: Mapping[str, Any], undo: UndoMoves) -> tuple[str, float]:
        if isinstance(command, Lift):
            volume = world["boxes"][str(command.box)]
            return f"volume {volume:.1f}", -volume
        return "", 0.0

    def scene(self, world: Mapping[str, Any], cell: float = 1.0, z: float = 0.0, t: float = 0.0) -> Scene:
        return layout.scene(world, cell, z, t)


TASK = BoxLiftTask()
