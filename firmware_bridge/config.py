"""Configuration of the real-robot fleet (pydantic v2, unknown keys are errors)."""

from __future__ import annotations

import logging
from pathlib import Path

from fleetmind.firmware_bridge.auth import load_key
from fleetmind.robots.errors import BadInputError
from pydantic import BaseModel, ConfigDict, Field, model_validator

log = logging.getLogger(__name__)


class RobotLinkConfig(BaseModel):
    """How to reach one robot: a serial port or a UDP address, and its key."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(description="Robot id in the fleet (also its ROS namespace), e.g. robot_0")
    wire_id: int = Field(ge=0, le=0xFFFE, description="Robot id in the frame header (0xFFFF is broadcast)")
    serial_port: str | None = Field(default=None, description="Serial device (or pty), e.g. /dev/ttyUSB0")
    baudrate: int = Field(default=115200, gt=0, description="Serial baud rate")
    udp_host: str | None = Field(default=None, description="Robot IP address for UDP")
    udp_port: int | None = Field(default=None, ge=1, le=65535, description="Robot UDP port")
    udp_bind: str | None = Field(
        default=None,
        description="Local address to bind for UDP, e.g. 0.0.0.0 for every interface (default: the interface "
        "that routes to udp_host)",
    )
    key_file: Path | None = Field(default=None, description="Hex key file; when set every frame is HMAC-tagged")
    allow_unauthenticated: bool = Field(
        default=False,
        description="Run this robot without a key_file (anyone on the link can drive it); must be set explicitly",
    )

    @model_validator(mode="after")
    def _one_transport(self) -> RobotLinkConfig:
        has_udp = self.udp_host is not None and self.udp_port is not None
        if (self.serial_port is None) == (not has_udp):
            raise ValueError(f"robot {self.name}: give either serial_port or udp_host + udp_port")
        return self


def link_key(cfg: RobotLinkConfig) -> bytes | None:
    """The robot's key, or ``None`` for a key-less link, which is refused unless ``allow_unauthenticated`` is set.

    Raises :class:`BadInputError` (one line naming the field) for a key-less link that was not allowed.
    """
    if cfg.key_file is not None:
        return load_key(cfg.key_file)
    if not cfg.allow_unauthenticated:
        raise BadInputError(
            f"robot {cfg.name}: no key_file, so anyone on its link could drive it; give key_file, or set "
            "allow_unauthenticated: true to run it without authentication"
        )
    log.warning(
        "robot %s: link without authentication (allow_unauthenticated: true): anyone on it can drive it", cfg.name
    )
    return None


class Limits(BaseModel):
    """Command limits checked on the host (the firmware applies its own limits too)."""

    model_config = ConfigDict(extra="forbid")

    max_linear: float = Field(default=0.8, gt=0, description="Largest |linear| velocity accepted, m/s")
    max_angular: float = Field(default=1.5, gt=0, description="Largest |angular| velocity accepted, rad/s")


class FirmwareFleetConfig(BaseModel):
    """A fleet of real robots speaking wire protocol v1."""

    model_config = ConfigDict(extra="forbid")

    robots: list[RobotLinkConfig] = Field(min_length=1, description="The robots, in fleet order")
    limits: Limits = Field(default_factory=Limits, description="Host-side command limits")
    step_period: float = Field(default=0.1, gt=0, le=5.0, description="Wall-clock seconds one step() lasts")
    step_limit: int = Field(default=100, ge=1, description="Steps before the episode ends with step_limit")
    heartbeat_timeout: float = Field(default=0.5, gt=0, description="Silence (s) after which a robot is lost")
    command_timeout: float = Field(default=0.5, gt=0, description="Host watchdog: a command older than this stops")
    send_rate: float = Field(default=25.0, gt=0, le=200.0, description="Frames per second per robot, at most")
    connect_timeout: float = Field(default=2.0, gt=0, description="Seconds reset() waits for each robot")
    backoff_max: float = Field(default=2.0, gt=0, description="Longest reconnect backoff, s")

    @model_validator(mode="after")
    def _unique(self) -> FirmwareFleetConfig:
        names = [r.name for r in self.robots]
        if len(set(names)) != len(names):
            raise ValueError(f"duplicate robot names in {names}")
        return self
