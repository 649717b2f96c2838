"""Warehouse (Chen et al., ICRA 2024): robots on tracks bring boxes to the target."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Literal

from fleetmind.robots.commands import Command
from fleetmind.robots.fleet import Observation
from fleetmind.robots.ids import RobotId
from fleetmind.robots.planner import Planner
from fleetmind.robots.scene import Scene
from fleetmind.tasks.base import GridTaskPlugin, TaskConfig, UndoMoves
from fleetmind.tasks.warehouse import hints, layout, shield
from fleetmind.tasks.warehouse.rules import Warehouse
from pydantic import Field


class WarehouseConfig(TaskConfig):
    task: Literal["warehouse"] = Field(description="Warehouse: robots on tracks bring boxes to the target.")
    robots: int = Field(4, ge=1, le=64, strict=True, description="Number of robots (paper: 4, 6, 8, 10).")
    step_limit: int | None = Field(None, ge=1, le=10_000, strict=True, description="Override the task's step limit.")
    paper_swaps: bool = Field(
        False,
        description="Reproduce the paper's end-of-step-only collision check, under which two robots may swap "
        "places through each other; grid world only (physical backends refuse it).",
    )

    def paper_rules(self) -> str | None:
        return "paper_swaps" if self.paper_swaps else None


class WarehouseTask(GridTaskPlugin):
    name = "warehouse"
    title = "Warehouse"
    config: ClassVar = WarehouseConfig
    paper_sizes = ("4", "6", "8", "10")
    rules_text = (
        "Robots drive along tracks (columns 0..N, column 0 next to the target area). Boxes wait between "
        "tracks; an empty-handed robot picks a box 0.5 rows above or below it in its column, carries it to "
        "column 0 and moves to target to deliver; from the target it can enter any track at column 0. Two "
        "robots on one track cell is a collision and fails the task. Goal: deliver every box."
    )

    coordinates_text = (
        "box_1.5_2 is the box between track_1 and track_2 at column 2 (row 1.5, column 2); column 0 is next to "
        "the target."
    )

    def size_label(self, config: WarehouseConfig) -> str:
        return f"{config.robots} robots"

    def real_robots_refusal(self, config: Any = None) -> str | None:
        return None  # picking and delivering are logical: the robots only drive between cells

    def world_for_size(self, size: str) -> dict[str, Any]:
        return {"task": self.name, "robots": int(size)}

    def make_rules(self, config: WarehouseConfig) -> Warehouse:
        return Warehouse(config.robots)

    def make_oracle(self) -> Planner:
        from fleetmind.tasks.warehouse.oracle import WarehouseOracle

        return WarehouseOracle()

    def check(self, observation: Observation, plan: Mapping[RobotId, Command], physical: bool = True) -> list[str]:
        return shield.check(observation, plan, physical)

    def hint(self, robot: RobotId, command: Command, world: Mapping[str, Any], undo: UndoMoves) -> tuple[str, float]:
        return hints.hint(robot, command, world)

    def scene(self, world: Mapping[str, Any], cell: float = 1.0, z: float = 0.0, t: float = 0.0) -> Scene:
        return layout.scene(world, cell, z, t)


TASK = WarehouseTask()
