"""``fleetmind_agent``: one robot's own LLM agent, in the robot's namespace (``/<robot>/agent``).

Its reasoning runs here and only messages cross: it reads ``/fleet/state`` and ``/fleet/dialogue``, speaks
on ``/fleet/dialogue`` when :class:`DialogueState` says it is its turn (DMAS / HMAS-1), checks the central
plan when asked (HMAS-2), commands its own robot on ``/<robot>/command`` when a dialogue ends, and
publishes a heartbeat on ``/diagnostics``. Model calls run on one worker thread, so heartbeats keep going
while it thinks.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from rclpy.node import Node

from fleetmind.app.scenario import ScenarioError, load_scenario
from fleetmind.planners.llm.config import LLMSettings
from fleetmind.planners.llm.ros_dialogue import DialogueState, RosLLMPlanner, mask_observation
from fleetmind.robots.fleet import Observation
from fleetmind.robots.ids import RobotId, robot_id
from fleetmind.robots.planner import PlanningFailed
from fleetmind.ros import common as rc

log = logging.getLogger(__name__)


class AgentParams(BaseModel):
    """Parameters of ``fleetmind_agent`` (``llm.*`` are :class:`LLMSettings`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    scenario: str = Field("", min_length=1, description="Scenario file or name (the task the prompts describe).")
    framework: Literal["dmas", "hmas1", "hmas2"] = Field("dmas", description="LLM framework the agent takes part in.")
    robot: str = Field("", description="Robot id (default: the node's namespace).")
    heartbeat_period_s: float = Field(0.5, gt=0, le=60, description="Heartbeat period on /diagnostics.")
    llm: LLMSettings = Field(default_factory=LLMSettings, description="Model and prompt settings.")


class AgentNode(Node):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__("agent", **kwargs)
        from diagnostic_msgs.msg import DiagnosticArray
        from std_msgs.msg import String

        self.params = rc.declare_model_parameters(self, AgentParams)
        name = self.params.robot or self.get_namespace().strip("/")
        try:
            self.robot = robot_id(name)
            task = load_scenario(self.params.scenario).world.task
        except (ValueError, ScenarioError) as exc:
            raise rc.ParameterError(f"parameter robot/scenario: {exc}") from None
        settings = self.params.llm
        from fleetmind.app.llm import make_client

        self.llm = RosLLMPlanner(self.params.framework, task, settings, lambda: make_client(settings))
        self.lock = threading.RLock()
        self.worker = ThreadPoolExecutor(1, thread_name_prefix=f"agent-{self.robot}")
        self.episode: int | None = None
        self.obs: Observation | None = None
        self.live: frozenset[RobotId] | None = None  # from /fleet/roster
        self.dialogue: DialogueState | None = None
        self.attempt = -1
        self.turns: dict[int, dict[str, Any]] = {}
        self.asked: set[tuple[Any, ...]] = set()
        self.committed: set[tuple[int, int]] = set()
        self.inbox: list[dict[str, Any]] = []
        self.dialogue_pub = self.create_publisher(String, rc.DIALOGUE_TOPIC, rc.latched_qos(50))
        self.command_pub = self.create_publisher(String, rc.robot_topic(self.robot, rc.COMMAND), rc.latched_qos(10))
        self.plan_pub = self.create_publisher(String, rc.PLAN_TOPIC, rc.latched_qos(10))
        self.beat_pub = self.create_publisher(DiagnosticArray, rc.DIAGNOSTICS_TOPIC, 10)
        self.create_subscription(String, rc.STATE_TOPIC, lambda m: self.on_state(m.data), rc.latched_qos())
        self.create_subscription(String, rc.DIALOGUE_TOPIC, lambda m: self.on_dialogue(m.data), rc.latched_qos(50))
        self.create_subscription(String, rc.ROSTER_TOPIC, lambda m: self.on_roster(m.data), rc.latched_qos())
        self.create_subscription(String, rc.PLAN_TOPIC, lambda m: self.on_plan(m.data), rc.latched_qos(10))
        self.create_timer(self.params.heartbeat_period_s, self.beat)
        self.beat()

    def beat(self) -> None:
        step = self.obs.step if self.obs else -1
        self.beat_pub.publish(
            rc.heartbeat(self, self.robot, "fleetmind_agent", {"episode": self.episode, "step": step})
        )

    def _publish(self, pub: Any, doc: dict[str, Any]) -> None:
        from std_msgs.msg import String

        pub.publish(String(data=rc.dumps(doc)))

    @property
    def key(self) -> tuple[int, int] | None:
        return None if self.obs is None or self.episode is None else (self.episode, self.obs.step)

    # ------------------------------------------------------------------------------------------ inputs
    def on_state(self, text: str) -> None:
        data = json.loads(text)
        with self.lock:
            if (data["episode"], data["step"]) == self.key:
                return
            if data["episode"] != self.episode:
                obs0 = rc.observation_from_json(data["observation"])
                self.worker.submit(self.llm.reset, obs0, int(data["seed"]))
                self.committed.clear()
            self.episode = int(data["episode"])
            self.obs = rc.observation_from_json(data["observation"])
            self.dialogue, self.attempt, self.turns = None, -1, {}
            if data["done"]:
                return
            waiting, self.inbox = self.inbox, []
            for doc in waiting:
                self._handle(doc)

    def on_roster(self, text: str) -> None:
        with self.lock:
            self.live = frozenset(RobotId(r) for r in json.loads(text).get("robots", []))

    @property
    def offline(self) -> frozenset[RobotId]:
        """Robots the planner dropped (they can only wait in this agent's prompts)."""
        if self.live is None or self.obs is None:
            return frozenset()
        return frozenset(r for r in self.obs.robots if r not in self.live)

    def on_plan(self, text: str) -> None:
        data = json.loads(text)
        with self.lock:
            key = (data.get("episode"), data.get("step"))
            if data.get("status") == "ok" and key == self.key and key not in self.committed and self.obs is not None:
                self.committed.add(key)  # HMAS-2: the planner commanded; remember the plan for the history
                obs = self.obs
                self.worker.submit(self.llm.end_step, obs, rc.plan_from_json(obs, data.get("plan", {})), [])

    def on_dialogue(self, text: str) -> None:
        data = json.loads(text)
        with self.lock:
            key = self.key
            if key is None or (data["episode"], data["step"]) > key:
                self.inbox.append(data)  # the state for that step has not arrived yet
            elif (data["episode"], data["step"]) == key:
                self._handle(data)

    def _handle(self, data: dict[str, Any]) -> None:
        assert self.obs is not None and self.episode is not None
        kind = data.get("kind")
        if kind == "open" and (self.episode, self.obs.step) not in self.committed and data["attempt"] > self.attempt:
            self.attempt, self.turns = int(data["attempt"]), {}
            self.dialogue = DialogueState(
                str(data["framework"]),
                [RobotId(r) for r in data["speakers"]],
                rc.plan_from_json(self.obs, data.get("proposal", {})),
                int(data.get("dialogue_rounds", self.llm.dialogue_rounds)),
            )
            self._advance()
        elif kind == "turn" and data.get("attempt") == self.attempt and self.dialogue is not None:
            self.turns.setdefault(int(data["index"]), data)
            self._advance()
        elif kind == "proposal" and self.robot in data.get("checkers", []):
            ask = ("check", data["episode"], data["step"], data["proposal"])
            if ask not in self.asked:
                self.asked.add(ask)
                self.worker.submit(self._check_job, self.obs, data)

    def _advance(self) -> None:
        d = self.dialogue
        assert d is not None and self.obs is not None
        while len(d.lines) in self.turns and not d.ended:
            t = self.turns[len(d.lines)]
            try:
                d.add_turn(
                    RobotId(t["robot"]), rc.plan_from_json(self.obs, t["plan"]), t["decision"] == "EXECUTE", t["line"]
                )
            except ValueError as exc:
                self.get_logger().warning(f"ignoring a dialogue turn: {exc}")
                return
        if d.ended:
            self._commit(d)
        elif d.next_speaker() == self.robot:
            ask = ("turn", self.episode, self.obs.step, self.attempt, len(d.lines))
            if ask not in self.asked:
                self.asked.add(ask)
                snapshot = DialogueState(d.framework, list(d.speakers), d.plan, d.dialogue_rounds, list(d.lines))
                self.worker.submit(self._turn_job, self.obs, snapshot, ask)

    def _commit(self, d: DialogueState) -> None:
        assert self.obs is not None and self.episode is not None
        key = (self.episode, self.obs.step)
        if key in self.committed:
            return
        self.committed.add(key)
        plan = d.outcome()
        action = plan[self.robot].text if self.robot in plan else "wait"
        doc = {"schema": "fleetmind/command/1", "episode": key[0], "step": key[1], "robot": self.robot}
        self._publish(self.command_pub, {**doc, "action": action, "source": d.framework})
        self.worker.submit(self.llm.end_step, self.obs, plan, list(d.lines))

    # ------------------------------------------------------------------------------------------ model calls
    def _turn_job(self, obs: Observation, d: DialogueState, ask: tuple[Any, ...]) -> None:
        _, episode, step, attempt, index = ask
        try:
            masked = mask_observation(obs, self.offline)
            self.llm.offline = self.offline
            self.llm.begin_step(masked)
            plan, execute, line = self.llm.turn(masked, self.robot, d.speakers, d.lines, d.plan)
        except PlanningFailed as exc:
            self._fail(episode, step, exc)
            return
        doc = {"schema": "fleetmind/dialogue/1", "kind": "turn", "episode": episode, "step": step}
        doc.update(attempt=attempt, index=index, robot=self.robot, plan=rc.plan_to_json(plan), line=line)
        doc["decision"] = "EXECUTE" if execute else "PROCEED"
        self._publish(self.dialogue_pub, doc)
        self.on_dialogue(rc.dumps(doc))  # apply our own turn now; the echo from the topic is ignored

    def _check_job(self, obs: Observation, data: dict[str, Any]) -> None:
        try:
            masked = mask_observation(obs, self.offline)
            self.llm.offline = self.offline
            self.llm.begin_step(masked)
            objection = self.llm.check(masked, self.robot, rc.plan_from_json(obs, data["plan"]))
        except PlanningFailed as exc:
            self._fail(int(data["episode"]), int(data["step"]), exc)
            return
        doc = {"schema": "fleetmind/dialogue/1", "kind": "check", "episode": data["episode"], "step": data["step"]}
        doc.update(
            proposal=data["proposal"], robot=self.robot, objection=objection.split(": ", 1)[-1] if objection else None
        )
        self._publish(self.dialogue_pub, doc)

    def _fail(self, episode: int, step: int, exc: PlanningFailed) -> None:
        self.get_logger().error(f"{self.robot}: planning failed: {exc}")
        doc = {"schema": "fleetmind/plan/1", "episode": episode, "step": step, "status": "failed"}
        self._publish(self.plan_pub, {**doc, "reason": exc.reason, "detail": f"{self.robot}: {exc.detail}"})

    def destroy_node(self) -> None:
        self.worker.shutdown(wait=False, cancel_futures=True)
        super().destroy_node()


def main() -> None:
    from fleetmind.ros.world_node import run_node

    sys.exit(run_node(AgentNode))


if __name__ == "__main__":
    main()
