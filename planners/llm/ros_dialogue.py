"""Pure core of the distributed LLM frameworks' edge (no rclpy): the ``/fleet/dialogue`` documents, masking
of robots that are offline, and the :class:`LLMPlanner` the ROS nodes use.

The dialogue itself is not here: agents and the central node run the graphs of ``frameworks.py`` with the
remote roles of ``remote.py``. Documents (schema ``fleetmind/dialogue/1``, by ``kind``):

- ``open`` (planner): ``{episode, step, attempt, framework, speakers, live, proposal, dialogue_rounds}``
- ``turn`` (agents): ``{episode, step, attempt, index, robot, plan, decision: PROCEED|EXECUTE, line}``
- ``proposal`` (HMAS-2 planner): ``{episode, step, proposal, plan, checkers}``
- ``check`` (agents): ``{episode, step, proposal, robot, objection or null}``
- ``deploy`` (HAS planner -> a leader robot's agent): ``{episode, step, request, robot, group, goal, region, shape,
  known, members: {member: [row, col]}, candidates: {id: cell or -1}, suggestion: {member: id}}``
- ``assign`` (that agent): ``{episode, step, request, robot, group, assignments: {member: id} or null, calls,
  prompt_tokens, completion_tokens}``

Plans are ``{robot: action text}``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Collection
from dataclasses import replace
from typing import Annotated, Any, Literal

from fleetmind.planners.llm.client import ChatClient
from fleetmind.planners.llm.config import LLMSettings
from fleetmind.planners.llm.planner import LLMPlanner
from fleetmind.planners.llm.remote import DIALOGUE_FRAMEWORKS, RemoteChecks
from fleetmind.robots.commands import Command
from fleetmind.robots.fleet import Observation
from fleetmind.robots.ids import RobotId
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

log = logging.getLogger(__name__)
HAS_AGENT_PLANNERS = ("has_llm_leaders",)
"""HAS planners whose group leaders think in their robots' agents over ROS 2."""
AGENT_FRAMEWORKS = ("dmas", "hmas1", "hmas2", *HAS_AGENT_PLANNERS)
SCHEMA = "fleetmind/dialogue/1"
__all__ = [
    "AGENT_FRAMEWORKS",
    "HAS_AGENT_PLANNERS",
    "DIALOGUE_FRAMEWORKS",
    "RosLLMPlanner",
    "mask_observation",
    "parse_dialogue",
]


