"""The ``backend: mavlink`` world: the drone fleet over the vehicles a scenario's ``world.mavlink`` names."""

from __future__ import annotations

from typing import Any

from fleetmind.firmware_bridge.drone_config import DroneFleetConfig
from fleetmind.firmware_bridge.drones import MavlinkFleet, check_supported
from fleetmind.robots.errors import BadInputError
from fleetmind.tasks import Task


def make_mavlink_fleet(inner: Any, task: Task, config: DroneFleetConfig | None, world: Any = None) -> MavlinkFleet:
    """The scenario's entry point: ``inner`` is the grid model, ``config`` the ``world.mavlink`` section, ``world``
    the scenario's world section."""
    if config is None:
        raise BadInputError(
            "world.mavlink: required with backend: mavlink; name the vehicles, e.g. "
            "mavlink: {robots: [{name: robot_0, url: 'udpout:127.0.0.1:14540'}, ...]}"
        )
    check_supported(task, world)
    try:
        return MavlinkFleet(inner, task, config)
    except OSError as exc:
        raise BadInputError(f"world.mavlink.robots: cannot open a vehicle's link ({exc}); check its url") from None
