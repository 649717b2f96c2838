"""Where each robot is in the shared ``map`` frame: odometry telemetry, corrected by external fixes when they come.

Each robot keeps one transform, ``map <- <robot>/odom`` (:meth:`Localizer.map_from_odom`). It starts as the robot's
start transform from the scenario (or, when none is given, the one that puts the robot on its start cell at the first
reset). The pose in the map frame is that transform composed with the robot's odometry. An external fix (motion
capture, AprilTags, AMCL; over ROS a ``geometry_msgs/PoseStamped`` that the node hands to
:meth:`Localizer.push_external`, without ROS the UDP/JSON feed of :class:`UdpPoseFeed`) replaces the transform so that
the pose equals the fix at that instant: the fix wins while it is fresh, and odometry carries the pose on between
fixes (the way AMCL publishes ``map -> odom``). A fix older than ``max_age`` when it arrives is dropped.
"""

from __future__ import annotations

import json
import logging
import math
import socket
from collections.abc import Iterable
from dataclasses import dataclass

from fleetmind.robots.clock import MONOTONIC, Clock
from fleetmind.robots.ids import RobotId
from pydantic import BaseModel, ConfigDict, Field, ValidationError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Pose2D:
    """A planar pose or transform: metres, metres, radians (yaw in ``[-pi, pi)``)."""

    x: float
    y: float
    yaw: float

    def compose(self, other: Pose2D) -> Pose2D:
        """``self * other``: ``other`` expressed in ``self``'s parent frame."""
        c, s = math.cos(self.yaw), math.sin(self.yaw)
        return Pose2D(
            self.x + c * other.x - s * other.y, self.y + s * other.x + c * other.y, _wrap(self.yaw + other.yaw)
        )

    def inverse(self) -> Pose2D:
        c, s = math.cos(self.yaw), math.sin(self.yaw)
        return Pose2D(-c * self.x - s * self.y, s * self.x - c * self.y, _wrap(-self.yaw))

    def distance(self, other: Pose2D) -> float:
        return math.hypot(self.x - other.x, self.y - other.y)

    def as_tuple(self) -> tuple[float, float, float]:
        return (self.x, self.y, self.yaw)


IDENTITY = Pose2D(0.0, 0.0, 0.0)


def _wrap(a: float) -> float:
    return (a + math.pi) % (2.0 * math.pi) - math.pi


class Localizer:
    """Fused map-frame poses of a set of robots; every time is on ``clock``."""

    def __init__(self, robots: Iterable[RobotId], max_age: float = 0.3, clock: Clock = MONOTONIC) -> None:
        if max_age <= 0:
            raise ValueError(f"max_age must be > 0 seconds, got {max_age}")
        self.robots = tuple(robots)
        self.max_age = max_age
        self.clock = clock
        self._map_from_odom: dict[RobotId, Pose2D | None] = dict.fromkeys(self.robots)
        self._odom: dict[RobotId, Pose2D | None] = dict.fromkeys(self.robots)
        self._fix_time: dict[RobotId, float | None] = dict.fromkeys(self.robots)
        self.fixes = 0
        self.dropped = 0

    def _known(self, robot: RobotId) -> None:
        if robot not in self._odom:
            raise KeyError(f"unknown robot {robot!r}; robots: {', '.join(self.robots)}")

    def set_origin(self, robot: RobotId, map_from_odom: Pose2D) -> None:
        """The robot's odometry frame in the map frame (its start transform)."""
        self._known(robot)
        self._map_from_odom[robot] = map_from_odom

    def place(self, robot: RobotId, map_pose: Pose2D) -> Pose2D:
        """Set the transform so that the robot's current odometry pose is ``map_pose``; returns the transform."""
        odom = self._odom[robot] or IDENTITY
        origin = map_pose.compose(odom.inverse())
        self.set_origin(robot, origin)
        return origin

    def has_origin(self, robot: RobotId) -> bool:
        return self._map_from_odom.get(robot) is not None

    def update_odometry(self, robot: RobotId, odom: Pose2D) -> None:
        """The newest odometry pose (the robot's own frame, from telemetry)."""
        self._known(robot)
        self._odom[robot] = odom

    def push_external(self, robot: RobotId, pose: Pose2D, stamp: float | None = None) -> bool:
        """An external fix of ``robot`` in the map frame taken at ``stamp`` (clock seconds; None: now). Returns
        whether it was used (a fix older than ``max_age``, or one before any odometry, is dropped)."""
        self._known(robot)
        now = self.clock.now()
        t = now if stamp is None else stamp
        odom = self._odom[robot]
        if now - t > self.max_age or odom is None:
            self.dropped += 1
            return False
        self._map_from_odom[robot] = pose.compose(odom.inverse())
        self._fix_time[robot] = t
        self.fixes += 1
        return True

    def map_from_odom(self, robot: RobotId) -> Pose2D:
        """The transform ``map <- <robot>/odom`` (identity until an origin or a fix is known)."""
        return self._map_from_odom[robot] or IDENTITY

    def odometry(self, robot: RobotId) -> Pose2D | None:
        return self._odom[robot]

    def pose(self, robot: RobotId) -> Pose2D | None:
        """The fused pose in the map frame (None before any odometry)."""
        odom = self._odom[robot]
        return None if odom is None else self.map_from_odom(robot).compose(odom)

    def source(self, robot: RobotId) -> str:
        """``"external"`` while the last fix is fresh, else ``"odometry"`` (``"none"`` before any odometry)."""
        if self._odom[robot] is None:
            return "none"
        t = self._fix_time[robot]
        return "external" if t is not None and self.clock.now() - t <= self.max_age else "odometry"


