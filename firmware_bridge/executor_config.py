"""Scenario settings of the real-robot executor (``world.firmware`` of a ``backend: firmware`` scenario); pydantic."""

from __future__ import annotations

from typing import Literal

from fleetmind.firmware_bridge.config import RobotLinkConfig
from pydantic import BaseModel, ConfigDict, Field, model_validator


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LocalizationSettings(_Strict):
    """Where poses come from: odometry telemetry always; external fixes from a UDP/JSON feed when a port is set."""

    udp_port: int | None = Field(
        None, ge=0, le=65535, strict=True, description="UDP port of the external pose feed (0: any free port; "
        "none: odometry only). One JSON object per datagram: robot, x, y, yaw (map frame)."
    )  # fmt: skip
    udp_host: str = Field("127.0.0.1", description="Address the pose feed binds to.")
    max_age: float = Field(0.3, gt=0.0, le=10.0, description="Seconds an external fix counts as fresh.")


class SitlSettings(_Strict):
    """SITL robots the run starts itself (one process per robot, UDP on 127.0.0.1), with their motion model."""

    wheel_noise: float = Field(0.0, ge=0.0, le=1.0, description="Wheel speed noise, m/s (standard deviation).")
    max_accel: float = Field(2.0, ge=0.0, le=50.0, description="Wheel acceleration limit, m/s^2 (0: none).")
    seed: int = Field(1, ge=0, strict=True, description="Noise seed of robot 0 (robot k uses seed + k).")


class ExecutorSettings(_Strict):
    """How grid actions become motion on real (or SITL) robots. Every key is optional."""

    cell_size: float = Field(0.5, gt=0.05, le=20.0, description="Metres per grid cell of the shared map frame.")
    start: dict[str, tuple[float, float, float]] = Field(
        default_factory=dict,
        description="Per robot, its odometry origin in the map frame (x m, y m, yaw rad): where it stood when its "
        "odometry was zeroed. A robot left out is taken to stand on its start cell, facing +x, at the first reset.",
    )
    tolerance: float = Field(0.04, gt=0.0, le=1.0, description="Metres from a waypoint counted as arrived.")
    step_deadline: float = Field(15.0, gt=0.0, le=600.0, description="Seconds one step may take, else it fails.")
    reset_deadline: float = Field(60.0, gt=0.0, le=3600.0, description="Seconds to drive to the start cells.")
    control_rate: float = Field(25.0, ge=20.0, le=200.0, description="Control loop rate, Hz (>= 20).")
    max_linear: float = Field(0.5, gt=0.0, le=5.0, description="Top speed the controller commands, m/s.")
    max_angular: float = Field(1.5, gt=0.0, le=10.0, description="Top turn rate the controller commands, rad/s.")
    gain_linear: float = Field(
        3.0, gt=0.0, le=20.0, description="Speed per metre of distance left (1/s): how hard it closes on a waypoint."
    )
    min_separation: float = Field(
        0.3, gt=0.0, le=10.0, description="Metres between robot centres the executor keeps (slows / stops)."
    )
    collision_distance: float = Field(0.15, gt=0.0, le=10.0, description="Metres between centres counted a collision.")
    lost_radius: float = Field(
        0.75, ge=0.0, le=50.0, description="Robots within this many metres of a robot that is lost stop."
    )
    lost_hold: float = Field(0.3, ge=0.0, le=10.0, description="Seconds they stay stopped (then avoid its last pose).")
    on_lost: Literal["drop", "fail"] = Field(
        "drop", description="drop: a lost robot waits from then on and the others go on; fail: the episode ends."
    )
    heartbeat_timeout: float = Field(0.5, gt=0.0, le=10.0, description="Silence (s) after which a robot is lost.")
    localization: LocalizationSettings = Field(default_factory=LocalizationSettings, description="Pose sources.")
    sitl: SitlSettings | None = Field(None, description="Start one SITL robot per robot (default when no robots).")
    robots: list[RobotLinkConfig] = Field(
        default_factory=list, description="Robots you start yourself: one link per robot, named robot_0, robot_1, ..."
    )

    @model_validator(mode="after")
    def _consistent(self) -> ExecutorSettings:
        if self.robots and self.sitl is not None:
            raise ValueError("give either sitl (robots started by the run) or robots (their addresses), not both")
        names = [rc.name for rc in self.robots]
        if len(set(names)) != len(names):
            twice = sorted({n for n in names if names.count(n) > 1})
            raise ValueError(f"two links are named {', '.join(twice)}; give each robot its own name")
        seen: dict[object, str] = {}
        for rc in self.robots:  # two links to one robot is a typo: say which here, not as a silent robot later
            for key in (("serial", rc.serial_port), ("udp", f"{rc.udp_host}:{rc.udp_port}") if rc.udp_host else None):
                if key is None or key[1] is None:
                    continue
                if key in seen:
                    raise ValueError(
                        f"robots {seen[key]} and {rc.name} share the link {key[0]} {key[1]}; give each its own"
                    )
                seen[key] = rc.name
        if self.collision_distance >= self.min_separation:
            raise ValueError(
                f"collision_distance ({self.collision_distance}) must be below min_separation ({self.min_separation})"
            )
        return self

    @property
    def autostart(self) -> bool:
        """Whether the run starts SITL robots itself."""
        return not self.robots
