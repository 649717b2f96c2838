"""FirmwareFleet: real robots (or the SITL) behind the :class:`fleetmind.robots.fleet.Fleet` protocol.

A step streams each robot's velocity command at ``send_rate`` for ``step_period`` seconds while reading
telemetry; between steps nothing is sent, so the firmware's own 200 ms watchdog stops the robots if the
planner stalls. Poses are reported relative to where each robot stood at ``reset`` (odometry frame).
A robot silent for ``heartbeat_timeout`` is marked lost: its observation says so, it has no legal
commands, and motion commands for it raise :class:`IllegalCommandError`.

Every deadline (step period, command watchdog, robot lost, e-stop resends) runs on the injected ``clock``;
``open_transport`` opens a robot's byte link (serial or UDP by default). Tests pass a manual clock and
in-process robot doubles (``fleetmind.testing.robot_double``) and assert the deadlines exactly.
"""

from __future__ import annotations

import functools
import logging
import math
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from typing import Any

from fleetmind.firmware_bridge import messages as wire
from fleetmind.firmware_bridge.config import FirmwareFleetConfig, RobotLinkConfig, link_key
from fleetmind.firmware_bridge.link import RobotLink
from fleetmind.firmware_bridge.monitor import CommandWatchdog
from fleetmind.firmware_bridge.transport import (
    RateLimiter,
    ReconnectingTransport,
    SerialTransport,
    Transport,
    UdpTransport,
)
from fleetmind.robots.clock import MONOTONIC, Clock
from fleetmind.robots.commands import Command, SetVelocity, Wait
from fleetmind.robots.errors import FleetClosedError, IllegalCommandError, UnknownRobotError
from fleetmind.robots.fleet import Observation, RobotEvent, RobotObservation, StepResult, final_step
from fleetmind.robots.ids import RobotId, robot_id

log = logging.getLogger(__name__)


def open_transport(cfg: RobotLinkConfig) -> Transport:
    """The robot's serial port or UDP address, as configured (raises :class:`LinkDown` when it cannot)."""
    if cfg.serial_port is not None:
        return SerialTransport(cfg.serial_port, cfg.baudrate)
    assert cfg.udp_host is not None and cfg.udp_port is not None
    return UdpTransport(cfg.udp_host, cfg.udp_port, bind=(cfg.udp_bind, 0) if cfg.udp_bind else None)


