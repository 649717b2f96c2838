"""What the Fleets that drive robots over their firmware links share: the grid executor
(:class:`fleetmind.firmware_bridge.executor.ExecutorFleet`) and the swarm's velocity fleet
(:class:`fleetmind.firmware_bridge.swarm.FirmwareSwarmFleet`). Which robots are lost or e-stopped, stopping every robot
still driven, the e-stop from any thread (the thread stepping the fleet finishes it: acknowledgements and the
``estop`` failure) and closing (the pose feed, the links with the processes they own, the logical model ``inner``)."""

from __future__ import annotations

import logging
import threading
from typing import Any

from fleetmind.firmware_bridge import messages as wire
from fleetmind.firmware_bridge.config import RobotLinkConfig
from fleetmind.firmware_bridge.estop import stop_all
from fleetmind.firmware_bridge.fleet import FirmwareFleet
from fleetmind.firmware_bridge.localization import UdpPoseFeed
from fleetmind.robots.clock import Clock
from fleetmind.robots.fleet import ROBOTS_UNREACHABLE
from fleetmind.robots.ids import RobotId

log = logging.getLogger(__name__)


def address(rc: RobotLinkConfig) -> str:
    """Where a robot's link goes, in a few words: ``udp 10.0.0.5:9000`` or ``serial /dev/ttyUSB0``."""
    return f"serial {rc.serial_port}" if rc.serial_port is not None else f"udp {rc.udp_host}:{rc.udp_port}"


class LinkedFleet:
    """Mixin: a subclass sets ``robots``, ``clock``, ``settings`` (with ``heartbeat_timeout``), ``inner``, ``feed`` and
    ``_dropped``, calls :meth:`_init_links` in its constructor, and sets ``_driver`` to the stepping thread while it
    drives the robots."""

    robots: FirmwareFleet
    clock: Clock
    inner: Any
    feed: UdpPoseFeed | None
    settings: Any
    _dropped: set[RobotId]

    def _init_links(self) -> None:
        self.last_estop: dict[str, Any] = {}
        self._estop_called: float | None = None
        self._estop_request = threading.Event()
        self._estop_done = threading.Event()
        self._driver: threading.Thread | None = None
        self._closed = False

    @property
    def robot_ids(self) -> tuple[RobotId, ...]:
        return self.inner.robot_ids  # type: ignore[no-any-return]

    def _lost(self, rid: RobotId) -> bool:
        link = self.robots.links[rid]
        if link.telemetry is not None and link.lost:
            link.poll(0.0)  # read what is there first: a host that was descheduled is no lost robot
        return link.telemetry is None or link.lost

    def _silent(self) -> list[RobotId]:
        """The robots still driven that are lost now (:meth:`_lost`), to be dropped. When every one of them is silent
        at once, the likelier cause is this host's own receive path (a stalled process, a loaded machine, a DDS
        hiccup before the odometry callbacks ran), not every robot failing together: they are dropped only once the
        newest telemetry among them is older than twice the heartbeat timeout. A robot silent while another still
        reports is dropped at once. Each firmware's own watchdog stops its robot regardless."""
        live = [r for r in self.robot_ids if r not in self._dropped]
        silent = [r for r in live if self._lost(r)]
        if not silent or len(silent) < len(live):
            return silent
        heard = [t for r in silent if (t := self.robots.links[r].telemetry_time) is not None]
        timeout = self.settings.heartbeat_timeout
        if heard and self.clock.now() - max(heard) <= 2.0 * timeout:
            return []
        return silent

    @property
    def unreachable(self) -> bool:
        """Whether the last reset found not one robot answering: the episode's first step ends it (a world that
        waits for commands before stepping, the ROS world node, ends it at once instead)."""
        return getattr(self, "_pending", None) == ROBOTS_UNREACHABLE

    def _unreachable(self) -> str | None:
        """``robots_unreachable`` when not one robot has answered since the links opened (nothing to drive: a
        wrong address, port or key, robots off), after one warning line naming each robot's link; else None."""
        links = self.robots.links
        if any(link.telemetry is not None for link in links.values()):
            return None
        config = getattr(self.robots, "config", None)  # over ROS 2 the links are the bridges' topics: no addresses
        where = ", ".join(f"{rc.name} ({address(rc)})" for rc in config.robots) if config else ", ".join(links)
        log.warning("no robot answered: %s; check that they are on, the addresses and ports, and the keys", where)
        return ROBOTS_UNREACHABLE

    def _estopped(self, rid: RobotId) -> bool:
        t = self.robots.links[rid].telemetry
        return t is not None and bool(t.status & wire.Status.ESTOP)

    def _send_all(self, v: float, w: float) -> None:
        for rid, link in self.robots.links.items():
            if rid not in self._dropped:
                link.send(wire.SetVelocityMsg(v, w))

    def _estop_slack(self) -> float:
        """Seconds beyond the e-stop's own timeout that another thread waits for the stepping thread to finish it."""
        return 1.0

    def estop_all(self, timeout: float = 0.5) -> dict[RobotId, bool]:
        """Stop every robot now (latched in each firmware until :meth:`clear_estop`); from any thread. Returns,
        per robot, whether its firmware acknowledged. A step in progress ends with ``failure_reason`` ``estop``."""
        self._estop_called = self.clock.now()
        driver = self._driver
        if driver is not None and driver is not threading.current_thread():
            for link in self.robots.links.values():  # at once, from this thread: the firmware obeys any EStop
                link.send(wire.EStop())
            self._estop_done.clear()
            self._estop_request.set()
            self._estop_done.wait(timeout + self._estop_slack())
            return dict(self.last_estop.get("acked", {}))
        return self._do_estop(timeout)

    def _do_estop(self, timeout: float = 0.5) -> dict[RobotId, bool]:
        requested = self.clock.now() if self._estop_called is None else self._estop_called
        self._estop_called = None
        acked, stopped = stop_all(self.robots.links, self.clock, requested, timeout)
        self.last_estop = {"requested": requested, "acked": acked, "zero_speed_after": stopped}
        self._estop_request.clear()
        self._estop_done.set()
        log.warning("e-stop: %d/%d acknowledged", sum(acked.values()), len(acked))
        return acked

    def clear_estop(self, timeout: float = 0.5) -> dict[RobotId, bool]:
        """Clear every latched e-stop and re-arm (an operator's action); the next reset drives on."""
        return self.robots.clear_estop(timeout)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self.feed is not None:
            self.feed.close()
        try:
            self.robots.close()
        finally:
            self.inner.close()
