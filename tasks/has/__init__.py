"""HAS-style navigation missions on unknown maps (issue 16): exploration, multi-target search, sequential search,
described-goal navigation and re-organization, on seeded semantic maps (:mod:`fleetmind.tasks.has.maps`).

Robots move one 4-connected cell a step (POGEMA's moves, as in lifelong MAPF) and sense within ``radius`` with line
of sight (the world is :mod:`fleetmind.sim.explore`). The shield refuses vertex and swap conflicts among the robots
that are online; a robot knows its four neighbours (always within its sensing), so the shield needs no hidden map.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Literal

from fleetmind.robots.commands import Command
from fleetmind.robots.fleet import Observation
from fleetmind.robots.ids import RobotId
from fleetmind.robots.scene import Scene
from fleetmind.tasks.base import Task, TaskConfig
from pydantic import Field

MISSIONS: tuple[str, ...] = ("explore", "multi_search", "sequential", "described_goal", "reorg")


class HasConfig(TaskConfig):
    task: Literal["has"] = Field(description="HAS navigation missions on unknown maps (issue 16).")
    mission: Literal["explore", "multi_search", "sequential", "described_goal", "reorg"] = Field(
        "explore",
        description="M1 explore (coverage), M2 multi_search (find every target), M3 sequential (reach targets in "
        "turn), M4 described_goal (reach the goal given in words or as a patch), M5 reorg (explore; a quarter of the "
        "robots drop out and as many join at 30% of the budget).",
    )
    family: Literal["open", "rooms", "maze", "caves"] = Field("rooms", description="Map family (seeded per episode).")
    size: int = Field(64, ge=16, le=256, strict=True, description="Map side in cells (64, 128, 256).")
    robots: int = Field(8, ge=1, le=128, strict=True, description="Robots at the start.")
    radius: int = Field(5, ge=1, le=16, strict=True, description="Sensing radius in cells (line of sight).")
    comm_range: int | None = Field(
        None,
        ge=1,
        le=1024,
        strict=True,
        description="Communication range in cells (maps merge only within it); null: unlimited.",
    )
    targets: int = Field(3, ge=1, le=16, strict=True, description="Target objects (M2, M3; M4 uses the first).")
    goal_form: Literal["words", "patch"] = Field(
        "words", description="M4: the goal in words, or as a 5x5 grid patch around it (the 'image' goal)."
    )
    step_limit: int = Field(1000, ge=1, le=100_000, strict=True, description="Step budget of an episode.")


class HasTask(Task):
    name = "has"
    title = "HAS navigation missions (explore, search, described goal)"
    config: ClassVar = HasConfig
    coordinates_text = "Cells are (row, col); row 0 is the north edge, col 0 the west edge."

    def size_label(self, config: HasConfig) -> str:
        return f"{config.robots} robots, {config.family} {config.size}x{config.size}, {config.mission}"

    def real_robots_refusal(self, config: Any = None) -> str | None:
        """Every mission but M5 (reorg), whose joining robots appear on the map at 30% of the budget."""
        if config is not None and config.mission == "reorg":
            return "mission 'reorg' puts the robots that join onto the map mid-episode, which real robots cannot do"
        return None

    def check(self, observation: Observation, plan: Mapping[RobotId, Command], physical: bool = True) -> list[str]:
        """Vertex and swap conflicts among the online robots; commands to offline robots."""
        from fleetmind.tasks.has import shield

        return shield.check(observation, plan)

    def scene(self, world: Mapping[str, Any], cell: float = 1.0, z: float = 0.0, t: float = 0.0) -> Scene:
        from fleetmind.tasks.has import layout

        return layout.scene(world, cell, z, t)


TASK = HasTask()