class FirmwareFleet:
    """The real-robot backend. ``owned`` context managers (e.g. SITL processes) are closed with the fleet."""

    def __init__(
        self,
        config: FirmwareFleetConfig,
        owned: list[AbstractContextManager[Any]] | None = None,
        clock: Clock = MONOTONIC,
        open_transport: Callable[[RobotLinkConfig], Transport] = open_transport,
    ) -> None:
        self.config = config
        self.clock = clock
        self._owned = list(owned or [])
        self._ids = tuple(robot_id(r.name) for r in config.robots)
        self.links: dict[RobotId, RobotLink] = {}
        self._limiters: dict[RobotId, RateLimiter] = {}
        self._watchdogs: dict[RobotId, CommandWatchdog] = {}
        for rid, rc in zip(self._ids, config.robots, strict=True):
            key = link_key(rc)
            transport = ReconnectingTransport(
                functools.partial(open_transport, rc), backoff_max=config.backoff_max, clock=clock
            )
            self.links[rid] = RobotLink(transport, rc.wire_id, key, config.heartbeat_timeout, clock=clock)
            self._limiters[rid] = RateLimiter(config.send_rate, burst=2, clock=clock)
            self._watchdogs[rid] = CommandWatchdog(config.command_timeout)
        self._origin: dict[RobotId, tuple[float, float, float]] = {}
        self._was_lost: dict[RobotId, bool] = dict.fromkeys(self._ids, False)
        self._steps = 0
        self._reset = False
        self._final: StepResult | None = None
        self._closed = False

    @property
    def robot_ids(self) -> tuple[RobotId, ...]:
        return self._ids

    # ----------------------------------------------------------------------------------------------- episode
    def reset(self, seed: int) -> Observation:
        """Stop, (re)connect and arm every robot, wait until each stands still, and zero the odometry frame.

        ``seed`` is accepted for the protocol; real robots have no randomness to seed. A latched e-stop is
        not cleared here (that takes :meth:`clear_estop`).
        """
        if self._closed:
            raise FleetClosedError()
        for rid, link in self.links.items():
            if not link.sync(self.config.connect_timeout):
                log.warning("%s: no telemetry within %.1fs", rid, self.config.connect_timeout)
                continue
            link.send(wire.SetVelocityMsg(0.0, 0.0))
            if link.telemetry is not None and not link.telemetry.status & wire.Status.ESTOP:
                reply = link.request(wire.Arm(), timeout=0.5)
                if not isinstance(reply, wire.Ack):
                    log.warning("%s: arm not acknowledged (%s)", rid, reply)
        self._wait_still()
        for rid, link in self.links.items():
            t = link.telemetry
            self._origin[rid] = (t.x, t.y, t.yaw) if t is not None else (0.0, 0.0, 0.0)
            self._was_lost[rid] = link.lost
        self._steps = 0
        self._final = None
        self._reset = True
        return self.observe()

    def _wait_still(self) -> None:
        end = self.clock.now() + self.config.connect_timeout
        while self.clock.now() < end:
            for link in self.links.values():
                link.poll(0.01)
            if all(link.telemetry is None or link.lost or self._still(link.telemetry) for link in self.links.values()):
                # one more telemetry period so that the pose is the settled one
                for link in self.links.values():
                    link.poll_for(0.03)
                return

    @staticmethod
    def _still(t: wire.Telemetry) -> bool:
        """Standing still, and the arm (or a latched e-stop) already shows in telemetry."""
        return t.v == 0.0 and t.omega == 0.0 and bool(t.status & (wire.Status.ARMED | wire.Status.ESTOP))

    def observe(self) -> Observation:
        robots = {}
        world: dict[str, Any] = {}
        for rid, link in self.links.items():
            data = self._robot_data(rid, link)
            text = (
                f"{rid}: lost (no telemetry for > {self.config.heartbeat_timeout:.1f}s)"
                if data["lost"]
                else f"{rid}: x={data['x']:.3f} m, y={data['y']:.3f} m, yaw={data['yaw']:.3f} rad, "
                f"v={data['v']:.2f} m/s, omega={data['omega']:.2f} rad/s"
                + (", E-STOP" if data["estop"] else "")
                + ("" if data["armed"] else ", disarmed")
            )
            usable = not data["lost"] and data["armed"] and not data["estop"]
            legal: tuple[Command, ...] = (SetVelocity(0.0, 0.0),) if usable else ()
            robots[rid] = RobotObservation(robot=rid, data=data, text=text, legal=legal)
            world[rid] = data
        text = "\n".join(o.text for o in robots.values())
        return Observation(step=self._steps, robots=robots, world=world, text=text)

    def _robot_data(self, rid: RobotId, link: RobotLink) -> dict[str, Any]:
        t = link.telemetry
        lost = link.lost
        if t is None:
            return {
                "x": 0.0,
                "y": 0.0,
                "yaw": 0.0,
                "v": 0.0,
                "omega": 0.0,
                "armed": False,
                "estop": False,
                "lost": True,
                "battery_low": False,
            }
        ox, oy, oyaw = self._origin.get(rid, (0.0, 0.0, 0.0))
        dx, dy = t.x - ox, t.y - oy
        c, s = math.cos(-oyaw), math.sin(-oyaw)
        yaw = math.atan2(math.sin(t.yaw - oyaw), math.cos(t.yaw - oyaw))
        return {
            "x": round(c * dx - s * dy, 3),
            "y": round(s * dx + c * dy, 3),
            "yaw": round(yaw, 3),
            "v": round(t.v, 3),
            "omega": round(t.omega, 3),
            "armed": bool(t.status & wire.Status.ARMED),
            "estop": bool(t.status & wire.Status.ESTOP),
            "lost": lost,
            "battery_low": bool(t.status & wire.Status.LOW_BATTERY),
        }

    def validate(self, commands: Mapping[RobotId, Command]) -> dict[RobotId, tuple[float, float]]:
        """Typed check of every command: ``Wait`` or ``SetVelocity`` within the limits, for a usable robot."""
        lim = self.config.limits
        out: dict[RobotId, tuple[float, float]] = {}
        for rid, command in commands.items():
            if rid not in self.links:
                raise UnknownRobotError(rid, self._ids)
            if isinstance(command, Wait):
                out[rid] = (0.0, 0.0)
                continue
            if not isinstance(command, SetVelocity):
                raise IllegalCommandError(rid, command, f"{type(command).__name__} is not a command of real robots")
            v, w = float(command.linear), float(command.angular)
            if not (math.isfinite(v) and math.isfinite(w)) or abs(v) > lim.max_linear or abs(w) > lim.max_angular:
                raise IllegalCommandError(
                    rid, command, f"outside limits |linear| <= {lim.max_linear}, |angular| <= {lim.max_angular}"
                )
            link = self.links[rid]
            if link.lost:
                raise IllegalCommandError(rid, command, "robot is lost (no telemetry)")
            status = link.telemetry.status if link.telemetry is not None else wire.Status(0)
            if status & wire.Status.ESTOP:
                raise IllegalCommandError(rid, command, "robot is e-stopped (clear_estop() first)")
            if not status & wire.Status.ARMED:
                raise IllegalCommandError(rid, command, "robot is disarmed")
            out[rid] = (v, w)
        return out

    def step(self, commands: Mapping[RobotId, Command]) -> StepResult:
        if (final := final_step(self._closed, self._reset, self._final)) is not None:
            return final
        targets = self.validate(commands)
        now = self.clock.now()
        for rid in targets:
            self._watchdogs[rid].commanded(now)
        events = self._stream(targets)
        self._steps += 1
        lost = [rid for rid, link in self.links.items() if link.lost]
        failure = None
        if len(lost) == len(self._ids):
            failure = "all_robots_lost"
        elif self._steps >= self.config.step_limit:
            failure = "step_limit"
        metrics = {"success": False, "steps": self._steps, "failure_reason": failure, "lost_robots": len(lost)}
        result = StepResult(self.observe(), tuple(events), failure is not None, failure, metrics)
        if result.done:
            self._final = result
        return result

    def _stream(self, targets: Mapping[RobotId, tuple[float, float]]) -> list[RobotEvent]:
        """Send each commanded velocity at ``send_rate`` for one step period, reading telemetry meanwhile."""
        events: list[RobotEvent] = []
        end = self.clock.now() + self.config.step_period
        while (left := end - self.clock.now()) > 0:
            now = self.clock.now()
            for rid, (v, w) in targets.items():
                link = self.links[rid]
                if self._watchdogs[rid].expired(now):
                    v, w = 0.0, 0.0
                if not link.lost and self._limiters[rid].allow():
                    link.send(wire.SetVelocityMsg(v, w))
            for link in self.links.values():
                link.poll(min(left, 0.005))
        for rid, link in self.links.items():
            is_lost = link.lost
            if is_lost != self._was_lost[rid]:
                events.append(RobotEvent(rid, "lost" if is_lost else "recovered"))
                log.warning("%s %s", rid, "lost" if is_lost else "recovered")
            self._was_lost[rid] = is_lost
            while link.replies:
                reply = link.replies.popleft()
                if isinstance(reply, wire.Nack):
                    events.append(RobotEvent(rid, "nack", f"seq {reply.seq}: {reply.reason.name}"))
        return events

    # ----------------------------------------------------------------------------------------------- safety
    def estop_all(self, timeout: float = 0.5, resend_every: float = 0.05) -> dict[RobotId, bool]:
        """Send EStop to every robot at once (each frame with that robot's key), resending until acknowledged.

        Returns, per robot, whether the firmware acknowledged the e-stop within ``timeout``.
        """
        for link in self.links.values():
            link.replies.clear()
        pending = {rid: self.links[rid].send(wire.EStop()) for rid in self._ids}
        acked: dict[RobotId, bool] = dict.fromkeys(self._ids, False)
        end = self.clock.now() + timeout
        next_resend = self.clock.now() + resend_every
        while pending and self.clock.now() < end:
            for rid in list(pending):
                link = self.links[rid]
                link.poll(0.005)
                if any(isinstance(r, wire.Ack) and r.msg_type == wire.MsgType.ESTOP for r in link.replies):
                    acked[rid] = True
                    del pending[rid]
            if self.clock.now() >= next_resend:
                for rid in pending:
                    pending[rid] = self.links[rid].send(wire.EStop())
                next_resend = self.clock.now() + resend_every
        return acked

    def clear_estop(self, timeout: float = 0.5) -> dict[RobotId, bool]:
        """Clear the latched e-stop and re-arm (an explicit operator action)."""
        out = {}
        for rid, link in self.links.items():
            cleared = isinstance(link.request(wire.ClearEStop(), timeout=timeout), wire.Ack)
            out[rid] = cleared and isinstance(link.request(wire.Arm(), timeout=timeout), wire.Ack)
        end = self.clock.now() + timeout  # wait for telemetry that shows the new state
        armed = [link for rid, link in self.links.items() if out[rid]]
        while self.clock.now() < end and not all(self._usable(link) for link in armed):
            for link in armed:
                link.poll(0.005)
        return out

    @staticmethod
    def _usable(link: RobotLink) -> bool:
        t = link.telemetry
        return t is not None and bool(t.status & wire.Status.ARMED) and not t.status & wire.Status.ESTOP

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for link in self.links.values():
            try:
                link.send(wire.SetVelocityMsg(0.0, 0.0))
                link.send(wire.Disarm())
            except OSError as err:  # pragma: no cover - best effort on the way out
                log.warning("stop on close failed: %s", err)
            link.transport.close()
        for resource in self._owned:
            resource.__exit__(None, None, None)
