"""``fleetmind_world``: a world backend from a scenario as a ROS 2 node (thin: messages in, Fleet calls, messages out).

Per robot ``/<robot>/``: ``odom`` (nav_msgs/Odometry in ``<robot>/odom``, every ``odom_period_s``), ``task_state``
(String JSON), ``command`` (String JSON, subscribed). Whole fleet: ``/fleet/state`` (String JSON, transient local),
``/fleet/markers`` (MarkerArray), ``/fleet/roster`` and ``/fleet/plan`` (subscribed), ``/fleet/reset`` and
``/fleet/estop`` (std_srvs/Trigger), ``/fleet/estop_state`` (latched), tf ``map -> <robot>/odom -> <robot>/base_link``
and, for PyBullet, ``/clock`` (simulated time, also the stamps). The world steps once every robot on the roster has
sent a command for the current step; robots off the roster wait. With ``links: bridges`` the world is the real-robot
executor over the robots' ``fleetmind_bridge`` nodes (:mod:`fleetmind.ros.ros_links`) and also subscribes
``<robot>/external_pose`` (PoseStamped in ``frame_id``: external fixes, :mod:`fleetmind.ros.external_pose`).
"""

from __future__ import annotations

import json
import logging
import sys
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from rclpy.node import Node

from fleetmind.app.runner import ShieldRejected, shield_physical, shielded_step
from fleetmind.app.scenario import ScenarioError, load_scenario
from fleetmind.robots.commands import Command, Wait
from fleetmind.robots.errors import BadInputError, FleetError
from fleetmind.robots.fleet import ROBOTS_UNREACHABLE, Fleet, Observation, StepResult
from fleetmind.robots.ids import RobotId
from fleetmind.ros import common as rc
from fleetmind.ros._run import run_node  # noqa: F401 - the other nodes import it from here
from fleetmind.ros.world_out import IDENTITY, WorldOut, frame_poses, markers, sim_time

log = logging.getLogger(__name__)


