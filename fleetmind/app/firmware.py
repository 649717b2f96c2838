"""The ``backend: firmware`` world: the executor over robots the scenario names, or over SITL robots it starts.

With ``world.firmware.robots`` empty (the default) the run starts one SITL process per robot (the C reference
firmware built for the host, UDP on 127.0.0.1, a fresh random key each, its event log in a temporary folder) and
stops them when the fleet closes. Otherwise it connects to the links given (robots you started yourself).
"""

from __future__ import annotations

import logging
import secrets
import tempfile
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from fleetmind.firmware_bridge.config import FirmwareFleetConfig, Limits, RobotLinkConfig
from fleetmind.firmware_bridge.executor import ExecutorFleet, check_supported
from fleetmind.firmware_bridge.executor_config import ExecutorSettings, SitlSettings
from fleetmind.firmware_bridge.fleet import FirmwareFleet
from fleetmind.robots.errors import BadInputError
from fleetmind.robots.fleet import Fleet
from fleetmind.tasks import Task

log = logging.getLogger(__name__)

FIRST_WIRE_ID = 10
"""Wire id of the first SITL robot (robot k gets FIRST_WIRE_ID + k)."""

MAX_SITL_ROBOTS = 32
"""Most SITL robots one run starts (one process each; the host streams 25 commands and reads 50 telemetry frames a
second per robot, on one Python thread). 64 on the 2-core machine: the host fell behind at once, the firmwares
reported ``HOST_LOST`` and the first step ran into its 15 s deadline."""


def start_sitl_robots(names: list[str], sitl: SitlSettings) -> tuple[list[RobotLinkConfig], list[Any]]:
    """One SITL per robot name: their link configs and the resources to close (the processes, their folder)."""
    from fleetmind.testing.sitl import Sitl, build_sitl

    if len(names) > MAX_SITL_ROBOTS:
        raise BadInputError(
            f"world.firmware: {len(names)} robots, but a run starts at most {MAX_SITL_ROBOTS} SITL robots (one process "
            "each); use fewer robots, or give world.firmware.robots (robots you started)"
        )
    try:
        binary = build_sitl()
    except Exception as exc:  # make or gcc missing, or a build error
        raise BadInputError(f"world.firmware.sitl: cannot build the SITL firmware ({exc}); install make and gcc, "
                            "or give world.firmware.robots") from None  # fmt: skip
    folder = tempfile.TemporaryDirectory(prefix="fleetmind-sitl-")
    owned: list[Any] = []
    links: list[RobotLinkConfig] = []
    try:
        for k, name in enumerate(names):
            key = secrets.token_bytes(32)
            key_file = Path(folder.name) / f"{name}.key"
            key_file.write_text(key.hex())
            key_file.chmod(0o600)
            events = Path(folder.name) / f"{name}.events"
            process = Sitl(
                "udp", FIRST_WIRE_ID + k, key, events, binary, max_accel=sitl.max_accel,
                wheel_noise=sitl.wheel_noise, seed=sitl.seed + k,
            )  # fmt: skip
            owned.append(process)
            assert process.udp is not None
            links.append(
                RobotLinkConfig(
                    name=name,
                    wire_id=FIRST_WIRE_ID + k,
                    udp_host="127.0.0.1",
                    udp_port=process.udp[1],
                    key_file=key_file,
                )  # fmt: skip
            )
    except BaseException:
        for process in owned:
            process.close()
        folder.cleanup()
        raise
    log.info("started %d SITL robots (event logs in %s)", len(owned), folder.name)
    return links, [*owned, folder]


def make_firmware_fleet(
    inner: Fleet, task: Task, settings: ExecutorSettings | None, world: Any = None
) -> ExecutorFleet:
    """The scenario's entry point (``world.backend: firmware``; ``world``: the scenario's world section).
    ``fleet.processes`` lists the SITLs it started."""
    settings = settings or ExecutorSettings()
    check_supported(task, world)  # before any process starts
    limits = Limits()
    if settings.max_linear > limits.max_linear or settings.max_angular > limits.max_angular:
        raise BadInputError(
            f"world.firmware: max_linear {settings.max_linear} / max_angular {settings.max_angular} exceed the link's "
            f"limits ({limits.max_linear} m/s, {limits.max_angular} rad/s); lower them"
        )
    owned: list[AbstractContextManager[Any]] = []
    if settings.autostart:
        links, owned = start_sitl_robots(list(inner.robot_ids), settings.sitl or SitlSettings())
    else:
        links = list(settings.robots)
    config = FirmwareFleetConfig(
        robots=links, limits=limits, heartbeat_timeout=settings.heartbeat_timeout, step_limit=1_000_000
    )
    robots = FirmwareFleet(config, owned=owned)
    try:
        fleet = ExecutorFleet(inner, task, robots, settings)
    except BaseException:
        robots.close()
        raise
    fleet.processes = [o for o in owned if hasattr(o, "proc")]
    return fleet
