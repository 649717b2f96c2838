"""Lifelong multi-agent path finding with POGEMA 1.4 semantics (soft collisions, ``on_target=restart``).

The map loaders, the world's pure arrays and kernels, the metrics and the path checker live here, below both the
grid backend (``fleetmind.sim.grid.mapf``) and the MAPF planners (``fleetmind.planners.mapf``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Literal

from fleetmind.robots.commands import Command
from fleetmind.robots.fleet import Observation
from fleetmind.robots.ids import RobotId
from fleetmind.robots.scene import Scene
from fleetmind.tasks.base import Task, TaskConfig
from fleetmind.tasks.mapf_lifelong import layout
from pydantic import Field, field_validator


class MapfLifelongConfig(TaskConfig):
    task: Literal["mapf_lifelong"] = Field(description="Lifelong MAPF with POGEMA 1.4 semantics (soft collisions).")
    map: str = Field(
        "wfi_warehouse",
        description="Bundled map name (see fleetmind.tasks.mapf_lifelong.maps.map_names()) or the path of a MovingAI "
        ".map file (relative paths from the current folder).",
    )
    agents: int = Field(64, ge=1, le=10_000, strict=True, description="Number of agents.")
    episode_steps: int = Field(
        256, ge=1, le=100_000, strict=True, description="Steps per episode (the metric's divisor)."
    )
    obs_radius: int = Field(
        5, ge=1, le=64, strict=True, description="Observation radius R: agents see a (2R+1)^2 window."
    )
    on_target: Literal["restart", "nothing"] = Field(
        "restart",
        description="What an agent on its goal does (POGEMA's key): restart = lifelong (a new goal, throughput); "
        "nothing = one-shot MAPF (the episode ends when every agent is on its goal; CSR, ISR, makespan).",
    )

    @field_validator("map")
    @classmethod
    def _known_map(cls, value: str) -> str:
        from fleetmind.tasks.mapf_lifelong.maps import load_movingai, map_names

        if value.endswith(".map"):
            try:
                load_movingai(value)
            except FileNotFoundError:
                raise ValueError(
                    f"no MovingAI map file at {value!r} (a relative path is from the current folder)"
                ) from None
            except ValueError as exc:  # a bad header or size, not UTF-8: the message names the file
                raise ValueError(f"{exc}; give a MovingAI .map file") from None
            except OSError as exc:  # a folder, unreadable
                raise ValueError(f"cannot read {value!r}: {exc.strerror or exc}") from None
            return value
        if value not in map_names():
            raise ValueError(
                f"unknown map {value!r}; e.g. wfi_warehouse, pico_s00_od20_na32, den520d, or a MovingAI .map file"
            )
        return value


class MapfLifelongTask(Task):
    name = "mapf_lifelong"
    title = "Lifelong MAPF"
    config: ClassVar = MapfLifelongConfig

    def size_label(self, config: MapfLifelongConfig) -> str:
        return f"{config.agents} agents, {config.map}" + (", one-shot" if config.on_target == "nothing" else "")

    def real_robots_refusal(self, config: Any = None) -> str | None:
        return None

    def check(self, observation: Observation, plan: Mapping[RobotId, Command], physical: bool = True) -> list[str]:
        """Vertex and swap conflicts (on every backend: POGEMA's soft reverts are never relied on)."""
        from fleetmind.tasks.mapf_lifelong import shield

        return shield.check(observation, plan)

    def scene(self, world: Mapping[str, Any], cell: float = 1.0, z: float = 0.0, t: float = 0.0) -> Scene:
        return layout.scene(world, cell, z, t)


TASK = MapfLifelongTask()