class WorldParams(BaseModel):
    """Parameters of ``fleetmind_world`` (ROS parameters of the same names)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    scenario: str = Field("", min_length=1, description="Scenario file or name (e.g. scenarios/boxnet1_2x2.yaml).")
    seed: int = Field(-1, ge=-1, description="Seed of the first episode; -1: the scenario's run.seed.")
    autostart: bool = Field(True, description="Start the first episode at once (else wait for /fleet/reset).")
    state_period_s: float = Field(1.0, gt=0, le=60, description="Republish state and markers at this period.")
    odom_period_s: float = Field(0.05, gt=0, le=0.05, description="Odometry and tf period (s): 20 Hz or faster.")
    frame_id: str = Field("map", min_length=1, description="The shared map frame: root of tf, frame of markers.")
    cell_size_m: float = Field(1.0, gt=0, description="Metres per grid cell in odometry and markers (grid world).")
    links: Literal["scenario", "bridges"] = Field(
        "scenario",
        description="scenario: the world backend of the scenario; bridges: a backend: firmware scenario driven through "
        "one fleetmind_bridge per robot (cmd_vel out, odom and diagnostics in): the ROS real graph.",
    )
    connect_timeout_s: float = Field(30.0, gt=0, le=600, description="bridges: wait this long for every odometry.")
    min_subscribers: int = Field(
        0, ge=0, le=10_000, description="Autostart waits until this many subscribers listen on /fleet/state."
    )
    min_subscribers_wait_s: float = Field(
        60.0, gt=0, description="...but at most this long (then it starts with whoever listens)."
    )


APPLIED = frozenset({"state_period_s", "odom_period_s", "frame_id", "cell_size_m", "min_subscribers_wait_s"})
"""Parameters a running world applies at once; every other change is refused (read at start only)."""


class WorldNode(Node):
    threads = 1  # run_node's executor threads; 4 with links=bridges (a step blocks while robots drive)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__("world", **kwargs)
        from rclpy.callback_groups import MutuallyExclusiveCallbackGroup, ReentrantCallbackGroup
        from std_msgs.msg import String
        from std_srvs.srv import Trigger
        from visualization_msgs.msg import MarkerArray

        self.params = rc.declare_model_parameters(self, WorldParams, self._apply_parameters)
        try:
            self.scenario = load_scenario(self.params.scenario)
        except ScenarioError as exc:
            raise rc.ParameterError(f"parameter scenario: {exc}") from None
        self.io_group = ReentrantCallbackGroup()  # odometry and diagnostics in, poses out: also during a step
        self.external: Any = None  # links: bridges: <robot>/external_pose into the executor's localizer
        self.fleet = self._make_fleet()
        self.physical = shield_physical(self.scenario)
        self.shield_rejections = 0
        self.robots: tuple[RobotId, ...] = tuple(self.fleet.robot_ids)
        self.roster: set[RobotId] = set(self.robots)
        self.episode = 0
        self.seed = self.scenario.run.seed if self.params.seed < 0 else self.params.seed
        self.obs: Observation | None = None
        self.last: StepResult | None = None
        self.done = False
        self.failure: str | None = None
        self.stepping = False
        self.estopped = False
        self.pending: dict[RobotId, Command] = {}
        self.executed: dict[str, str] = {}
        self.rejected: list[str] = []
        self.out = WorldOut(self, self.robots, self.params.frame_id, odometry=self.params.links == "scenario")
        self.task_pubs = {
            r: self.create_publisher(String, rc.robot_topic(r, rc.TASK_STATE), rc.latched_qos()) for r in self.robots
        }
        for r in self.robots:
            self.create_subscription(
                String, rc.robot_topic(r, rc.COMMAND), lambda m, r=r: self.on_command(r, m.data), rc.latched_qos(10)
            )
        self.state_pub = self.create_publisher(String, rc.STATE_TOPIC, rc.latched_qos())
        self.marker_pub = self.create_publisher(MarkerArray, rc.MARKERS_TOPIC, 10)
        self.estop_pub = self.create_publisher(String, rc.ESTOP_STATE_TOPIC, rc.latched_qos())
        self.create_subscription(String, rc.ROSTER_TOPIC, lambda m: self.on_roster(m.data), rc.latched_qos())
        self.create_subscription(String, rc.PLAN_TOPIC, lambda m: self.on_plan(m.data), rc.latched_qos(10))
        self.create_service(Trigger, rc.RESET_SERVICE, self.on_reset)
        self.create_service(Trigger, rc.ESTOP_SERVICE, self.on_estop, callback_group=MutuallyExclusiveCallbackGroup())
        self.state_timer = rc.steady_timer(self, self.params.state_period_s, self.publish_all)
        self.pose_timer = self._pose_timer()
        watch = getattr(self.fleet, "watch_poses", None)  # PyBullet: poses while physics steps, in simulated time
        if callable(watch):
            watch(
                self.params.odom_period_s,
                lambda t, poses: self.out.publish({r: (IDENTITY, p) for r, p in poses.items()}, t),
            )
        self._created = rc.now_s()
        if self.params.autostart:
            self._starter = self.create_timer(0.1, self._autostart)

    def _make_fleet(self) -> Fleet:
        if self.params.links == "scenario":
            return self.scenario.make_fleet()
        if self.scenario.world.backend != "firmware":
            raise rc.ParameterError(
                f"parameter links: 'bridges' drives a backend: firmware scenario; {self.scenario.name} has backend: "
                f"{self.scenario.world.backend} (use links: scenario)"
            )
        from fleetmind.firmware_bridge.executor import ExecutorFleet, check_supported
        from fleetmind.firmware_bridge.executor_config import ExecutorSettings
        from fleetmind.ros.external_pose import ExternalPoseInput
        from fleetmind.ros.ros_links import RosLinks
        from fleetmind.sim.grid import make_grid_fleet

        settings = self.scenario.world.firmware or ExecutorSettings()
        try:
            check_supported(self.scenario.task, self.scenario.world)
        except BadInputError as exc:
            raise rc.ParameterError(f"parameter scenario: {exc}") from None
        self.threads = 4
        inner = make_grid_fleet(self.scenario.task, self.scenario.world)
        links = RosLinks(
            self,
            inner.robot_ids,
            settings.heartbeat_timeout,
            self.params.connect_timeout_s,
            callback_group=self.io_group,
        )
        fleet = ExecutorFleet(inner, self.scenario.task, links, settings)  # type: ignore[arg-type]
        self.external = ExternalPoseInput(self, fleet, lambda: self.params.frame_id, callback_group=self.io_group)
        return fleet

    def _pose_timer(self) -> Any:
        group = self.io_group if self.threads > 1 else None  # the executor's poses are safe to read during a step
        return rc.steady_timer(self, self.params.odom_period_s, self.publish_poses, group)  # stamps: node clock

    def _apply_parameters(self, new: WorldParams, changed: frozenset[str]) -> str | None:
        fixed = sorted(changed - APPLIED)
        if fixed:
            return f"parameter {fixed[0]}: read at start only; restart the node with the new value"
        self.params = new
        if "state_period_s" in changed:
            self.destroy_timer(self.state_timer)
            self.state_timer = rc.steady_timer(self, new.state_period_s, self.publish_all)
        if "odom_period_s" in changed:
            self.destroy_timer(self.pose_timer)
            self.pose_timer = self._pose_timer()
            watch = getattr(self.fleet, "watch_poses", None)
            if callable(watch):
                watch(
                    new.odom_period_s,
                    lambda t, poses: self.out.publish({r: (IDENTITY, p) for r, p in poses.items()}, t),
                )
        self.out.map_frame = new.frame_id
        self.out.origins = {}  # tf_static again, in the new frame
        self.get_logger().info(f"parameters applied: {', '.join(sorted(changed))}")
        return None

    def _autostart(self) -> None:
        listening = self.state_pub.get_subscription_count()
        if listening < self.params.min_subscribers:
            if rc.now_s() - self._created < self.params.min_subscribers_wait_s:
                return
            self.get_logger().warning(f"starting with {listening} of {self.params.min_subscribers} subscribers")
        self.destroy_timer(self._starter)
        self.start_episode()

    # ------------------------------------------------------------------------------------------ episodes
    def start_episode(self) -> int:
        seed = self.seed + self.episode
        self.episode += 1
        if self.estopped:  # a new episode is the operator's clearing of the e-stop
            self.estopped = False
            clear = getattr(self.fleet, "clear_estop", None)
            if callable(clear):
                clear()
            self._publish_estop(False, "new episode")
        self.obs = self.fleet.reset(seed)
        self.last, self.done, self.failure = None, False, None
        self.pending, self.executed, self.rejected = {}, {}, []
        self.shield_rejections = 0
        self.get_logger().info(f"episode {self.episode} (seed {seed}) of {self.scenario.name} started")
        if getattr(self.fleet, "unreachable", False):  # no robot answered: no agent will ever command one
            self.done, self.failure = True, ROBOTS_UNREACHABLE
            self.get_logger().error(f"episode {self.episode} ended: {ROBOTS_UNREACHABLE} (the warning names them)")
        self.publish_all()
        return seed

    def on_reset(self, request: Any, response: Any) -> Any:
        seed = self.start_episode()
        response.success = True
        response.message = rc.dumps({"episode": self.episode, "seed": seed})
        return response

    def on_estop(self, request: Any, response: Any) -> Any:
        """``/fleet/estop``: stop every robot now. Real robots latch it in their firmware (through the bridges, or the
        executor's links); a step in progress ends with ``estop``; the episode ends with failure ``estop``."""
        self.estopped = True
        self._publish_estop(True, "/fleet/estop")
        stop = getattr(self.fleet, "estop_all", None)
        acked = {str(r): bool(ok) for r, ok in stop().items()} if callable(stop) else {}
        if not self.stepping and self.obs is not None and not self.done:
            self.done, self.failure = True, "estop"
            self.publish_all()
        log.warning("e-stop: every robot stopped (%s)", acked or "simulated world")  # rclpy's logger is slow here
        response.success = all(acked.values()) if acked else True
        last = getattr(self.fleet, "last_estop", None)  # the executor: seconds from the call to zero speed, per robot
        zero = {str(r): round(t, 4) for r, t in last.get("zero_speed_after", {}).items()} if last else {}
        response.message = rc.dumps({"estop": True, "episode": self.episode, "acked": acked, "zero_speed_after": zero})
        return response

    def _publish_estop(self, active: bool, reason: str) -> None:
        from std_msgs.msg import String

        doc = {"schema": "fleetmind/estop/1", "active": active, "reason": reason, "stamp": rc.wall_s()}
        self.estop_pub.publish(String(data=rc.dumps(doc)))

    def on_roster(self, text: str) -> None:
        data = json.loads(text)
        self.roster = {RobotId(r) for r in data.get("robots", []) if r in self.robots}
        self.try_step()

    def on_plan(self, text: str) -> None:
        data = json.loads(text)
        if data.get("status") == "failed" and data.get("episode") == self.episode and not self.done:
            self.done, self.failure = True, str(data.get("reason") or "planning_failed")
            self.get_logger().warning(f"episode {self.episode} aborted: {self.failure} ({data.get('detail', '')})")
            self.publish_all()

    def on_command(self, robot: RobotId, text: str) -> None:
        data = json.loads(text)
        if self.obs is None or self.done or data.get("episode") != self.episode or data.get("step") != self.obs.step:
            return
        command = rc.parse_action(str(data.get("action", "")), self.obs.robots[robot].legal)
        if command is None:
            self.get_logger().warning(f"{robot}: {data.get('action')!r} is not legal now; it waits")
            self.rejected.append(f"{robot}: {data.get('action')}")
            command = Wait()
        self.pending[robot] = command
        self.try_step()

    def try_step(self) -> None:
        if self.obs is None or self.done or not self.roster or not self.roster <= set(self.pending):
            return
        commands = {r: c for r, c in self.pending.items() if not isinstance(c, Wait)}
        self.stepping = True
        try:
            result = shielded_step(self.fleet, self.obs, commands, self.physical)
        except ShieldRejected as exc:  # nothing executed; the planners here cannot replan a joint step: it ends
            self.get_logger().error(f"the shield refused the step's plan: {exc}")
            self.rejected.extend(f"shield: {v}" for v in exc.violations)
            self.shield_rejections += 1
            self.done, self.failure = True, "shield"
            self.publish_all()
            return
        except FleetError as exc:
            self.get_logger().error(f"step refused: {exc}")
            self.done, self.failure = True, "illegal_command"
            self.publish_all()
            return
        finally:
            self.stepping = False
        self.executed = rc.plan_to_json(commands)
        self.pending = {}
        self.last, self.obs = result, result.observation
        if result.done or self.estopped:
            self.done, self.failure = True, result.failure_reason or ("estop" if self.estopped else None)
            self.get_logger().info(
                f"episode {self.episode} done: success {result.success and not self.estopped}, "
                f"steps {result.metrics.get('steps')}" + (f", failure {self.failure}" if self.failure else "")
            )
        self.publish_all()

    # ------------------------------------------------------------------------------------------ output
    def state_doc(self) -> dict[str, Any]:
        assert self.obs is not None
        metrics = dict(self.last.metrics) if self.last else {"steps": self.obs.step}
        metrics["shield_rejections"] = self.shield_rejections
        success = bool(self.last.success) and not self.estopped if self.last and self.done else False
        return {
            "schema": "fleetmind/state/1",
            "scenario": self.scenario.name,
            "task": self.scenario.world.task,
            "episode": self.episode,
            "seed": self.seed + self.episode - 1,
            "step": self.obs.step,
            "done": self.done,
            "success": success,
            "failure_reason": self.failure,
            "metrics": metrics,
            "events": [
                {"robot": e.robot, "kind": e.kind, "detail": e.detail} for e in (self.last.events if self.last else ())
            ],
            "executed": self.executed,
            "rejected": self.rejected,
            "roster": sorted(self.roster),
            "estop": self.estopped,
            "observation": rc.observation_to_json(self.obs),
        }

    def publish_poses(self) -> None:
        """Odometry and tf of every robot (every ``odom_period_s``; PyBullet also from inside its steps)."""
        if self.obs is None or (self.stepping and self.threads == 1):
            return
        self.out.publish(frame_poses(self.fleet, self.obs, self.params.cell_size_m), sim_time(self.obs))

    def publish_all(self) -> None:
        if self.obs is None:
            return
        from std_msgs.msg import String

        self.state_pub.publish(String(data=rc.dumps(self.state_doc())))
        stamp = self.out.stamp(sim_time(self.obs))
        for r in self.robots:
            ro = self.obs.robots[r]
            doc = {
                "schema": "fleetmind/task_state/1",
                "episode": self.episode,
                "step": self.obs.step,
                "robot": r,
                "text": ro.text,
                "data": dict(ro.data),
                "legal": list(ro.legal_text),
                "done": self.done,
            }
            self.task_pubs[r].publish(String(data=rc.dumps(doc)))
        self.publish_poses()
        size = self.params.cell_size_m
        self.marker_pub.publish(markers(self.obs, self.robots, self.params.frame_id, size, stamp))

    def destroy_node(self) -> None:
        self.fleet.close()
        super().destroy_node()


def main() -> None:
    sys.exit(run_node(WorldNode))


if __name__ == "__main__":
    main()
