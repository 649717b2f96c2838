"""``fleetmind_planner``: the central planner process and the fleet's health monitor.

- Central planners (oracle, CMAS, MAPF, ...): each new state on ``/fleet/state`` -> ``planner.plan`` ->
  one command per live robot on ``/<robot>/command`` and the joint plan on ``/fleet/plan``.
- HMAS-2: the same graph, with the check role remote (:class:`RemoteChecks`): each round's plan goes to
  the robots' own ``fleetmind_agent`` s as one ``proposal`` on ``/fleet/dialogue``; the graph's check
  branches (in parallel) wait for their ``check`` replies on the same topic.
- DMAS / HMAS-1: opens each step's dialogue (``open``: the live speakers, and for HMAS-1 the central
  plan from the graph's ``central`` role); the agents run the dialogue's graph and command their robots
  themselves. DMAS makes no model call here.
- HAS with LLM leaders (``has_llm_leaders``): the manager runs here; each group's leader thinks in its robot's
  agent (:mod:`fleetmind.ros.has_leaders`: a ``deploy`` request and a bounded wait for the ``assign`` answer,
  checked here; the heuristic deploys the group on timeout). A robot dropped from the roster is a lost robot to
  the manager.
- Health: agents' heartbeats (``/diagnostics``); a robot silent for ``heartbeat_timeout_s`` is dropped,
  ``/fleet/roster`` says so, and the rest replan (an open dialogue restarts without it).

Planning runs on one worker thread (HMAS-2's check branches on langgraph's threads) so that heartbeats are
processed while the model thinks.
"""

from __future__ import annotations

import json
import logging
import sys
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from rclpy.node import Node

from fleetmind.app.llm import planner_options
from fleetmind.app.scenario import ScenarioError, load_scenario
from fleetmind.planners.llm.config import LLMSettings
from fleetmind.planners.llm.frameworks import FRAMEWORKS
from fleetmind.planners.llm.remote import Proposal, RemoteChecks
from fleetmind.planners.llm.ros_dialogue import (
    AGENT_FRAMEWORKS,
    HAS_AGENT_PLANNERS,
    AssignDoc,
    CheckDoc,
    OpenDoc,
    ProposalDoc,
    RosLLMPlanner,
    TurnDoc,
    mask_observation,
    parse_dialogue,
)
from fleetmind.planners.llm.schemas import acting_robots
from fleetmind.planners.registry import available_planners, make_planner
from fleetmind.robots.commands import Command
from fleetmind.robots.fleet import Observation
from fleetmind.robots.ids import RobotId
from fleetmind.robots.planner import Planner, PlanningFailed
from fleetmind.ros import common as rc

log = logging.getLogger(__name__)


