"""ExecutorFleet: a grid task played by real robots (or SITL robots) behind the same Fleet contract.

The wrapped grid fleet (MAPF lifelong or one-shot, Warehouse) stays the logical model: legal actions, observations,
metrics. Each step it applies the commands; the executor then lays both states out in metres with the task's layout
(``Task.scene``, cells of ``cell_size`` in the shared ``map`` frame) and drives every robot from where it was to where
the model put it, with :func:`fleetmind.robots.controllers.unicycle_control` at ``control_rate`` Hz through the
robots' firmware links (:class:`fleetmind.firmware_bridge.fleet.FirmwareFleet`). The step ends when every robot is
within ``tolerance`` of its waypoint; after ``step_deadline`` seconds the episode fails (``timeout``, or ``robot_lost``
when a lost robot held the others up); an e-stop ends it with ``estop``.

Poses come from :class:`fleetmind.firmware_bridge.localization.Localizer` (odometry, external fixes when fresh).
Safety besides the shield: :func:`fleetmind.firmware_bridge.separation.keep_separation` on every control tick; a
robot whose link is lost (no telemetry for ``heartbeat_timeout``) stops by its firmware watchdog, robots within
``lost_radius`` of it stop for ``lost_hold`` seconds and then keep clear of its last pose; the lost robot is dropped:
its commands become waits (``on_lost: drop``), or the episode ends (``fail``); when every robot still driven is
silent at once, one more ``heartbeat_timeout`` of grace first (:meth:`LinkedFleet._silent`: likelier this host's
stall than every robot failing together). :meth:`ExecutorFleet.estop_all` stops
every robot, from any thread. Every deadline runs on the injected clock (the links' clock).
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Mapping
from typing import Any

from fleetmind.firmware_bridge import messages as wire
from fleetmind.firmware_bridge.estop import describe_link
from fleetmind.firmware_bridge.executor_config import ExecutorSettings
from fleetmind.firmware_bridge.fleet import FirmwareFleet
from fleetmind.firmware_bridge.frames import FrameLog, OdometrySample
from fleetmind.firmware_bridge.linked import LinkedFleet
from fleetmind.firmware_bridge.localization import Localizer, Pose2D, UdpPoseFeed
from fleetmind.firmware_bridge.separation import Proximity, keep_separation, segment_distance
from fleetmind.firmware_bridge.waypoints import check_supported, drive_to, waypoints
from fleetmind.robots.commands import Command, Wait
from fleetmind.robots.controllers import UnicycleGains
from fleetmind.robots.errors import BadInputError, FleetClosedError
from fleetmind.robots.fleet import Fleet, Observation, RobotEvent, RobotObservation, StepResult, final_step
from fleetmind.robots.ids import RobotId
from fleetmind.robots.scene import Scene
from fleetmind.tasks import Task

log = logging.getLogger(__name__)

LATE_DETAILS = 4
"""Robots described in full when a step's deadline passes; the others late are only named."""

XY = tuple[float, float]


