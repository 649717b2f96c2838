"""FirmwareSwarmFleet: the swarm world's unicycle robots driven through their firmware links (SITL or real).

The swarm fleet (``fleetmind.sim.swarm.fleet.SwarmFleet``, handed in as ``inner``: this package never imports ``sim``)
stays the model: legal commands (``SetVelocity`` within its limits, else :class:`IllegalCommandError`), the step limit,
each robot's observation computed by the swarm world's kernels and ``world["order"]``. Each step streams every
robot's velocity over its link for the step (:meth:`FirmwareFleet.step`: at ``send_rate`` for ``step_period``
seconds, the host watchdog and the firmware's own 200 ms watchdog behind it), then reads the robots' poses back
(odometry telemetry through the :class:`Localizer`; external fixes when ``localization.udp_port`` is set) and puts
them in the model in place of its exact arcs, so the next observation and the order are those of where the robots
are. ``max_step_error`` says how far a robot ended from its exact arc in any step (metres).

Time: the robots play the task ``time_scale`` times faster than the task's clock: a step of ``dt`` lasts
``step_period = dt / time_scale`` seconds and each command is sent multiplied by ``time_scale`` (the same arc,
sooner), so the model's limits times ``time_scale`` must stay within the link's limits (:func:`time_scale_for`).

Placement: at every reset each robot is taken to stand at the model's start pose (its odometry origin is set there):
SITL robots do, since their odometry is their world; real robots are set down there by hand, or an external pose
feed says where they are (a fresh fix wins). Only the periodic box is offered: a robot leaving it re-enters the model
on the far side (the world's torus), as in the swarm worlds; walls of a bounded arena are not modelled.

Link loss: a robot silent for ``heartbeat_timeout`` is lost (all of them silent at once: after twice that, see
:meth:`~fleetmind.firmware_bridge.linked.LinkedFleet._silent`). Its firmware's watchdog stops it (the fleet also sends
it a stop, best effort) and it is dropped: it stays in the world where it stopped (its neighbours still see it), its
observation says ``lost`` and lists no legal command, and what it is sent becomes a wait (event ``dropped``)
(``on_lost: drop``); with ``on_lost: fail``, or when every robot is lost, the episode ends with ``robot_lost``.
:meth:`FirmwareSwarmFleet.estop_all` stops every robot (latched in the firmware) from any thread; the episode ends
with ``estop``. Every deadline runs on the links' clock (a :class:`ManualClock` with robot doubles in tests).
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Mapping
from typing import Literal, Protocol

import numpy as np
from fleetmind.firmware_bridge import messages as wire
from fleetmind.firmware_bridge.config import Limits
from fleetmind.firmware_bridge.executor_config import LocalizationSettings, SitlSettings
from fleetmind.firmware_bridge.fleet import FirmwareFleet
from fleetmind.firmware_bridge.linked import LinkedFleet
from fleetmind.firmware_bridge.localization import Localizer, Pose2D, UdpPoseFeed
from fleetmind.robots.commands import Command, SetVelocity, Wait
from fleetmind.robots.errors import BadInputError, FleetClosedError, IllegalCommandError
from fleetmind.robots.fleet import Observation, RobotEvent, RobotObservation, StepResult, final_step
from fleetmind.robots.ids import RobotId
from pydantic import BaseModel, ConfigDict, Field

log = logging.getLogger(__name__)

MAX_AUTO_TIME_SCALE = 2.0
"""The fastest the robots play a task unless told: faster steps leave the wheels' acceleration less time."""