class ExternalPose(BaseModel):
    """One datagram of the UDP/JSON pose feed: ``{"robot": "robot_0", "x": 1.2, "y": 0.4, "yaw": 0.0}``."""

    model_config = ConfigDict(extra="forbid")

    robot: str = Field(description="Robot id (its ROS namespace)")
    x: float = Field(allow_inf_nan=False, description="Metres, map frame")
    y: float = Field(allow_inf_nan=False, description="Metres, map frame")
    yaw: float = Field(allow_inf_nan=False, description="Radians, map frame")
    frame_id: str = Field("map", pattern=r"^map$", description="Must be 'map'")
    age: float = Field(0.0, ge=0.0, description="Seconds between the measurement and sending it")


class UdpPoseFeed:
    """External poses over UDP, one JSON object per datagram (:class:`ExternalPose`), read by :meth:`poll`.

    Bound to ``host:port`` (port 0: any free one; :attr:`address` says which). A malformed datagram or one naming an
    unknown robot is logged and dropped, never an error. The fix's time is when it was read, less its ``age``.
    """

    def __init__(self, localizer: Localizer, host: str = "127.0.0.1", port: int = 0) -> None:
        self.localizer = localizer
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._sock.bind((host, port))
        self._sock.setblocking(False)
        self.received = 0
        self.malformed = 0

    @property
    def address(self) -> tuple[str, int]:
        return self._sock.getsockname()

    def poll(self, limit: int = 1000) -> int:
        """Read every datagram waiting (at most ``limit``); returns how many fixes were used."""
        used = 0
        for _ in range(limit):
            try:
                data = self._sock.recv(4096)
            except (BlockingIOError, InterruptedError):
                break
            except OSError as err:  # e.g. ICMP port unreachable reported on a UDP socket
                log.debug("pose feed: %s", err)
                break
            self.received += 1
            try:
                fix = ExternalPose.model_validate(json.loads(data))
                robot = RobotId(fix.robot)
                stamp = self.localizer.clock.now() - fix.age
                used += self.localizer.push_external(robot, Pose2D(fix.x, fix.y, _wrap(fix.yaw)), stamp)
            except (ValueError, ValidationError, KeyError) as err:
                self.malformed += 1
                log.warning("pose feed: dropped a datagram: %s", str(err).splitlines()[0])
        return used

    def close(self) -> None:
        self._sock.close()
