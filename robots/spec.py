"""What a robot is: kinematics, footprint, speed, capacity."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Kinematics(StrEnum):
    """How a robot moves."""

    GRID = "grid"  # teleports cell to cell (grid worlds)
    STATIC = "static"  # a fixed arm / manipulator at one cell (BoxNet robots)
    DIFF_DRIVE = "diff_drive"  # unicycle, wheels
    HOLONOMIC = "holonomic"
    QUADROTOR = "quadrotor"


@dataclass(frozen=True)
class RobotSpec:
    """Physical description of one robot.

    ``footprint_radius`` in metres, ``max_speed`` in m/s, ``payload`` in kg (what it can carry alone),
    ``lift_capacity`` in the task's weight unit (BoxLift lifters; 0 for robots that cannot lift).
    """

    kind: str
    kinematics: Kinematics
    footprint_radius: float = 0.2
    max_speed: float = 0.5
    payload: float = 0.0
    lift_capacity: float = 0.0

    def __post_init__(self) -> None:
        for name in ("footprint_radius", "max_speed", "payload", "lift_capacity"):
            value = getattr(self, name)
            if value < 0:
                raise ValueError(f"RobotSpec.{name} must be >= 0, got {value}")
