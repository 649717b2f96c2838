"""``fleetmind_world``: a world backend from a scenario as a ROS 2 node (thin: messages in, Fleet calls, messages out).

Per robot ``/<robot>/``: ``odom`` (nav_msgs/Odometry), ``task_state`` (String JSON), ``command`` (String JSON,
subscribed). Whole fleet: ``/fleet/state`` (String JSON, transient local), ``/fleet/markers`` (MarkerArray),
``/fleet/roster`` and ``/fleet/plan`` (subscribed), ``/fleet/reset`` (std_srvs/Trigger). The world steps
once every robot on the roster has sent a command for the current step; robots off the roster wait.
"""

from __future__ import annotations

import json
import logging
import sys
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from rclpy.node import Node

from fleetmind.app.runner import ShieldRejected, shield_physical, shielded_step
from fleetmind.app.scenario import ScenarioError, load_scenario
from fleetmind.robots.commands import Command, Wait
from fleetmind.robots.errors import FleetError
from fleetmind.robots.fleet import Observation, StepResult
from fleetmind.robots.ids import RobotId
from fleetmind.ros import common as rc

log = logging.getLogger(__name__)
_COLOURS = {"blue": (0.1, 0.3, 1.0), "red": (1.0, 0.1, 0.1), "green": (0.1, 0.8, 0.2), "purple": (0.6, 0.2, 0.8)}


