"""``fleetmind_agent``: one robot's own LLM agent, in the robot's namespace (``/<robot>/agent``).

Its reasoning runs here and only messages cross. DMAS / HMAS-1: on the planner's ``open`` it runs the
framework's own graph (``planners/llm/frameworks.py``, the same one the in-process planner runs) with a
:class:`DialogueSeat` as the roles: its own turns come from its model and go out on ``/fleet/dialogue``;
the other robots' turns are the ones they published there. When the graph ends it commands its own robot
on ``/<robot>/command``. HMAS-2: it checks the central plan when a ``proposal`` names it. HAS with LLM
leaders (``has_llm_leaders``): when a ``deploy`` request names its robot as a group's leader it asks its own
model as that leader (:mod:`fleetmind.ros.has_leaders`) and answers with ``assign``. A heartbeat goes
to ``/diagnostics``. Model calls and the dialogue run on one worker thread, so heartbeats keep going while
it thinks or waits for the others.
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
from fleetmind.planners.llm.remote import DIALOGUE_FRAMEWORKS, Cancelled, DialogueSeat, Opening, ReplyTimeout, Turn
from fleetmind.planners.llm.ros_dialogue import (
    HAS_AGENT_PLANNERS,
    AnyDoc,
    CheckDoc,
    DeployDoc,
    OpenDoc,
    ProposalDoc,
    RosLLMPlanner,
    TurnDoc,
    mask_observation,
    parse_dialogue,
)
from fleetmind.robots.fleet import Observation
from fleetmind.robots.ids import RobotId, robot_id
from fleetmind.robots.planner import PlanningFailed
from fleetmind.ros import common as rc

log = logging.getLogger(__name__)


class AgentParams(BaseModel):
    """Parameters of ``fleetmind_agent`` (``llm.*`` are :class:`LLMSettings`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    scenario: str = Field("", min_length=1, description="Scenario file or name (the task the prompts describe).")
    framework: Literal["dmas", "hmas1", "hmas2", "has_llm_leaders"] = Field(
        "dmas", description="LLM framework the agent takes part in (has_llm_leaders: its robot may lead a HAS group)."
    )
    robot: str = Field("", description="Robot id (default: the node's namespace).")
    heartbeat_period_s: float = Field(0.5, gt=0, le=60, description="Heartbeat period on /diagnostics.")
    turn_timeout_s: float = Field(
        120.0, gt=0, description="DMAS/HMAS-1: wait this long for another robot's turn, then fail the step."
    )
    llm: LLMSettings = Field(default_factory=LLMSettings, description="Model and prompt settings.")


class AgentNode(Node):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__("agent", **kwargs)
        from diagnostic_msgs.msg import DiagnosticArray
        from std_msgs.msg import String

        self.params = rc.declare_model_parameters(self, AgentParams)
        name = self.params.robot or self.get_namespace().rstrip("/").rsplit("/", 1)[-1]  # the last segment: pushed too
        try:
            self.robot = robot_id(name)
            task = load_scenario(self.params.scenario).world.task
        except (ValueError, ScenarioError) as exc:
            raise rc.ParameterError(f"parameter robot/scenario: {exc}") from None
        settings = self.params.llm
        from fleetmind.app.llm import make_client

        self.has_leader = self.params.framework in HAS_AGENT_PLANNERS
        self.client_factory = lambda: make_client(settings)
        self.client: Any = None  # HAS leader: its own chat client, made on the first deploy request
        self.llm: RosLLMPlanner | None = None
        if not self.has_leader:
            self.llm = RosLLMPlanner(self.params.framework, task, settings, self.client_factory)
        self.seat: DialogueSeat | None = None
        if self.params.framework in DIALOGUE_FRAMEWORKS:
            self.seat = DialogueSeat(
                self.params.framework, self.robot, self.llm, self._speak, self.params.turn_timeout_s
            )
        self.lock = threading.RLock()
        self.worker = ThreadPoolExecutor(1, thread_name_prefix=f"agent-{self.robot}")
        self.closing = False
        self.episode: int | None = None
        self.obs: Observation | None = None
        self.live: frozenset[RobotId] | None = None  # from /fleet/roster
        self.attempt = -1
        self.asked: set[tuple[Any, ...]] = set()
        self.committed: set[tuple[int, int]] = set()
        self.inbox: list[AnyDoc] = []
        self.dialogue_pub = self.create_publisher(String, rc.DIALOGUE_TOPIC, rc.latched_qos(50))
        self.command_pub = self.create_publisher(String, rc.own_topic(self, self.robot, rc.COMMAND), rc.latched_qos(10))
        self.plan_pub = self.create_publisher(String, rc.PLAN_TOPIC, rc.latched_qos(10))
        self.beat_pub = self.create_publisher(DiagnosticArray, rc.DIAGNOSTICS_TOPIC, 10)
        self.create_subscription(String, rc.STATE_TOPIC, lambda m: self.on_state(m.data), rc.latched_qos())
        self.create_subscription(String, rc.DIALOGUE_TOPIC, lambda m: self.on_dialogue(m.data), rc.latched_qos(50))
        self.create_subscription(String, rc.ROSTER_TOPIC, lambda m: self.on_roster(m.data), rc.latched_qos())
        self.create_subscription(String, rc.PLAN_TOPIC, lambda m: self.on_plan(m.data), rc.latched_qos(10))
        rc.steady_timer(self, self.params.heartbeat_period_s, self.beat)  # beats while sim time stands still
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
            if data["episode"] != self.episode and self.llm is not None:
                obs0 = rc.observation_from_json(data["observation"])
                self.worker.submit(self.llm.reset, obs0, int(data["seed"]))
                self.committed.clear()
            self.episode = int(data["episode"])
            self.obs = rc.observation_from_json(data["observation"])
            self.attempt = -1
            if self.seat is not None:
                self.seat.poke()  # a dialogue still waiting for an earlier step gives up
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
                if self.llm is None:
                    return
                self.worker.submit(self.llm.end_step, obs, rc.plan_from_json(obs, data.get("plan", {})), [])

    def on_dialogue(self, text: str) -> None:
        doc = parse_dialogue(text)
        if doc is None:
            return
        with self.lock:
            key = self.key
            if key is None or (doc.episode, doc.step) > key:
                self.inbox.append(doc)  # the state for that step has not arrived yet
            elif (doc.episode, doc.step) == key:
                self._handle(doc)

    def _handle(self, doc: AnyDoc) -> None:
        obs = self.obs
        assert obs is not None
        if isinstance(doc, OpenDoc) and self.seat is not None:
            if (doc.episode, doc.step) in self.committed or doc.attempt <= self.attempt:
                return
            self.attempt = doc.attempt
            self.seat.poke()  # a dialogue of an earlier attempt gives up
            speakers = tuple(RobotId(r) for r in doc.speakers)
            proposal = rc.plan_from_json(obs, doc.proposal)
            opening = Opening(doc.episode, doc.step, doc.attempt, speakers, proposal, doc.dialogue_rounds)
            self.worker.submit(self._dialogue_job, obs, opening)
        elif isinstance(doc, TurnDoc) and self.seat is not None:
            plan = rc.plan_from_json(obs, doc.plan)
            execute = doc.decision == "EXECUTE"
            self.seat.hear(
                Turn(doc.episode, doc.step, doc.attempt, doc.index, RobotId(doc.robot), plan, execute, doc.line)
            )
        elif isinstance(doc, ProposalDoc) and self.robot in doc.checkers:
            ask = ("check", doc.episode, doc.step, doc.proposal)
            if ask not in self.asked:
                self.asked.add(ask)
                self.worker.submit(self._check_job, obs, doc)
        elif isinstance(doc, DeployDoc) and self.has_leader and doc.robot == self.robot:
            ask = ("deploy", doc.episode, doc.request)
            if ask not in self.asked:
                self.asked.add(ask)
                self.worker.submit(self._deploy_job, doc)

    # ------------------------------------------------------------------------------------------ model calls
    def _speak(self, turn: Turn) -> None:
        """The seat's own turn, out on the topic (called on the worker thread, inside the graph)."""
        decision: Literal["PROCEED", "EXECUTE"] = "EXECUTE" if turn.execute else "PROCEED"
        doc = TurnDoc(
            episode=turn.episode,
            step=turn.step,
            attempt=turn.attempt,
            index=turn.index,
            robot=turn.robot,
            plan=rc.plan_to_json(turn.plan),
            decision=decision,
            line=turn.line,
        )
        self._publish(self.dialogue_pub, doc.dump())

    def _dialogue_job(self, obs: Observation, opening: Opening) -> None:
        key = (opening.episode, opening.step)
        assert self.llm is not None

        def cancelled() -> bool:
            return self.closing or self.key != key or self.attempt != opening.attempt

        assert self.seat is not None
        try:
            masked = mask_observation(obs, self.offline)
            self.llm.offline = self.offline
            self.llm.begin_step(masked)
            plan, lines = self.seat.run(masked, opening, cancelled)
        except Cancelled:
            return
        except ReplyTimeout as exc:
            self._fail(opening.episode, opening.step, PlanningFailed("dialogue_timeout", str(exc)))
            return
        except PlanningFailed as exc:
            self._fail(opening.episode, opening.step, exc)
            return
        with self.lock:
            if cancelled() or key in self.committed:
                return
            self.committed.add(key)
        action = plan[self.robot].text if self.robot in plan else "wait"
        doc = {"schema": "fleetmind/command/1", "episode": key[0], "step": key[1], "robot": self.robot}
        self._publish(self.command_pub, {**doc, "action": action, "source": self.params.framework})
        self.llm.end_step(obs, plan, lines)

    def _check_job(self, obs: Observation, proposal: ProposalDoc) -> None:
        assert self.llm is not None
        try:
            masked = mask_observation(obs, self.offline)
            self.llm.offline = self.offline
            self.llm.begin_step(masked)
            objection = self.llm.check(masked, self.robot, rc.plan_from_json(obs, proposal.plan))
        except PlanningFailed as exc:
            self._fail(proposal.episode, proposal.step, exc)
            return
        reply = CheckDoc(
            episode=proposal.episode,
            step=proposal.step,
            proposal=proposal.proposal,
            robot=self.robot,
            objection=objection.split(": ", 1)[-1] if objection else None,
        )
        self._publish(self.dialogue_pub, reply.dump())

    def _deploy_job(self, doc: DeployDoc) -> None:
        """This robot leads a HAS group: its own model deploys the members (checked again by the planner)."""
        from fleetmind.ros.has_leaders import answer_deploy

        if self.closing:
            return
        if self.client is None:
            self.client = self.client_factory()
        answer = answer_deploy(self.client, doc, key=f"has-{self.robot}")
        self._publish(self.dialogue_pub, answer.dump())
        got = "its model failed" if answer.assignments is None else json.dumps(answer.assignments)
        self.get_logger().info(f"{self.robot} leads group {doc.group} at step {doc.step}: {got}")

    def _fail(self, episode: int, step: int, exc: PlanningFailed) -> None:
        self.get_logger().error(f"{self.robot}: planning failed: {exc}")
        doc = {"schema": "fleetmind/plan/1", "episode": episode, "step": step, "status": "failed"}
        self._publish(self.plan_pub, {**doc, "reason": exc.reason, "detail": f"{self.robot}: {exc.detail}"})

    def destroy_node(self) -> None:
        self.closing = True
        if self.seat is not None:
            self.seat.poke()
        self.worker.shutdown(wait=False, cancel_futures=True)
        super().destroy_node()


def main() -> None:
    from fleetmind.ros.world_node import run_node

    sys.exit(run_node(AgentNode))


if __name__ == "__main__":
    main()