class ExecutorFleet(LinkedFleet):
    """The ``backend: firmware`` Fleet: ``inner`` is the logical grid fleet, ``robots`` the firmware links."""

    def __init__(
        self, inner: Fleet, task: Task, robots: FirmwareFleet, settings: ExecutorSettings | None = None
    ) -> None:
        check_supported(task)
        if set(robots.robot_ids) != set(inner.robot_ids):
            raise BadInputError(
                f"world.firmware.robots: the links name {', '.join(robots.robot_ids)} but the task has "
                f"{', '.join(inner.robot_ids)}; give one link per robot, named like the task's robots"
            )
        self.inner, self.plugin, self.robots = inner, task, robots
        self.settings = s = settings or ExecutorSettings()
        self.clock = robots.clock
        self.localizer = Localizer(inner.robot_ids, s.localization.max_age, self.clock)
        port = s.localization.udp_port
        self.feed = None if port is None else UdpPoseFeed(self.localizer, s.localization.udp_host, port)
        self.gains = UnicycleGains(k_v=s.gain_linear, max_v=s.max_linear, max_w=s.max_angular, tolerance=s.tolerance)
        self.record_frames = False
        self.frame_log = FrameLog()
        self.images: dict[RobotId, Any] = {}
        self.processes: list[Any] = []  # SITL processes the app started for this fleet (closed with it)
        self.lost_at: dict[RobotId, float] = {}  # clock time each robot was found lost (this episode)
        self._init_links()
        self._obs: Observation | None = None
        self._final: StepResult | None = None
        self._pending: str | None = None
        self._start_episode()

    def _start_episode(self) -> None:
        self._dropped: set[RobotId] = set()
        self.lost_at = {}
        self._obstacles: dict[RobotId, XY] = {}
        self._hold: dict[RobotId, float] = {}
        self.proximity = Proximity(self.settings.min_separation, self.settings.collision_distance)
        self.figures: dict[str, Any] = {"max_tracking_error": 0.0, "step_times": [], "slowed_ticks": 0}
        self.figures["lost_robots"] = 0
        self._t0 = self.clock.now()
        self.frame_log.restart()

    # ------------------------------------------------------------------------------------------------ episode
    def reset(self, seed: int) -> Observation:
        """Reset the model and the robots (arm, stand still), then drive every robot to its start cell."""
        if self._closed:
            raise FleetClosedError()
        obs = self.inner.reset(seed)
        self.robots.reset(seed)
        self._start_episode()
        self._final, self._pending = None, None
        self._read(self.clock.now())
        targets = self._waypoints(obs.world)
        for rid in self.robot_ids:
            if self.localizer.has_origin(rid):
                continue
            if rid in self.settings.start:
                self.localizer.set_origin(rid, Pose2D(*self.settings.start[rid]))
            elif self.localizer.odometry(rid) is not None:
                self.localizer.place(rid, Pose2D(*targets[rid], 0.0))
        self._dropped = {rid for rid in self.robot_ids if self._lost(rid)}
        self.figures["lost_robots"] = len(self._dropped)
        if any(self._estopped(rid) for rid in self.robot_ids):
            self._pending = "estop"
        else:
            self._pending = self._unreachable() or self._home(targets)
        if self._pending in ("estop", "timeout"):
            log.warning("reset: robots did not reach their start cells (%s)", self._pending)
        self._t0 = self.clock.now()
        self._obs = self._augment(obs)
        return self._obs

    def _home(self, targets: Mapping[RobotId, XY]) -> str | None:
        """Drive every robot to its start cell: all at once for a third of ``reset_deadline``, then the ones left
        one at a time (the others stand still, so two robots swapping places cannot hold each other up)."""
        end = self.clock.now() + self.settings.reset_deadline
        left = {r: targets[r] for r in self.robot_ids if r not in self._dropped}
        failure, _ = self._drive({r: (self._xy(r), t) for r, t in left.items()}, self.settings.reset_deadline / 3)
        if failure is None or failure == "estop":
            return failure
        moved = True
        while moved and left and self.clock.now() < end:
            moved = False
            for rid in sorted(left, key=lambda r: -math.dist(self._xy(r), left[r])):
                budget = min(end - self.clock.now(), self.settings.step_deadline)
                if rid in self._dropped or budget <= 0:
                    continue
                failure, _ = self._drive({rid: (self._xy(rid), left[rid])}, budget, track=False)
                if failure == "estop":
                    return failure
                if failure is None:
                    del left[rid]
                    moved = True
        return None if not left else "timeout"

    def step(self, commands: Mapping[RobotId, Command]) -> StepResult:
        if (final := final_step(self._closed, self._obs is not None, self._final)) is not None:
            return final
        assert self._obs is not None
        checked = self._validate(commands)
        started = self.clock.now()
        events: list[RobotEvent] = []
        for rid in self._dropped & set(checked):
            if not isinstance(checked[rid], Wait):
                events.append(RobotEvent(rid, "dropped", f"{checked[rid].text} not executed: robot lost, waits"))
                checked[rid] = Wait()
        before = self._waypoints(self._obs.world)
        result = self.inner.step(checked)
        after = self._waypoints(result.observation.world)
        failure = self._pending
        if failure is None:
            segments = {r: (before[r], after[r]) for r in self.robot_ids if r not in self._dropped}
            failure, more = self._drive(segments, self.settings.step_deadline)
            events += more
        self._pending = None
        if failure is None and len(self._dropped) == len(self.robot_ids):
            failure = "robot_lost"
        self.figures["step_times"].append(self.clock.now() - started)
        done = result.done or failure is not None
        metrics = {**result.metrics, **self._figures()}
        if failure is not None:
            metrics |= {"success": False, "failure_reason": failure}
        self._obs = self._augment(result.observation)
        final = StepResult(self._obs, (*result.events, *events), done, failure or result.failure_reason, metrics)
        if done:
            self._final = final
        return final

    def _validate(self, commands: Mapping[RobotId, Command]) -> dict[RobotId, Command]:
        validate = getattr(self.inner, "validate", None)
        if validate is not None:
            validate(commands)  # raises on unknown robots and illegal commands
        else:
            self.inner.actions_of(commands)  # type: ignore[attr-defined]  # MAPF
        return dict(commands)

    def _figures(self) -> dict[str, Any]:
        f = self.figures
        times = f["step_times"]
        return {
            **self.proximity.counts,
            "min_distance": round(near, 4) if math.isfinite(near := self.proximity.min_distance) else None,
            "max_tracking_error": round(f["max_tracking_error"], 4),
            "mean_step_time": round(sum(times) / len(times), 4) if times else 0.0,
            "lost_robots": f["lost_robots"],
            "sim_time": round(self.clock.now() - self._t0, 4),
        }

    # ------------------------------------------------------------------------------------------------ motion
    def _waypoints(self, world: Mapping[str, Any]) -> dict[RobotId, XY]:
        return waypoints(self.plugin, world, self.settings.cell_size)

    def _xy(self, rid: RobotId) -> XY:
        pose = self.localizer.pose(rid)
        return (0.0, 0.0) if pose is None else (pose.x, pose.y)

    def _pose3(self, rid: RobotId) -> tuple[float, float, float]:
        pose = self.localizer.pose(rid)
        return (0.0, 0.0, 0.0) if pose is None else pose.as_tuple()

    def _read(self, until: float) -> None:
        """Poll every link (at least once, then until ``until``), the pose feed, and update odometry."""
        first = True
        while first or self.clock.now() < until:
            before = self.clock.now()
            for link in self.robots.links.values():
                link.poll(0.0 if first else max(0.0, min(until - self.clock.now(), 0.005)))
            first = False
            if self.clock.now() == before and before < until:
                self.clock.sleep(min(until - before, 0.002))
        for rid, link in self.robots.links.items():
            t = link.telemetry
            if t is not None:
                self.localizer.update_odometry(rid, Pose2D(t.x, t.y, t.yaw))
        if self.feed is not None:
            self.feed.poll()

    def _drive(
        self, segments: Mapping[RobotId, tuple[XY, XY]], deadline: float, track: bool = True
    ) -> tuple[str | None, list[RobotEvent]]:
        """Drive each robot along its segment until all arrived; returns (failure or None, events)."""
        s = self.settings
        events: list[RobotEvent] = []
        tick = 1.0 / s.control_rate
        now = self.clock.now()
        end, next_tick = now + deadline, now
        arrived: set[RobotId] = set()
        lost_here = False
        self._driver = threading.current_thread()
        try:
            while True:
                self._read(next_tick)
                now = self.clock.now()
                next_tick = max(next_tick + tick, now)
                if self._estop_request.is_set():
                    self._do_estop()
                    return "estop", events
                if any(self._estopped(r) for r in segments):
                    self._send_all(0.0, 0.0)
                    return "estop", events
                for rid in self._silent():
                    events.append(self._drop(rid, now))
                    lost_here = True
                    if s.on_lost == "fail":
                        self._send_all(0.0, 0.0)
                        return "robot_lost", events
                active = [r for r in segments if r not in self._dropped]
                if not active:
                    return "robot_lost", events
                commands = {r: self._control(r, segments[r], arrived, now, track) for r in active}
                poses = {r: self._pose3(r) for r in self.robot_ids if r not in self._dropped}
                obstacles = list(self._obstacles.values())
                commands, slowed = keep_separation(poses, commands, s.min_separation, obstacles=obstacles)
                self.figures["slowed_ticks"] += len(slowed)
                for rid, (v, w) in commands.items():
                    self.robots.links[rid].send(wire.SetVelocityMsg(v, w))
                self._measure(now)
                if len(arrived) == len(active):
                    self._send_all(0.0, 0.0)
                    return None, events
                if now >= end:
                    self._send_all(0.0, 0.0)
                    missing = sorted(set(active) - arrived)
                    late = ", ".join(
                        f"{r} at ({self._xy(r)[0]:.2f}, {self._xy(r)[1]:.2f}) for ({segments[r][1][0]:.2f}, "
                        f"{segments[r][1][1]:.2f}), sent {commands[r][0]:.2f} m/s {commands[r][1]:.2f} rad/s, "
                        f"{describe_link(self.robots.links[r], self.clock)}"
                        for r in missing[:LATE_DETAILS]
                    )
                    if len(missing) > LATE_DETAILS:  # one line a person can read, whatever the fleet's size
                        late += f"; and {len(missing) - LATE_DETAILS} more: {', '.join(missing[LATE_DETAILS:])}"
                    log.warning("step deadline (%.1fs) passed; not arrived: %s", deadline, late)
                    return ("robot_lost" if lost_here or self._obstacles else "timeout"), events
        finally:
            self._driver = None

    def _control(
        self, rid: RobotId, segment: tuple[XY, XY], arrived: set[RobotId], now: float, track: bool
    ) -> tuple[float, float]:
        pose = self.localizer.pose(rid)
        assert pose is not None
        if track:
            err = segment_distance((pose.x, pose.y), *segment)
            self.figures["max_tracking_error"] = max(self.figures["max_tracking_error"], err)
        if rid in arrived:
            return 0.0, 0.0
        v, w, ok = drive_to(pose, segment[1], self.gains)
        if ok:
            arrived.add(rid)
            return 0.0, 0.0
        if self._hold.get(rid, -math.inf) > now:
            return 0.0, 0.0
        return v, w

    def _drop(self, rid: RobotId, now: float) -> RobotEvent:
        """A robot went silent: its firmware stops it; its neighbours stop for ``lost_hold``, then avoid it."""
        self._dropped.add(rid)
        self.lost_at[rid] = now
        self.figures["lost_robots"] = len(self._dropped)
        here = self._xy(rid)
        self._obstacles[rid] = here
        for other in self.robot_ids:
            near = math.dist(self._xy(other), here) <= self.settings.lost_radius
            if other != rid and other not in self._dropped and near:
                self._hold[other] = now + self.settings.lost_hold
                self.robots.links[other].send(wire.SetVelocityMsg(0.0, 0.0))
        log.warning("%s lost at (%.2f, %.2f): dropped, waits from now on", rid, *here)
        return RobotEvent(rid, "lost", f"no telemetry for {self.settings.heartbeat_timeout:.2f}s: dropped, waits")

    def _measure(self, now: float) -> None:
        self.proximity.update({r: self._xy(r) for r in self.robot_ids if r not in self._dropped} | self._obstacles)
        if self.record_frames:
            layout = self.plugin.scene(self._obs.world, self.settings.cell_size) if self._obs is not None else None
            self.frame_log.sample(now, now - self._t0, self.localizer, self.robots.links, layout)

    def take_frames(self) -> list[Scene]:
        """Scenes (map-frame poses) sampled every 0.1 s since the last call, when ``record_frames`` is set."""
        return self.frame_log.take_frames()

    def take_odometry(self) -> list[OdometrySample]:
        """Odometry and ``map <- odom`` samples taken with the frames, since the last call."""
        return self.frame_log.take_odometry()

    # ------------------------------------------------------------------------------------------------ observation
    def _augment(self, obs: Observation) -> Observation:
        robots: dict[RobotId, RobotObservation] = {}
        for rid, ro in obs.robots.items():
            pose = self.localizer.pose(rid)
            lost = rid in self._dropped
            measured = {  # sensor readings, not determined by the seed (RobotObservation.measured)
                "pose": [round(v, 3) for v in pose.as_tuple()] if pose is not None else None,
                "localization": self.localizer.source(rid),
            }
            text = f"{ro.text} (lost: waits)" if lost else ro.text
            data = {**ro.data, "lost": lost}
            robots[rid] = RobotObservation(rid, data, text, () if lost else ro.legal, {**ro.measured, **measured})
        world = {**obs.world, "cell_size": self.settings.cell_size, "frame": "map"}
        return Observation(obs.step, robots, world, obs.text)
