"""What the recorder writes for real robots: map-frame scenes and odometry samples every 0.1 s of the clock."""

from __future__ import annotations

import math
from collections.abc import Mapping

from fleetmind.firmware_bridge.link import RobotLink
from fleetmind.firmware_bridge.localization import Localizer, Pose2D
from fleetmind.robots.ids import RobotId
from fleetmind.robots.scene import Scene

OdometrySample = tuple[float, RobotId, Pose2D, Pose2D, float, float]
"""``(t, robot, map <- odom, odometry pose, v, omega)``."""


class FrameLog:
    """Samples kept until the recorder takes them (``take_frames`` / ``take_odometry``)."""

    def __init__(self, period: float = 0.1) -> None:
        self.period = period
        self.frames: list[Scene] = []
        self.odometry: list[OdometrySample] = []
        self._next = -math.inf

    def restart(self) -> None:
        self._next = -math.inf

    def sample(
        self, now: float, t: float, localizer: Localizer, links: Mapping[RobotId, RobotLink], layout: Scene | None
    ) -> None:
        """One sample at clock time ``now`` (``t`` seconds into the episode) when one is due; ``layout``: the task's
        boxes and pads now."""
        if now < self._next:
            return
        self._next = now + self.period
        robots = {}
        for rid, link in links.items():
            pose, odom = localizer.pose(rid), localizer.odometry(rid)
            if pose is None or odom is None:
                continue
            robots[str(rid)] = (pose.x, pose.y, 0.0, pose.yaw)
            tel = link.telemetry
            v, w = (tel.v, tel.omega) if tel is not None else (0.0, 0.0)
            self.odometry.append((t, rid, localizer.map_from_odom(rid), odom, v, w))
        boxes, targets = (layout.boxes, layout.targets) if layout is not None else ([], [])
        self.frames.append(Scene(max(t, 0.0), robots, boxes, targets))

    def take_frames(self) -> list[Scene]:
        out, self.frames = self.frames, []
        return out

    def take_odometry(self) -> list[OdometrySample]:
        out, self.odometry = self.odometry, []
        return out