class _Doc(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    schema_: Literal["fleetmind/dialogue/1"] = Field(SCHEMA, alias="schema", description="Document schema.")
    episode: int = Field(description="Episode number.")
    step: int = Field(ge=0, description="Environment step the document is about.")

    def dump(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True)


class OpenDoc(_Doc):
    kind: Literal["open"] = "open"
    attempt: int = Field(ge=0, description="Grows when the planner reopens the step without a lost robot.")
    framework: Literal["dmas", "hmas1"] = Field(description="Dialogue framework.")
    speakers: list[str] = Field(description="Robots that talk, in speaking order.")
    live: list[str] = Field(description="Robots on the roster.")
    proposal: dict[str, str] = Field(description="HMAS-1: the central plan; DMAS: {}.")
    dialogue_rounds: int = Field(ge=1, description="Full rounds before the dialogue ends without EXECUTE.")


class TurnDoc(_Doc):
    kind: Literal["turn"] = "turn"
    attempt: int = Field(ge=0, description="The opening's attempt.")
    index: int = Field(ge=0, description="Turn number in the dialogue, from 0.")
    robot: str = Field(description="Who speaks.")
    plan: dict[str, str] = Field(description="The joint plan it proposes.")
    decision: Literal["PROCEED", "EXECUTE"] = Field(description="EXECUTE ends the dialogue with this plan.")
    line: str = Field(description="Its line of the transcript.")


class ProposalDoc(_Doc):
    kind: Literal["proposal"] = "proposal"
    proposal: int = Field(ge=1, description="Round number (the planner's count).")
    plan: dict[str, str] = Field(description="The central plan to check.")
    checkers: list[str] = Field(description="Robots asked to check it.")


class CheckDoc(_Doc):
    kind: Literal["check"] = "check"
    proposal: int = Field(ge=1, description="The round this answers.")
    robot: str = Field(description="Who checked.")
    objection: str | None = Field(None, description="Why it disagrees; null when it agrees.")


class DeployDoc(_Doc):
    kind: Literal["deploy"] = "deploy"
    request: int = Field(ge=1, description="Request number (the planner's count); the answer names it.")
    robot: str = Field(description="The group's leader: the robot whose agent answers.")
    group: str = Field(description="Group name (kept across re-organizations while its members persist).")
    goal: int | None = Field(description="Object id the group must reach, or null: explore the region.")
    region: list[int] = Field(min_length=4, max_length=4, description="[top, left, bottom, right], inclusive.")
    shape: list[int] = Field(min_length=2, max_length=2, description="Map [rows, columns].")
    known: float = Field(ge=0, le=1, description="Share of the region known.")
    members: dict[str, list[int]] = Field(min_length=1, description="Members to deploy -> their cell [row, col].")
    candidates: dict[str, int] = Field(description="Candidate id -> cell index (row * columns + col); -1: stay.")
    suggestion: dict[str, str] = Field(description="The coordinated-frontier heuristic's member -> candidate id.")


class AssignDoc(_Doc):
    kind: Literal["assign"] = "assign"
    request: int = Field(ge=1, description="The deploy request this answers.")
    robot: str = Field(description="The leader that answers.")
    group: str = Field(description="Its group.")
    assignments: dict[str, str] | None = Field(description="Member -> candidate id; null: its model failed.")
    calls: int = Field(0, ge=0, description="Model calls it made (re-prompts included).")
    prompt_tokens: int = Field(0, ge=0, description="Prompt tokens of those calls.")
    completion_tokens: int = Field(0, ge=0, description="Completion tokens of those calls.")


AnyDoc = OpenDoc | TurnDoc | ProposalDoc | CheckDoc | DeployDoc | AssignDoc
DialogueDoc = Annotated[AnyDoc, Field(discriminator="kind")]
_ADAPTER: TypeAdapter[AnyDoc] = TypeAdapter(DialogueDoc)


def parse_dialogue(text: str) -> AnyDoc | None:
    """A ``/fleet/dialogue`` document, or ``None`` (logged) when it is malformed: dropped, never a crash."""
    try:
        return _ADAPTER.validate_python(json.loads(text))
    except (json.JSONDecodeError, ValidationError) as exc:
        first = exc.errors()[0] if isinstance(exc, ValidationError) else {"loc": (), "msg": str(exc)}
        where = ".".join(str(p) for p in first["loc"]) or "(document)"
        log.warning("dropping a malformed /fleet/dialogue document: %s: %s", where, first["msg"])
        return None


def mask_observation(observation: Observation, offline: Collection[RobotId]) -> Observation:
    """The observation with ``offline`` robots unable to act (no legal commands, marked in their text)."""
    if not offline:
        return observation
    robots = {
        r: replace(o, legal=(), text=f"{o.text} (offline: waits)") if r in offline else o
        for r, o in observation.robots.items()
    }
    return replace(observation, robots=robots)


class RosLLMPlanner(LLMPlanner):
    """:class:`LLMPlanner` for the ROS edge.

    Entries for ``offline`` robots are dropped from model replies before validation (they can only wait).
    With ``remote_checks`` (the HMAS-2 central node) each robot's plan check is answered by its own agent:
    every plan the central role makes opens a round there.
    """

    def __init__(
        self,
        framework: str,
        task: str,
        settings: LLMSettings,
        client_factory: Callable[[], ChatClient],
        remote_checks: RemoteChecks | None = None,
    ) -> None:
        self.offline: frozenset[RobotId] = frozenset()
        self.remote_checks = remote_checks
        super().__init__(framework, task, settings, client_factory)

    def _checked(self, observation: Observation, raw: Any, excluded: dict[RobotId, set[str]]) -> dict[RobotId, Command]:
        if isinstance(raw, dict) and self.offline:
            raw = {k: v for k, v in raw.items() if RobotId(str(k).strip()) not in self.offline}
        return super()._checked(observation, raw, excluded)

    def central(self, observation: Observation, objections: list[str]) -> dict[RobotId, Command]:
        plan = super().central(observation, objections)
        if self.remote_checks is not None:
            self.remote_checks.new_plan(self.speakers(observation, plan))
        return plan

    def check(self, observation: Observation, robot: RobotId, plan: dict[RobotId, Command]) -> str | None:
        if self.remote_checks is None:
            return super().check(observation, robot, plan)
        return self.record_check(robot, self.remote_checks.check(observation, robot, plan))