class SwarmFirmwareSettings(BaseModel):
    """How the swarm's velocity commands run on firmware robots (``fleetmind swarm run --backend firmware``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    time_scale: float | None = Field(
        None, gt=0.0, le=10.0, description="Task time units per robot second (a step lasts dt / time_scale s, "
        "commands x time_scale); none: the largest the link's limits allow, at most 2."
    )  # fmt: skip
    on_lost: Literal["drop", "fail"] = Field(
        "drop", description="drop: a lost robot stops and waits, the others go on; fail: the episode ends."
    )
    heartbeat_timeout: float = Field(0.5, gt=0.0, le=10.0, description="Silence (s) after which a robot is lost.")
    localization: LocalizationSettings = Field(default_factory=LocalizationSettings, description="Pose sources.")
    sitl: SitlSettings = Field(default_factory=SitlSettings, description="The SITL robots the run starts.")


def time_scale_for(speed: float, max_turn: float, limits: Limits, requested: float | None = None) -> float:
    """The time scale at which commands up to ``speed`` m/s and ``max_turn`` rad/s fit the link's ``limits``:
    ``requested`` if they fit (else :class:`BadInputError`), or the largest that fits, at most
    :data:`MAX_AUTO_TIME_SCALE`."""
    fits = min(
        limits.max_linear / speed if speed > 0 else math.inf,
        limits.max_angular / max_turn if max_turn > 0 else math.inf,
    )
    if requested is None:
        return min(fits, MAX_AUTO_TIME_SCALE)
    if requested > fits:
        raise BadInputError(
            f"time_scale {requested}: speed {speed} and turn rate {max_turn} played {requested}x faster exceed the "
            f"robots' limits ({limits.max_linear} m/s, {limits.max_angular} rad/s); give time_scale <= {fits:.3g}"
        )
    return requested


class UnicycleLimitsLike(Protocol):
    max_linear: float
    max_angular: float


class UnicycleModel(Protocol):
    """What the fleet needs of its model (``SwarmFleet`` has it): poses ``(N, 3)`` (x, y, yaw) it observes from."""

    pose: np.ndarray
    dt: float
    step_limit: int
    success_order: float
    limits: UnicycleLimitsLike

    @property
    def robot_ids(self) -> tuple[RobotId, ...]: ...
    @property
    def box(self) -> float: ...
    @property
    def periodic(self) -> bool: ...
    def reset(self, seed: int) -> Observation: ...
    def observe(self) -> Observation: ...
    def validate(self, commands: Mapping[RobotId, Command]) -> dict[RobotId, Command]: ...
    def velocities(self, commands: Mapping[RobotId, Command]) -> np.ndarray: ...
    def step(self, commands: Mapping[RobotId, Command]) -> StepResult: ...
    def close(self) -> None: ...


class FirmwareSwarmFleet(LinkedFleet):
    """``inner``'s robots (the model) on the firmware links of ``robots`` (one per robot, named alike)."""

    def __init__(
        self, inner: UnicycleModel, robots: FirmwareFleet, settings: SwarmFirmwareSettings | None = None
    ) -> None:
        if set(robots.robot_ids) != set(inner.robot_ids):
            raise BadInputError(f"firmware swarm: the links name {', '.join(robots.robot_ids)} but the swarm has "
                                f"{', '.join(inner.robot_ids)}; give one link per robot, named alike")  # fmt: skip
        if not inner.periodic:
            raise BadInputError("firmware swarm: only the periodic box runs on robots (the arena's walls are not "
                                "modelled); use periodic=True")  # fmt: skip
        cfg = robots.config
        self.time_scale = inner.dt / cfg.step_period
        lim, link = inner.limits, cfg.limits
        if lim.max_linear * self.time_scale > link.max_linear + 1e-9 or (
            lim.max_angular * self.time_scale > link.max_angular + 1e-9
        ):
            raise BadInputError(
                f"firmware swarm: limits {lim.max_linear} m/s, {lim.max_angular} rad/s played {self.time_scale:.3g}x "
                f"faster exceed the link's ({link.max_linear} m/s, {link.max_angular} rad/s); lower them or the scale"
            )
        if cfg.command_timeout < cfg.step_period:
            raise ValueError(f"command_timeout {cfg.command_timeout} s < step_period {cfg.step_period} s: the host "
                             "watchdog would stop the robots within every step")  # fmt: skip
        if cfg.step_limit <= inner.step_limit:
            raise ValueError(f"the links' step_limit ({cfg.step_limit}) must exceed the swarm's ({inner.step_limit})")
        self.inner, self.robots = inner, robots
        self.settings = s = settings or SwarmFirmwareSettings()
        self.clock = robots.clock
        self.localizer = Localizer(inner.robot_ids, s.localization.max_age, self.clock)
        port = s.localization.udp_port
        self.feed = None if port is None else UdpPoseFeed(self.localizer, s.localization.udp_host, port)
        self._dropped: set[RobotId] = set()
        self._init_links()
        self._obs: Observation | None = None
        self._final: StepResult | None = None
        self._pending: str | None = None
        self._start_episode()

    def _start_episode(self) -> None:
        self._dropped = set()
        self.lost_at: dict[RobotId, float] = {}
        self.max_step_error = 0.0
        self._t0 = self.clock.now()

    # ------------------------------------------------------------------------------------------------ episode
    def reset(self, seed: int) -> Observation:
        """Reset the model and the robots (arm, stand still); each robot stands at its start pose (see the module)."""
        if self._closed:
            raise FleetClosedError()
        obs = self.inner.reset(seed)
        self.robots.reset(seed)
        self._start_episode()
        self._final, self._pending = None, None
        self._read()
        fixed = [rid for rid in self.robot_ids if self.localizer.source(rid) == "external"]
        for rid, pose in zip(self.robot_ids, self.inner.pose, strict=True):
            if self.localizer.odometry(rid) is not None and rid not in fixed:
                self.localizer.place(rid, Pose2D(*map(float, pose)))
        if fixed:
            self._measure()  # fresh fixes say where those robots stand
            obs = self.inner.observe()
        self._dropped = {rid for rid in self.robot_ids if self._lost(rid)}
        for rid in self._dropped:
            self.lost_at[rid] = self.clock.now()
        if any(self._estopped(rid) for rid in self.robot_ids):
            self._pending = "estop"
        else:
            self._pending = self._unreachable()
        self._t0 = self.clock.now()
        self._obs = self._augment(obs)
        return self._obs

    def step(self, commands: Mapping[RobotId, Command]) -> StepResult:
        if (final := final_step(self._closed, self._obs is not None, self._final)) is not None:
            return final
        checked = self.inner.validate(commands)  # raises on unknown robots and commands beyond the limits
        events: list[RobotEvent] = []
        for rid in sorted(self._dropped & set(checked)):
            if not isinstance(checked[rid], Wait):
                events.append(RobotEvent(rid, "dropped", f"{checked[rid].text} not executed: robot lost, waits"))
                checked[rid] = Wait()
        failure = self._pending
        self._pending = None
        if failure is None:
            self._driver = threading.current_thread()
            try:
                self._stream(self.inner.velocities(checked) * self.time_scale)
            finally:
                self._driver = None
            self._read()
            if self._estop_request.is_set() or any(self._estopped(r) for r in self.robot_ids if r not in self._dropped):
                self._do_estop()
                failure = "estop"
            else:
                failure = self._check_lost(events)
        ideal = self.inner.step(checked)  # the step count, the limit, and where the exact arcs would have put them
        exact = self.inner.pose.copy()
        self._measure()
        self._step_error(exact)
        obs = self.inner.observe()
        order = float(obs.world["order"])
        done = ideal.done or failure is not None
        success = ideal.done and failure is None and order >= self.inner.success_order
        reason = failure or ("step_limit" if done and not success else None)
        metrics = {**ideal.metrics, "success": success, "failure_reason": reason, "order": order}
        metrics |= {"lost_robots": len(self._dropped), "max_step_error": round(self.max_step_error, 4)}
        metrics |= {"time_scale": round(self.time_scale, 4), "robot_time": round(self.clock.now() - self._t0, 3)}
        self._obs = self._augment(obs)
        result = StepResult(self._obs, (*ideal.events, *events), done, reason, metrics)
        if done:
            self._send_all(0.0, 0.0)
            self._final = result
        return result

    # ------------------------------------------------------------------------------------------------ motion
    def _stream(self, velocity: np.ndarray) -> None:
        """Every usable robot's ``(linear, angular)`` row of ``velocity`` over its link for one step period."""
        targets: dict[RobotId, Command] = {}
        for i, rid in enumerate(self.robot_ids):
            usable = rid not in self._dropped and not self._lost(rid) and not self._estopped(rid)
            targets[rid] = SetVelocity(float(velocity[i, 0]), float(velocity[i, 1])) if usable else Wait()
        for _ in range(len(targets) + 1):
            try:
                self.robots.step(targets)
                return
            except IllegalCommandError as err:  # it went silent, or was stopped, since the check above
                log.warning("%s", err)
                targets[RobotId(err.robot)] = Wait()

    def _read(self) -> None:
        """Poll every link once, then take each robot's newest odometry and the pose feed's fixes."""
        for rid, link in self.robots.links.items():
            link.poll(0.0)
            t = link.telemetry
            if t is not None and rid not in self._dropped:
                self.localizer.update_odometry(rid, Pose2D(t.x, t.y, t.yaw))
        if self.feed is not None:
            self.feed.poll()

    def _measure(self) -> None:
        """The model's poses become the measured ones, wrapped into the periodic box."""
        pose = self.inner.pose.copy()
        for i, rid in enumerate(self.robot_ids):
            p = self.localizer.pose(rid)
            if p is not None:
                pose[i] = p.as_tuple()
        box = self.inner.box
        pose[:, :2] -= box * np.floor(pose[:, :2] / box)
        pose[:, :2][pose[:, :2] >= box] -= box
        self.inner.pose = pose

    def _step_error(self, exact: np.ndarray) -> None:
        active = [i for i, rid in enumerate(self.robot_ids) if rid not in self._dropped]
        if not active:
            return
        box = self.inner.box
        d = self.inner.pose[active, :2] - exact[active, :2]
        d -= box * np.round(d / box)  # the nearest image on the torus
        self.max_step_error = max(self.max_step_error, float(np.hypot(d[:, 0], d[:, 1]).max()))

    def _check_lost(self, events: list[RobotEvent]) -> str | None:
        """Drop the robots that went silent; the failure the settings make of it (or None)."""
        for rid in self._silent():
            self._dropped.add(rid)
            self.lost_at[rid] = self.clock.now()
            self.robots.links[rid].send(wire.SetVelocityMsg(0.0, 0.0))  # best effort: its watchdog stops it anyway
            p = self.localizer.pose(rid)
            where = f" at ({p.x:.2f}, {p.y:.2f})" if p is not None else ""
            log.warning("%s lost%s: dropped, waits from now on", rid, where)
            detail = f"no telemetry for {self.settings.heartbeat_timeout:.2f}s: stopped, dropped, waits"
            events.append(RobotEvent(rid, "lost", detail))
            if self.settings.on_lost == "fail":
                self._send_all(0.0, 0.0)
                return "robot_lost"
        return "robot_lost" if len(self._dropped) == len(self.robot_ids) else None

    # ------------------------------------------------------------------------------------------------ observation
    def _augment(self, obs: Observation) -> Observation:
        robots: dict[RobotId, RobotObservation] = {}
        for rid, ro in obs.robots.items():
            lost = rid in self._dropped
            odom = self.localizer.odometry(rid)
            measured = {  # sensor readings, not determined by the seed (RobotObservation.measured)
                "odometry": [round(v, 4) for v in odom.as_tuple()] if odom is not None else None,
                "localization": self.localizer.source(rid),
            }
            usable = not lost and not self._estopped(rid)
            text = f"{ro.text} (lost: waits)" if lost else ro.text
            robots[rid] = RobotObservation(rid, {**ro.data, "lost": lost}, text, ro.legal if usable else (),
                                           {**ro.measured, **measured})  # fmt: skip
        world = {**obs.world, "time_scale": round(self.time_scale, 4)}
        return Observation(obs.step, robots, world, obs.text)

    # ------------------------------------------------------------------------------------------------ safety
    def estop_all(self, timeout: float = 0.5) -> dict[RobotId, bool]:
        """Stop every robot now (latched in each firmware until :meth:`clear_estop`); from any thread. Returns, per
        robot, whether its firmware acknowledged; the step in progress (or the next) ends with ``estop``."""
        acked = super().estop_all(timeout)
        self._pending = "estop"
        return acked

    def _estop_slack(self) -> float:
        return self.robots.config.step_period + 1.0  # a step's stream runs to its end before the e-stop is finished
