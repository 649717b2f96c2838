"""MAVLink vehicle and drone fleet configuration (pydantic v2, unknown keys are errors), and the map <-> vehicle frames.

The ``map`` frame is the grid's metric frame (:func:`fleetmind.robots.scene.cell_xy`: x along columns, y along
rows, z up, cells of ``cell_size`` metres). Each vehicle flies in its own local NED frame (x north, y east,
z down, origin where its EKF started, usually its take-off spot); ``start`` says where that frame lies in the map.
The keys the ground-robot executor also has (``cell_size``, ``start``, ``tolerance``, ``step_deadline``,
``reset_deadline``, ``robots``) mean the same there (:mod:`fleetmind.firmware_bridge.executor_config`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


@dataclass(frozen=True)
class MapOrigin:
    """Where a vehicle's local NED origin lies in the map frame: ``x``, ``y`` m and ``yaw``, the direction of its
    local north (x) axis in the map, rad counter-clockwise from map x. Local east is to the right of north."""

    x: float = 0.0
    y: float = 0.0
    yaw: float = 0.0

    @classmethod
    def placing(cls, north: float, east: float, x: float, y: float) -> MapOrigin:
        """The origin (yaw 0) that puts local ``(north, east)`` at map ``(x, y)``."""
        return cls(x - north, y + east, 0.0)

    def to_local(self, x: float, y: float, altitude: float) -> tuple[float, float, float]:
        """Map ``(x, y)`` m at ``altitude`` m above the origin -> local NED ``(north, east, down)``."""
        dx, dy = x - self.x, y - self.y
        c, s = math.cos(self.yaw), math.sin(self.yaw)
        north, west = c * dx + s * dy, -s * dx + c * dy
        return (north, -west, -altitude)

    def to_map(self, north: float, east: float, down: float) -> tuple[float, float, float]:
        """Local NED -> map ``(x, y, altitude)``."""
        c, s = math.cos(self.yaw), math.sin(self.yaw)
        west = -east
        return (self.x + c * north - s * west, self.y + s * north + c * west, -down)


class MavlinkConfig(BaseModel):
    """How to reach one MAVLink vehicle."""

    model_config = ConfigDict(extra="forbid")

    url: str = Field(description="pymavlink connection string, e.g. udpout:127.0.0.1:14540 or /dev/ttyACM0")
    autopilot: Literal["px4", "ardupilot"] = Field(default="px4", description="Autopilot family (mode numbers)")
    target_system: int = Field(default=1, ge=1, le=255, description="Vehicle system id")
    target_component: int = Field(default=1, ge=0, le=255, description="Autopilot component id")
    source_system: int = Field(default=255, ge=1, le=255, description="Our system id (GCS)")
    setpoint_rate: float = Field(default=20.0, ge=10.0, le=100.0, description="Setpoint stream rate, Hz")
    heartbeat_rate: float = Field(default=2.0, gt=0, description="Our heartbeat rate, Hz")
    link_timeout: float = Field(default=1.0, gt=0, description="Vehicle heartbeat silence that means link loss, s")
    failsafe: Literal["hold", "land"] = Field(default="hold", description="Mode commanded on link loss")


class DroneConfig(MavlinkConfig):
    """One vehicle: its MAVLink link (``url``, ``autopilot``: px4 flies offboard, ardupilot guided), its fleet
    name and where its local frame lies in the map. Link loss lands it unless ``failsafe`` says hold."""

    name: str = Field(description="Robot id in the fleet (the task's robot, e.g. robot_0)")
    failsafe: Literal["hold", "land"] = Field(default="land", description="Mode commanded on link loss")
    altitude: float | None = Field(
        default=None, gt=0, le=100.0, description="This vehicle's working altitude, m (default: the fleet's)"
    )


class DroneFleetConfig(BaseModel):
    """A fleet of MAVLink vehicles playing a grid task: each grid cell becomes a local position setpoint."""

    model_config = ConfigDict(extra="forbid")

    robots: list[DroneConfig] = Field(min_length=1, description="The vehicles, one per robot of the task")
    cell_size: float = Field(default=1.0, gt=0.2, le=50.0, description="Metres per grid cell of the map frame")
    start: dict[str, tuple[float, float, float]] = Field(
        default_factory=dict,
        description="Per robot, its local NED origin in the map frame (x m, y m, yaw rad of its north axis). A "
        "vehicle left out is taken to stand on its start cell, north along map x, at the first reset",
    )
    altitude: float = Field(default=1.5, gt=0, le=100.0, description="Working altitude above each origin, m")
    layer_gap: float = Field(
        default=1.0,
        ge=0.0,
        le=20.0,
        description="On the way to the start cells, vehicle k flies at altitude + k * layer_gap so that no two "
        "paths cross at one height (0: straight there)",
    )
    tolerance: float = Field(
        default=0.15, gt=0, le=5.0, description="Distance to its setpoint that counts as arrived, m"
    )
    step_deadline: float = Field(default=10.0, gt=0, le=600.0, description="Seconds one step may take to arrive")
    reset_deadline: float = Field(
        default=30.0, gt=0, le=600.0, description="Seconds each take-off phase of reset() may take"
    )
    land_deadline: float = Field(default=30.0, gt=0, le=600.0, description="Seconds landing may take")
    connect_timeout: float = Field(default=5.0, gt=0, le=120.0, description="Seconds to wait for each link and arm")
    poll_period: float = Field(
        default=0.01, gt=0, le=0.05, description="Seconds one round over every vehicle's link lasts"
    )

    @model_validator(mode="after")
    def _unique(self) -> DroneFleetConfig:
        names = [r.name for r in self.robots]
        if len(set(names)) != len(names):
            raise ValueError(f"duplicate robot names in {names}")
        if self.tolerance >= self.cell_size / 2:
            raise ValueError(
                f"tolerance ({self.tolerance} m) must be below half a cell ({self.cell_size / 2} m), or a vehicle "
                "would count as arrived before it left its cell"
            )
        unknown = sorted(set(self.start) - set(names))
        if unknown:
            raise ValueError(f"start names {unknown}, which are not in robots ({names})")
        return self

    def altitude_of(self, robot: DroneConfig) -> float:
        return robot.altitude if robot.altitude is not None else self.altitude
