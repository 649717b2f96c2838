"""Scenario settings of the PyBullet backend (``world.pybullet`` in a scenario file); pure pydantic."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Literal

import fleetmind.robots as robots_package
from pydantic import BaseModel, ConfigDict, Field, field_validator

if TYPE_CHECKING:
    from fleetmind.tasks import Task

ROBOT_KINDS: tuple[str, ...] = ("diff_drive", "lifter", "quadrotor", "husky", "panda")
"""Robot kinds the backend knows: fleetmind's URDFs (robots/urdf), pybullet_data's husky and panda (a fixed
arm, for the tasks whose robots never leave their cell: ``Task.static_robots``)."""

URDF_DIR = Path(robots_package.__file__).resolve().parent / "urdf"


class CameraSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    width: int = Field(64, ge=8, le=1024, strict=True, description="Image width in pixels.")
    height: int = Field(48, ge=8, le=1024, strict=True, description="Image height in pixels.")
    fov_deg: float = Field(70.0, gt=1.0, lt=179.0, description="Vertical field of view in degrees.")
    every: int = Field(1, ge=1, le=1000, strict=True, description="Render one image every N task steps.")


class PyBulletSettings(BaseModel):
    """How a grid or MAPF scenario runs in 3D physics. Every key is optional."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    mode: Literal["kinematic", "dynamic"] = Field(
        "kinematic",
        description="kinematic: poses set along the planned motion, collision checks only (100s of robots); "
        "dynamic: wheel motors / rotor thrust through the controllers.",
    )
    cell_size: float = Field(1.0, gt=0.2, le=20.0, description="Metres per grid cell.")
    physics_hz: int = Field(
        240, ge=30, le=2000, strict=True, description="Physics (and kinematic interpolation) rate in Hz."
    )
    robot: str | None = Field(
        None, description=f"Robot kind: {', '.join(ROBOT_KINDS)} (default: the task's own, e.g. lifter for BoxLift)."
    )
    urdf: str | None = Field(None, description="Custom URDF file for the robots (overrides the kind's own URDF).")
    odometry_noise: float = Field(0.0, ge=0.0, le=1.0, description="Std. dev. of odometry noise (m and rad).")
    camera: CameraSettings | None = Field(None, description="Per-robot camera images (TinyRenderer, headless).")
    step_timeout: float = Field(60.0, gt=0.0, le=3600.0, description="Simulated seconds one task step may take.")
    contact_every: int = Field(
        4, ge=1, le=1000, strict=True, description="Check robot-robot contacts every N physics ticks."
    )

    @field_validator("robot")
    @classmethod
    def _known_kind(cls, value: str | None) -> str | None:
        if value is not None and value not in ROBOT_KINDS:
            raise ValueError(f"unknown robot kind {value!r}; known kinds: {', '.join(ROBOT_KINDS)}")
        return value

    @field_validator("urdf")
    @classmethod
    def _urdf_exists(cls, value: str | None) -> str | None:
        if value is not None and not Path(value).is_file():
            raise ValueError(f"URDF file not found: {value}")
        return value

    def kind_for(self, task: Task) -> str:
        """The robot kind this scenario names, else the task's own (``Task.robot_kind``)."""
        return self.robot or task.robot_kind