class PlannerParams(BaseModel):
    """Parameters of ``fleetmind_planner`` (``llm.*`` are :class:`LLMSettings`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    scenario: str = Field("", min_length=1, description="Scenario file or name (task and robots).")
    planner: str = Field("oracle", description="Planner name (`fleetmind list`); dmas/hmas1/hmas2 need agents.")
    heartbeat_timeout_s: float = Field(2.0, gt=0, le=600, description="Drop a robot whose heartbeat is older.")
    startup_timeout_s: float = Field(60.0, gt=0, le=3600, description="Wait this long for every first heartbeat.")
    reply_timeout_s: float = Field(120.0, gt=0, description="HMAS-2: wait this long for a robot's plan check.")
    leader_timeout_s: float = Field(
        120.0, gt=0, description="HAS LLM leaders: wait this long for a leader's answer, then the heuristic deploys."
    )
    monitor_heartbeats: Literal["auto", "on", "off"] = Field(
        "auto", description="Watch agent heartbeats (auto: when the planner has agents)."
    )
    llm: LLMSettings = Field(default_factory=LLMSettings, description="Model and prompt settings.")

    @field_validator("planner")
    @classmethod
    def _known(cls, value: str) -> str:
        known = available_planners()
        if value not in known:
            raise ValueError(f"unknown planner {value!r}; available: {', '.join(known)}")
        return value


class PlannerNode(Node):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__("planner", **kwargs)
        from diagnostic_msgs.msg import DiagnosticArray
        from std_msgs.msg import String

        self.params = rc.declare_model_parameters(self, PlannerParams)
        try:
            scenario = load_scenario(self.params.scenario)
        except ScenarioError as exc:
            raise rc.ParameterError(f"parameter scenario: {exc}") from None
        self.robots: tuple[RobotId, ...] = rc.scenario_robots(scenario)  # starts no robot, no physics
        self.framework = self.params.planner
        self.with_agents = self.framework in AGENT_FRAMEWORKS
        mode = self.params.monitor_heartbeats
        self.monitor = self.with_agents if mode == "auto" else mode == "on"
        self.planner = self._make_planner(scenario.world.task)
        self.live: set[RobotId] = set(self.robots)
        self.dropped: dict[RobotId, str] = {}
        self.heartbeats = rc.HeartbeatWatch(
            self.robots, self.params.heartbeat_timeout_s, self.params.startup_timeout_s, rc.now_s()
        )
        self.ready = not self.monitor
        self.state: dict[str, Any] | None = None
        self.obs: Observation | None = None
        self.episode: int | None = None
        self.planned: set[tuple[int, int, int]] = set()
        self.attempts: dict[tuple[int, int], int] = {}
        self.reset_episode: int | None = None
        self.opened: tuple[int, Observation, int] | None = None  # HMAS-1: (episode, masked obs, attempt) last opened
        self.turn_lines: dict[tuple[int, int, int], dict[int, str]] = {}  # HMAS-1: the dialogue heard, for history
        self.job_episode = 0
        self.worker = ThreadPoolExecutor(1, thread_name_prefix="planner")
        self.plan_pub = self.create_publisher(String, rc.PLAN_TOPIC, rc.latched_qos(10))
        self.dialogue_pub = self.create_publisher(String, rc.DIALOGUE_TOPIC, rc.latched_qos(50))
        self.roster_pub = self.create_publisher(String, rc.ROSTER_TOPIC, rc.latched_qos())
        self.cmd_pubs = {
            r: self.create_publisher(String, rc.robot_topic(r, rc.COMMAND), rc.latched_qos(10)) for r in self.robots
        }
        self.create_subscription(String, rc.STATE_TOPIC, lambda m: self.on_state(m.data), rc.latched_qos())
        self.create_subscription(String, rc.DIALOGUE_TOPIC, lambda m: self.on_dialogue(m.data), rc.latched_qos(50))
        self.create_subscription(DiagnosticArray, rc.DIAGNOSTICS_TOPIC, self.on_diagnostics, 50)
        rc.steady_timer(self, 0.1, self.health)  # wall time: sim time stands still between steps
        if self.ready:
            self.publish_roster()

    def _make_planner(self, task: str) -> Planner:
        settings = self.params.llm
        self.checks: RemoteChecks | None = None
        self.leaders: Any = None  # HAS: RemoteLeaders
        if self.framework in FRAMEWORKS:
            from fleetmind.app.llm import make_client

            if self.framework == "hmas2":
                self.checks = RemoteChecks(self._propose, lambda: self.live, self.params.reply_timeout_s)
            return RosLLMPlanner(self.framework, task, settings, lambda: make_client(settings), self.checks)
        planner = make_planner(self.framework, task, planner_options(settings))
        if self.framework in HAS_AGENT_PLANNERS:
            from fleetmind.ros.has_leaders import remote_leaders

            self.leaders = remote_leaders(planner, self._deploy, lambda: self.live, self.params.leader_timeout_s)
        return planner

    def _publish(self, pub: Any, doc: dict[str, Any]) -> None:
        from std_msgs.msg import String

        pub.publish(String(data=rc.dumps(doc)))

    # ------------------------------------------------------------------------------------------ health
    def on_diagnostics(self, msg: Any) -> None:
        for status in msg.status:
            rid = RobotId(status.hardware_id)
            role_ok = status.name.startswith(("fleetmind_agent/", "fleetmind_bridge/"))
            # an ERROR (link lost, e-stop latched) is no sign of a robot that can act
            if rid in self.robots and role_ok and rc.status_level(status) < 2:
                self.heartbeats.beat(rid, rc.now_s())

    def health(self) -> None:
        if not self.monitor:
            return
        now = rc.now_s()
        if not self.ready:
            silent = self.heartbeats.startup(now)
            if silent is None:
                return
            for r, reason in silent:
                self.drop(RobotId(r), reason)
            self.ready = True
            self.get_logger().info(f"agents up: {', '.join(sorted(self.live)) or 'none'}")
            self.publish_roster()
            self.maybe_plan()
            return
        for r, reason in self.heartbeats.stale(self.live, now):
            self.drop(RobotId(r), reason)

    def drop(self, robot: RobotId, reason: str) -> None:
        self.live.discard(robot)
        self.dropped[robot] = reason
        self.get_logger().warning(f"{robot} dropped: {reason}; replanning with {sorted(self.live)}")
        if self.checks is not None:
            self.checks.poke()  # its pending plan check ends now
        if self.leaders is not None:
            self.leaders.poke()  # a deploy request it leads ends now (the heuristic deploys)
        if not self.ready:
            return
        self.publish_roster()
        if self.state is None or self.state["done"]:
            return
        if not self.live:
            self.fail(int(self.state["episode"]), int(self.state["step"]), "all_robots_lost", reason)
        elif self.framework in ("dmas", "hmas1"):
            key = (int(self.state["episode"]), int(self.state["step"]))
            self.attempts[key] = self.attempts.get(key, 0) + 1
            self.maybe_plan()

    def publish_roster(self) -> None:
        doc = {"schema": "fleetmind/roster/1", "robots": sorted(self.live), "dropped": dict(self.dropped)}
        self._publish(self.roster_pub, doc)

    # ------------------------------------------------------------------------------------------ planning
    def on_state(self, text: str) -> None:
        data = json.loads(text)
        if self.state is not None and (data["episode"], data["step"], data["done"]) == (
            self.state["episode"],
            self.state["step"],
            self.state["done"],
        ):
            return
        self.state = data
        self.obs = rc.observation_from_json(data["observation"])
        if data["done"]:
            self.get_logger().info(
                f"episode {data['episode']} done: success {data['success']}, steps {data['metrics'].get('steps')}, "
                f"failure {data['failure_reason']}, dropped {sorted(self.dropped)}"
            )
            return
        self.maybe_plan()

    def maybe_plan(self) -> None:
        if not self.ready or self.state is None or self.state["done"] or self.obs is None:
            return
        episode, step = int(self.state["episode"]), int(self.state["step"])
        key = (episode, step, self.attempts.get((episode, step), 0))
        if key in self.planned:
            return
        self.planned.add(key)
        new_episode = episode != self.episode
        self.episode = episode
        self.worker.submit(self._job, self.obs, dict(self.state), key, new_episode)

    def _job(self, obs: Observation, state: dict[str, Any], key: tuple[int, int, int], new_episode: bool) -> None:
        episode, step, attempt = key
        offline = frozenset(r for r in self.robots if r not in self.live)
        masked = mask_observation(obs, offline)
        try:
            if new_episode and self.framework != "dmas":  # DMAS: no model here, so no client either
                self.planner.reset(obs, int(state["seed"]))
                self.opened = None
            if isinstance(self.planner, RosLLMPlanner) or self.leaders is not None:
                self.planner.offline = offline  # type: ignore[attr-defined]  # HAS: the manager's "robot lost"
            self.job_episode = episode
            if self.framework in ("dmas", "hmas1"):
                self._open_dialogue(masked, key, state.get("executed", {}))
            else:
                self._send_plan(masked, episode, step, self.planner.plan(masked))
        except PlanningFailed as exc:
            self.fail(episode, step, exc.reason, exc.detail)
        except Exception:  # a crashed job must not leave the episode hanging
            log.exception("planning step %d crashed", step)
            self.fail(episode, step, "planner_error", "see the planner's log")

    def _open_dialogue(self, masked: Observation, key: tuple[int, int, int], executed: dict[str, str]) -> None:
        episode, step, attempt = key
        plan: dict[RobotId, Command] = {}
        if self.framework == "hmas1":  # the graph's central node, here; its dialogue runs in the agents
            assert isinstance(self.planner, RosLLMPlanner)
            if self.opened is not None and self.opened[0] == episode and self.opened[1].step == step - 1:
                _, prev_obs, prev_attempt = self.opened
                heard = self.turn_lines.pop((episode, step - 1, prev_attempt), {})
                lines = [heard[i] for i in sorted(heard)]
                self.planner.end_step(prev_obs, rc.plan_from_json(prev_obs, executed), lines)
            self.opened = (episode, masked, attempt)
            self.planner.begin_step(masked)
            plan = self.planner.central(masked, [])
            speakers = self.planner.speakers(masked, plan)
        else:
            speakers = acting_robots(masked)
        doc = OpenDoc(
            episode=episode,
            step=step,
            attempt=attempt,
            framework="hmas1" if self.framework == "hmas1" else "dmas",
            speakers=[r for r in speakers if r in self.live],
            live=sorted(self.live),
            proposal=rc.plan_to_json(plan),
            dialogue_rounds=self.params.llm.dialogue_rounds,
        )
        self._publish(self.dialogue_pub, doc.dump())

    def _send_plan(self, masked: Observation, episode: int, step: int, plan: dict[RobotId, Command]) -> None:
        live = sorted(self.live)
        plan = {r: c for r, c in plan.items() if r in self.live}
        doc = {"schema": "fleetmind/plan/1", "episode": episode, "step": step, "status": "ok", "source": self.framework}
        self._publish(self.plan_pub, {**doc, "plan": rc.plan_to_json(plan), "robots": live})
        for r in live:
            action = plan[r].text if r in plan else "wait"
            cmd = {"schema": "fleetmind/command/1", "episode": episode, "step": step, "robot": r, "action": action}
            self._publish(self.cmd_pubs[r], {**cmd, "source": self.framework})

    def fail(self, episode: int, step: int, reason: str, detail: str = "") -> None:
        self.get_logger().error(f"episode {episode} step {step}: planning failed: {reason} {detail}".strip())
        doc = {"schema": "fleetmind/plan/1", "episode": episode, "step": step, "status": "failed", "reason": reason}
        self._publish(self.plan_pub, {**doc, "detail": detail, "source": self.framework})

    # ------------------------------------------------------------------------------------------ the agents' side
    def _propose(self, proposal: Proposal) -> None:
        """A round of HMAS-2 plan checks (called by :class:`RemoteChecks` inside the graph's check branches)."""
        doc = ProposalDoc(
            episode=self.job_episode,
            step=proposal.step,
            proposal=proposal.proposal,
            plan=rc.plan_to_json(proposal.plan),
            checkers=list(proposal.checkers),
        )
        self._publish(self.dialogue_pub, doc.dump())

    def _deploy(self, request: int, ask: Any) -> None:
        """A HAS leader's question to its robot's agent (called by :class:`RemoteLeaders` inside ``plan``)."""
        from fleetmind.ros.has_leaders import deploy_doc

        self._publish(self.dialogue_pub, deploy_doc(self.job_episode, request, ask).dump())

    def on_dialogue(self, text: str) -> None:
        doc = parse_dialogue(text)
        if isinstance(doc, AssignDoc) and self.leaders is not None:
            from fleetmind.ros.has_leaders import answer_of

            self.leaders.deliver(doc.request, answer_of(doc))
        elif isinstance(doc, CheckDoc) and self.checks is not None:
            self.checks.deliver(doc.proposal, RobotId(doc.robot), doc.objection)
        elif isinstance(doc, TurnDoc) and self.framework == "hmas1":
            self.turn_lines.setdefault((doc.episode, doc.step, doc.attempt), {}).setdefault(doc.index, doc.line)

    def destroy_node(self) -> None:
        if self.checks is not None:
            self.checks.close()
        if self.leaders is not None:
            self.leaders.close()
        self.worker.shutdown(wait=False, cancel_futures=True)
        super().destroy_node()


def main() -> None:
    from fleetmind.ros.world_node import run_node

    sys.exit(run_node(PlannerNode))


if __name__ == "__main__":
    main()