class WorldParams(BaseModel):
    """Parameters of ``fleetmind_world`` (ROS parameters of the same names)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    scenario: str = Field("", min_length=1, description="Scenario file or name (e.g. scenarios/boxnet1_2x2.yaml).")
    seed: int = Field(-1, ge=-1, description="Seed of the first episode; -1: the scenario's run.seed.")
    autostart: bool = Field(True, description="Start the first episode at once (else wait for /fleet/reset).")
    state_period_s: float = Field(1.0, gt=0, le=60, description="Republish state and odometry at this period.")
    frame_id: str = Field("odom", min_length=1, description="Frame of the odometry poses.")
    cell_size_m: float = Field(1.0, gt=0, description="Metres per grid cell in odometry and markers.")
    min_subscribers: int = Field(
        0, ge=0, le=10_000, description="Autostart waits until this many subscribers listen on /fleet/state."
    )
    min_subscribers_wait_s: float = Field(
        60.0, gt=0, description="...but at most this long (then it starts with whoever listens)."
    )


class WorldNode(Node):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__("world", **kwargs)
        from nav_msgs.msg import Odometry
        from std_msgs.msg import String
        from std_srvs.srv import Trigger
        from visualization_msgs.msg import MarkerArray

        self.params = rc.declare_model_parameters(self, WorldParams)
        try:
            self.scenario = load_scenario(self.params.scenario)
        except ScenarioError as exc:
            raise rc.ParameterError(f"parameter scenario: {exc}") from None
        self.fleet = self.scenario.make_fleet()
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
        self.pending: dict[RobotId, Command] = {}
        self.executed: dict[str, str] = {}
        self.rejected: list[str] = []
        self.odom_pubs = {r: self.create_publisher(Odometry, rc.robot_topic(r, rc.ODOM), 10) for r in self.robots}
        self.task_pubs = {
            r: self.create_publisher(String, rc.robot_topic(r, rc.TASK_STATE), rc.latched_qos()) for r in self.robots
        }
        for r in self.robots:
            self.create_subscription(
                String, rc.robot_topic(r, rc.COMMAND), lambda m, r=r: self.on_command(r, m.data), rc.latched_qos(10)
            )
        self.state_pub = self.create_publisher(String, rc.STATE_TOPIC, rc.latched_qos())
        self.marker_pub = self.create_publisher(MarkerArray, rc.MARKERS_TOPIC, 10)
        self.create_subscription(String, rc.ROSTER_TOPIC, lambda m: self.on_roster(m.data), rc.latched_qos())
        self.create_subscription(String, rc.PLAN_TOPIC, lambda m: self.on_plan(m.data), rc.latched_qos(10))
        self.create_service(Trigger, rc.RESET_SERVICE, self.on_reset)
        self.create_timer(self.params.state_period_s, self.publish_all)
        self._created = rc.now_s()
        if self.params.autostart:
            self._starter = self.create_timer(0.1, self._autostart)

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
        self.obs = self.fleet.reset(seed)
        self.last, self.done, self.failure = None, False, None
        self.pending, self.executed, self.rejected = {}, {}, []
        self.shield_rejections = 0
        self.get_logger().info(f"episode {self.episode} (seed {seed}) of {self.scenario.name} started")
        self.publish_all()
        return seed

    def on_reset(self, request: Any, response: Any) -> Any:
        seed = self.start_episode()
        response.success = True
        response.message = rc.dumps({"episode": self.episode, "seed": seed})
        return response

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
        self.executed = rc.plan_to_json(commands)
        self.pending = {}
        self.last, self.obs = result, result.observation
        if result.done:
            self.done, self.failure = True, result.failure_reason
            self.get_logger().info(
                f"episode {self.episode} done: success {result.success}, steps {result.metrics.get('steps')}"
                + (f", failure {result.failure_reason}" if result.failure_reason else "")
            )
        self.publish_all()

    # ------------------------------------------------------------------------------------------ output
    def state_doc(self) -> dict[str, Any]:
        assert self.obs is not None
        metrics = dict(self.last.metrics) if self.last else {"steps": self.obs.step}
        metrics["shield_rejections"] = self.shield_rejections
        return {
            "schema": "fleetmind/state/1",
            "scenario": self.scenario.name,
            "task": self.scenario.world.task,
            "episode": self.episode,
            "seed": self.seed + self.episode - 1,
            "step": self.obs.step,
            "done": self.done,
            "success": bool(self.last.success) if self.last and self.done else False,
            "failure_reason": self.failure,
            "metrics": metrics,
            "events": [
                {"robot": e.robot, "kind": e.kind, "detail": e.detail} for e in (self.last.events if self.last else ())
            ],
            "executed": self.executed,
            "rejected": self.rejected,
            "roster": sorted(self.roster),
            "observation": rc.observation_to_json(self.obs),
        }

    def publish_all(self) -> None:
        if self.obs is None:
            return
        from std_msgs.msg import String

        self.state_pub.publish(String(data=rc.dumps(self.state_doc())))
        stamp = self.get_clock().now().to_msg()
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
            self.odom_pubs[r].publish(self._odometry(r, stamp))
        self.marker_pub.publish(self._markers(stamp))

    def _odometry(self, robot: RobotId, stamp: Any) -> Any:
        from nav_msgs.msg import Odometry

        assert self.obs is not None
        msg = Odometry()
        msg.header.stamp = stamp
        msg.header.frame_id = self.params.frame_id
        msg.child_frame_id = f"{robot}/base_link"
        msg.pose.pose.position.x, msg.pose.pose.position.y = rc.grid_xy(self.obs, robot, self.params.cell_size_m)
        msg.pose.pose.orientation.w = 1.0
        return msg

    def _markers(self, stamp: Any) -> Any:
        from visualization_msgs.msg import Marker, MarkerArray

        assert self.obs is not None
        out = MarkerArray()
        clear = Marker(action=Marker.DELETEALL)
        clear.header.frame_id = self.params.frame_id
        out.markers.append(clear)
        size = self.params.cell_size_m

        def add(
            ns: str, idx: int, kind: int, x: float, y: float, rgb: tuple[float, float, float], text: str = ""
        ) -> None:
            m = Marker(ns=ns, id=idx, type=kind, action=Marker.ADD, text=text)
            m.header.frame_id, m.header.stamp = self.params.frame_id, stamp
            m.pose.position.x, m.pose.position.y, m.pose.orientation.w = x, y, 1.0
            m.scale.x = m.scale.y = m.scale.z = 0.25 * size
            m.color.r, m.color.g, m.color.b = rgb
            m.color.a = 1.0
            out.markers.append(m)

        for i, r in enumerate(self.robots):
            x, y = rc.grid_xy(self.obs, r, size)
            add("robots", i, Marker.CYLINDER, x, y, (0.5, 0.5, 0.5))
            add("labels", i, Marker.TEXT_VIEW_FACING, x, y + 0.3 * size, (1.0, 1.0, 1.0), r)
        for ns, kind, offset in (("boxes", Marker.CUBE, -0.25), ("targets", Marker.SPHERE, 0.25)):
            for i, item in enumerate(self.obs.world.get(ns, []) or []):
                if isinstance(item, (list, tuple)) and len(item) >= 3 and isinstance(item[2], str):
                    rgb = _COLOURS.get(item[2], (1.0, 0.6, 0.0))
                    add(ns, i, kind, (item[1] + 0.5 + offset) * size, (item[0] + 0.5 + offset) * size, rgb)
        return out

    def destroy_node(self) -> None:
        self.fleet.close()
        super().destroy_node()


def run_node(node_cls: type[Node], argv: list[str] | None = None) -> int:
    """Entry-point body shared by every fleetmind node: init, spin until Ctrl-C / SIGTERM / shutdown, clean up.

    Stopped by a signal, the process ends right after its own clean-up (node destroyed, rclpy shut down, logs
    flushed): the interpreter's shutdown would first join worker threads still in a model call, run ``atexit``
    hooks and collect every module, seconds on a loaded machine, past the 2 s a stopped node has."""
    import rclpy
    from rclpy.executors import ExternalShutdownException

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    for noisy in ("httpx", "httpx2", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    from fleetmind.robots.process import exit_soon_after_sigterm

    stop = exit_soon_after_sigterm(1.5)  # before rclpy.init, whose SIGTERM handler (clean shutdown) calls it too
    name = logging.getLogger(node_cls.__name__)
    code, interrupted = 0, False
    rclpy.init(args=sys.argv if argv is None else argv)
    node = None
    try:
        node = node_cls()
        if not stop.received:  # a SIGTERM before rclpy.init installed its handler has shut nothing down
            rclpy.spin(node)
    except rc.ParameterError as exc:
        name.error("%s", exc)  # one line: which parameter and why
        code = 2
    except (KeyboardInterrupt, ExternalShutdownException):
        interrupted = True
    except Exception as exc:
        if not stop.received and rclpy.ok():
            raise
        interrupted = True  # e.g. a callback that published after a signal had shut the context down
        name.info("stopping: %s", exc)
    finally:
        try:
            if node is not None:
                node.destroy_node()
        finally:
            if rclpy.ok():
                rclpy.shutdown()
    if stop.received or interrupted:
        stop.exit_now(code)
    return code


def main() -> None:
    sys.exit(run_node(WorldNode))


if __name__ == "__main__":
    main()
