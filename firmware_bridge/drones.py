"""MavlinkFleet: a grid task flown by MAVLink drones (PX4 offboard or ArduPilot guided), behind the Fleet protocol.

The wrapped grid fleet (``inner``: a GridFleet or MapfFleet, built by the caller) stays the logical model: it
validates commands, applies them and reports the task's observations and metrics. Each step, the robots' new
cells (through the task's metric layout, :meth:`fleetmind.tasks.base.Task.scene`) become local position
setpoints at the working altitude; the step ends when every vehicle is within ``tolerance`` of its setpoint, or
the episode fails after ``step_deadline`` (``timeout``), on a lost link (``robot_lost``) or an e-stop (``estop``).
The shield runs before :meth:`step` (``fleetmind.app.runner.shielded_step``), as for every backend.

``reset`` connects, arms and flies every vehicle to its start cell: up to its own layer (``altitude + k *
layer_gap``), across, then down to the working altitude. The end of an episode, a failure, an e-stop and
:meth:`close` land every vehicle; a vehicle whose heartbeat stops is landed by :class:`MavlinkVehicle`'s failsafe.

Between steps the setpoint stream must go on (PX4 leaves offboard after 0.5 s without one): with ``keepalive``
a daemon thread spins the links while the planner thinks. Every deadline runs on the injected ``clock``; tests
turn ``keepalive`` off and drive vehicle doubles on a manual clock (``fleetmind.testing.vehicle_double``).
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from fleetmind.firmware_bridge.drone_config import DroneConfig, DroneFleetConfig, MapOrigin
from fleetmind.firmware_bridge.mavlink import LinkState, MavlinkVehicle, PositionSetpoint, mav
from fleetmind.robots.clock import MONOTONIC, Clock
from fleetmind.robots.commands import Command
from fleetmind.robots.errors import BadInputError, ExpectedFailure, FleetClosedError
from fleetmind.robots.fleet import Observation, RobotEvent, RobotObservation, StepResult, final_step
from fleetmind.robots.ids import RobotId
from fleetmind.tasks import real_robot_tasks
from fleetmind.tasks.base import Task

log = logging.getLogger(__name__)

Target = tuple[float, float, float]
"""Map ``(x, y, altitude)``, m."""


def check_supported(task: Task, world: Any = None) -> None:
    """``BadInputError`` (one line) unless drones can play ``task`` (with ``world``, a scenario's world section:
    that world of it): those whose robots only move between cells (:meth:`~fleetmind.tasks.base.Task.
    real_robots_refusal`)."""
    why = task.real_robots_refusal(world)
    if why is not None:
        names = ", ".join(real_robot_tasks())
        raise BadInputError(
            f"world.task: {task.name!r} is unsupported on the mavlink backend ({why}); supported: {names}"
        )


class DroneFleetFailure(ExpectedFailure):
    """The fleet could not get airborne (no link, no arm, start cells not reached); every vehicle was landed."""


class MavlinkFleet:
    """The drone backend. ``connections`` (robot -> a pymavlink-like connection) replace the configured URLs."""

    def __init__(
        self,
        inner: Any,
        task: Task,
        config: DroneFleetConfig,
        clock: Clock = MONOTONIC,
        connections: Mapping[str, Any] | None = None,
        keepalive: bool = True,
    ) -> None:
        check_supported(task)
        self.inner, self.task, self.config, self.clock = inner, task, config, clock
        self._ids: tuple[RobotId, ...] = tuple(inner.robot_ids)
        names = [r.name for r in config.robots]
        if sorted(names) != sorted(self._ids):
            raise BadInputError(
                f"robots: the vehicles are named {names} but the task's robots are {list(self._ids)}; "
                "give one vehicle per robot, with the robot's name"
            )
        self.configs: dict[RobotId, DroneConfig] = {RobotId(r.name): r for r in config.robots}
        conns = connections or {}
        self.vehicles: dict[RobotId, MavlinkVehicle] = {
            rid: MavlinkVehicle(self.configs[rid], connection=conns.get(rid), clock=clock) for rid in self._ids
        }
        self._lock = threading.RLock()
        self._holders = 0
        self._count = threading.Lock()
        self._estop = threading.Event()
        self._stop = threading.Event()
        self._pump: threading.Thread | None = None
        self._keepalive = keepalive
        self._targets: dict[RobotId, Target] = {}
        self.origins: dict[RobotId, MapOrigin] = {RobotId(r): MapOrigin(*xyz) for r, xyz in config.start.items()}
        self._steps = 0
        self._flight_time = 0.0
        self._max_error = 0.0
        self._closest = math.inf
        self._reset = False
        self._final: StepResult | None = None
        self._closed = False

    @property
    def robot_ids(self) -> tuple[RobotId, ...]:
        return self._ids

    # ----------------------------------------------------------------------------------------------- links
    @contextmanager
    def _exclusive(self) -> Iterator[None]:
        """Hold the links (the keep-alive thread pauses after its current round)."""
        with self._count:
            self._holders += 1
        try:
            with self._lock:
                yield
        finally:
            with self._count:
                self._holders -= 1

    def _spin_all(self) -> None:
        """One round over every link: ``poll_period`` seconds in all."""
        share = self.config.poll_period / len(self.vehicles)
        for v in self.vehicles.values():
            v.spin_once(share)

    def _keep_streaming(self) -> None:
        while not self._stop.is_set():
            if self._holders or not self._lock.acquire(timeout=0.05):
                self._stop.wait(0.002)
                continue
            try:
                self._spin_all()
            finally:
                self._lock.release()

    def _wait_for(self, done: Any, timeout: float) -> bool:
        """Spin every link until ``done()`` or ``timeout`` seconds pass (on the fleet's clock)."""
        end = self.clock.now() + timeout
        while not done():
            if self.clock.now() >= end:
                return False
            self._spin_all()
        return True

    def _origin(self, rid: RobotId) -> MapOrigin:
        return self.origins.get(rid) or MapOrigin()

    def spin_for(self, seconds: float) -> None:
        """Serve every link for ``seconds`` on the fleet's clock (what the keep-alive thread does between steps)."""
        with self._exclusive():
            self._wait_for(lambda: False, seconds)

    def map_pose(self, rid: RobotId) -> Target | None:
        """The vehicle's last reported position in the map frame (x, y, altitude), or ``None``."""
        p = self.vehicles[rid].position
        return None if p is None else self._origin(rid).to_map(*p)

    def _error(self, rid: RobotId) -> float:
        pose, target = self.map_pose(rid), self._targets.get(rid)
        if pose is None or target is None:
            return math.inf
        return math.dist(pose, target)

    def _fly(self, targets: Mapping[RobotId, Target], timeout: float) -> tuple[str | None, list[RobotEvent]]:
        """Send each target as a setpoint and spin until all arrived; ``(failure_reason, events)``."""
        for rid, (x, y, alt) in targets.items():
            self._targets[rid] = (x, y, alt)
            self.vehicles[rid].set_setpoint(PositionSetpoint(*self._origin(rid).to_local(x, y, alt)))
        end = self.clock.now() + timeout
        while True:
            if self._estop.is_set():
                return "estop", []
            lost = [rid for rid, v in self.vehicles.items() if v.state is LinkState.LOST]
            left = [rid for rid, v in self.vehicles.items() if v.custom_mode is not None and not v.mode_is("offboard")]
            if lost or left:
                events = [RobotEvent(r, "lost", "no heartbeat: landing (failsafe)") for r in lost]
                events += [RobotEvent(r, "lost", "left offboard/guided mode") for r in left if r not in lost]
                return "robot_lost", events
            if all(self._error(rid) <= self.config.tolerance for rid in self._ids):
                self._max_error = max([self._max_error, *(self._error(rid) for rid in self._ids)])
                return None, []
            if self.clock.now() >= end:
                late = [rid for rid in self._ids if self._error(rid) > self.config.tolerance]
                return "timeout", [
                    RobotEvent(r, "timeout", f"{self._error(r):.2f} m from its setpoint after {timeout:.1f}s")
                    for r in late
                ]
            self._spin_all()
            poses = [p for p in map(self.map_pose, self._ids) if p is not None]
            self._closest = min([self._closest, *(math.dist(a, b) for k, a in enumerate(poses) for b in poses[:k])])

    # ----------------------------------------------------------------------------------------------- episode
    def _cells(self, world: Mapping[str, Any]) -> dict[RobotId, tuple[float, float]]:
        scene = self.task.scene(world, self.config.cell_size)
        return {rid: (scene.robots[rid][0], scene.robots[rid][1]) for rid in self._ids}

    def _altitude(self, rid: RobotId) -> float:
        return self.config.altitude_of(self.configs[rid])

    def reset(self, seed: int) -> Observation:
        """Land what flies, then connect, arm and fly every vehicle to its start cell at its working altitude.

        Raises :class:`DroneFleetFailure` (after landing every vehicle) when that fails, ``ExpectedFailure`` while
        an e-stop is latched (:meth:`clear_estop`)."""
        if self._closed:
            raise FleetClosedError()
        if self._estop.is_set():
            raise ExpectedFailure("the drone fleet is e-stopped; call clear_estop() before a new episode")
        self._stop_pump()
        with self._exclusive():
            if any(v.armed for v in self.vehicles.values()):
                self._land_all()
            obs = self.inner.reset(seed)
            self._steps, self._flight_time, self._max_error, self._final = 0, 0.0, 0.0, None
            self._closest = math.inf
            try:
                self._take_off(self._cells(obs.world))
            except DroneFleetFailure:
                self._land_all()
                raise
            self._reset = True
        self._start_pump()
        return self._augment(obs)

    def _take_off(self, cells: Mapping[RobotId, tuple[float, float]]) -> None:
        c, vs = self.config, self.vehicles
        if self._wait_for(lambda: all(v.state is LinkState.UP for v in vs.values()), c.connect_timeout):
            for v in vs.values():  # ArduPilot streams no LOCAL_POSITION_NED unless asked; PX4 accepts it too
                v.request_message_rate(mav.MAVLINK_MSG_ID_LOCAL_POSITION_NED, 20.0)
        if not self._wait_for(lambda: all(v.position is not None for v in vs.values()), c.connect_timeout):
            silent = [r for r, v in vs.items() if v.state is not LinkState.UP or v.position is None]
            raise DroneFleetFailure(f"no heartbeat/position from {silent} within connect_timeout={c.connect_timeout}s")
        for rid, v in vs.items():  # a vehicle without a configured start stands on its start cell (first reset)
            if rid not in self.origins and v.position is not None:
                self.origins[rid] = MapOrigin.placing(v.position[0], v.position[1], *cells[rid])
        armable = {rid: "offboard" if v.config.autopilot == "ardupilot" else "hold" for rid, v in vs.items()}
        for rid, v in vs.items():  # neither arms in LAND (where the last episode left it): GUIDED / hold first
            v.request_mode(armable[rid])  # type: ignore[arg-type]
        if not self._wait_for(lambda: all(v.mode_is(armable[r]) for r, v in vs.items()), c.connect_timeout):  # type: ignore[arg-type]
            late = [r for r, v in vs.items() if not v.mode_is(armable[r])]  # type: ignore[arg-type]
            raise DroneFleetFailure(f"mode change before arming refused by {late}")
        for v in vs.values():
            v.request_arm(True)
        if not self._wait_for(lambda: all(v.armed for v in vs.values()), c.connect_timeout):
            raise DroneFleetFailure(
                f"not armed within {c.connect_timeout}s: {[r for r, v in vs.items() if not v.armed]}"
            )
        layers = {rid: self._altitude(rid) + k * c.layer_gap for k, rid in enumerate(self._ids)}
        here = {rid: self.map_pose(rid) for rid in self._ids}
        for rid, v in vs.items():
            x, y, _ = here[rid] or (0.0, 0.0, 0.0)
            v.set_setpoint(PositionSetpoint(*self._origin(rid).to_local(x, y, layers[rid])))
            v.start_streaming()
        self._wait_for(lambda: False, 0.25)  # > 2 Hz of setpoints before offboard (PX4)
        for v in vs.values():
            v.request_mode("offboard")
        if not self._wait_for(lambda: all(v.mode_is("offboard") for v in vs.values()), c.connect_timeout):
            late = [r for r, v in vs.items() if not v.mode_is("offboard")]
            raise DroneFleetFailure(f"offboard/guided mode refused by {late}")
        for v in vs.values():
            if v.config.autopilot == "ardupilot":
                v.request_takeoff(layers[RobotId(v.config.name)])
        plan = [
            {rid: (*here[rid][:2], layers[rid]) for rid in self._ids if here[rid]},  # type: ignore[index]
            {rid: (*cells[rid], layers[rid]) for rid in self._ids},
            {rid: (*cells[rid], self._altitude(rid)) for rid in self._ids},
        ]
        for phase, targets in zip(("climb", "to start cells", "descend to altitude"), plan, strict=True):
            failure, events = self._fly(targets, c.reset_deadline)
            if failure is not None:
                detail = "; ".join(f"{e.robot}: {e.detail}" for e in events) or failure
                raise DroneFleetFailure(f"take-off ({phase}) failed: {failure}: {detail}")

    def _land_all(self) -> dict[RobotId, bool]:
        """Command land on every vehicle (resent every 0.25 s) until each is disarmed on the ground, bounded by
        ``land_deadline``; per robot, whether it landed."""
        flying = [rid for rid, v in self.vehicles.items() if v.armed and v.state is not LinkState.LOST]
        next_send = self.clock.now()

        def landed() -> bool:
            nonlocal next_send
            if self.clock.now() >= next_send:
                for rid in flying:
                    if not self.vehicles[rid].mode_is("land") and self.vehicles[rid].armed:
                        self.vehicles[rid].request_mode("land")
                next_send = self.clock.now() + 0.25
            return not any(self.vehicles[rid].armed for rid in flying)

        for v in self.vehicles.values():
            v.streaming = False
        self._wait_for(landed, self.config.land_deadline)
        return {rid: not v.armed for rid, v in self.vehicles.items()}

    def step(self, commands: Mapping[RobotId, Command]) -> StepResult:
        if (final := final_step(self._closed, self._reset, self._final)) is not None:
            return final
        checked = self._validate(commands)
        with self._exclusive():
            start = self.clock.now()
            if self._estop.is_set():  # latched between steps: nothing moves
                observation, inner_metrics, done_inner = self.inner.observe(), {}, True
                failure, events = "estop", []
            else:
                inner = self.inner.step(checked)
                observation, inner_metrics, done_inner = inner.observation, inner.metrics, inner.done
                targets = {rid: (*xy, self._altitude(rid)) for rid, xy in self._cells(observation.world).items()}
                failure, events = self._fly(targets, self.config.step_deadline)
                events = [*inner.events, *events]
                failure = failure or inner.failure_reason
            self._steps += 1
            self._flight_time += self.clock.now() - start
            done = done_inner or failure is not None
            landed = self._land_all() if done else {}
        metrics: dict[str, Any] = {
            **inner_metrics,
            "steps": inner_metrics.get("steps", self._steps),
            "success": bool(inner_metrics.get("success", False)) and failure is None,
            "failure_reason": failure,
            "flight_time": round(self._flight_time, 3),
            "max_arrival_error": round(self._max_error, 3),
            "closest_vehicles": round(self._closest, 3),
            "landed": sum(landed.values()),
        }
        result = StepResult(self._augment(observation), tuple(events), done, failure, metrics)
        if done:  # the keep-alive goes on until close(): heartbeats, and failsafe resends to a lost vehicle
            self._final = result
        return result

    def _validate(self, commands: Mapping[RobotId, Command]) -> dict[RobotId, Command]:
        if hasattr(self.inner, "validate"):
            self.inner.validate(commands)  # raises on unknown robots and illegal commands
        else:
            self.inner.actions_of(commands)  # MAPF: raises on unknown robots and foreign commands
        return dict(commands)

    def _augment(self, obs: Observation) -> Observation:
        robots: dict[RobotId, RobotObservation] = {}
        for rid, ro in obs.robots.items():
            pose = self.map_pose(rid)
            v = self.vehicles[rid]
            measured = {  # sensor readings, not determined by the seed (RobotObservation.measured)
                "position": None if pose is None else tuple(round(p, 3) for p in pose),
                "link": v.state.value,
                "armed": v.armed,
            }
            robots[rid] = RobotObservation(ro.robot, ro.data, ro.text, ro.legal, {**ro.measured, **measured})
        world = {**obs.world, "cell_size": self.config.cell_size, "estop": self._estop.is_set()}
        return Observation(obs.step, robots, world, obs.text)

    # ----------------------------------------------------------------------------------------------- safety
    def request_estop(self) -> None:
        """Latch the e-stop and return at once (safe from any thread or a signal handler): a running step ends
        with ``estop`` and lands every vehicle; :meth:`estop_all` also lands them when no step runs."""
        self._estop.set()

    def estop_all(self) -> dict[RobotId, bool]:
        """E-stop: latch, stop every setpoint stream and land every vehicle (a running step ends first, within one
        poll round); returns once all are on the ground or ``land_deadline`` passed: per robot, whether it landed."""
        self._estop.set()
        with self._exclusive():
            return self._land_all()

    def clear_estop(self) -> None:
        """Unlatch the e-stop (an explicit operator action); the next episode starts with :meth:`reset`."""
        self._estop.clear()

    # ----------------------------------------------------------------------------------------------- threads
    def _start_pump(self) -> None:
        if self._keepalive and self._pump is None:
            self._stop.clear()
            self._pump = threading.Thread(target=self._keep_streaming, name="mavlink-keepalive", daemon=True)
            self._pump.start()

    def _stop_pump(self) -> None:
        if self._pump is not None:
            self._stop.set()
            self._pump.join(timeout=2.0)
            self._pump = None

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._stop_pump()
        with self._exclusive():
            if any(v.armed for v in self.vehicles.values()):
                self._land_all()
            for v in self.vehicles.values():
                v.close()
        self.inner.close()
