"""Pure core of the distributed LLM frameworks (no rclpy): the DMAS / HMAS-1 dialogue as a state machine
that every agent runs on the messages it receives, an :class:`LLMPlanner` for the ROS edge, and masking
of robots that are offline.

:class:`DialogueState` follows ``planners/llm/frameworks.py`` exactly (a test drives both with the same
scripted turns): speakers talk in a fixed order; the first EXECUTE ends the dialogue with that turn's
joint plan; after ``dialogue_rounds`` full rounds without one, DMAS does nothing this step and HMAS-1 runs
the latest proposal (the central plan if nobody spoke).
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass, field, replace
from typing import Any

from fleetmind.planners.llm.client import ChatClient
from fleetmind.planners.llm.config import LLMSettings
from fleetmind.planners.llm.planner import LLMPlanner
from fleetmind.robots.commands import Command
from fleetmind.robots.fleet import Observation
from fleetmind.robots.ids import RobotId

DIALOGUE_FRAMEWORKS = ("dmas", "hmas1")
AGENT_FRAMEWORKS = ("dmas", "hmas1", "hmas2")

RemoteCheck = Callable[[Observation, RobotId, dict[RobotId, Command]], "str | None"]


@dataclass
class DialogueState:
    """One step's dialogue. ``proposal`` is ``{}`` for DMAS and the central plan for HMAS-1."""

    framework: str
    speakers: list[RobotId]
    proposal: dict[RobotId, Command]
    dialogue_rounds: int
    lines: list[str] = field(default_factory=list)
    plan: dict[RobotId, Command] = field(default_factory=dict)
    executed: bool = False

    def __post_init__(self) -> None:
        if self.framework not in DIALOGUE_FRAMEWORKS:
            raise ValueError(f"dialogue framework must be one of {DIALOGUE_FRAMEWORKS}, got {self.framework!r}")
        self.plan = dict(self.proposal)

    @property
    def ended(self) -> bool:
        return self.executed or not self.speakers or len(self.lines) >= self.dialogue_rounds * len(self.speakers)

    def next_speaker(self) -> RobotId | None:
        return None if self.ended else self.speakers[len(self.lines) % len(self.speakers)]

    def add_turn(self, robot: RobotId, plan: dict[RobotId, Command], execute: bool, line: str) -> None:
        expected = self.next_speaker()
        if robot != expected:
            raise ValueError(f"turn {len(self.lines)} belongs to {expected}, not {robot}")
        self.plan, self.executed = dict(plan), execute
        self.lines.append(line)

    def outcome(self) -> dict[RobotId, Command]:
        """The joint plan that runs (only meaningful once :attr:`ended`)."""
        if self.executed:
            return dict(self.plan)
        return {} if self.framework == "dmas" else dict(self.plan)


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

    Entries for ``offline`` robots are dropped from model replies before validation (they can only wait),
    and ``remote_check`` (the HMAS-2 central node) asks each robot's own agent instead of the local model.
    """

    def __init__(
        self,
        framework: str,
        task: str,
        settings: LLMSettings,
        client_factory: Callable[[], ChatClient],
        remote_check: RemoteCheck | None = None,
    ) -> None:
        self.offline: frozenset[RobotId] = frozenset()
        self._remote_check = remote_check
        super().__init__(framework, task, settings, client_factory)

    def _checked(self, observation: Observation, raw: Any) -> dict[RobotId, Command]:
        if isinstance(raw, dict) and self.offline:
            raw = {k: v for k, v in raw.items() if RobotId(str(k).strip()) not in self.offline}
        return super()._checked(observation, raw)

    def check(self, observation: Observation, robot: RobotId, plan: dict[RobotId, Command]) -> str | None:
        if self._remote_check is None:
            return super().check(observation, robot, plan)
        objection = self._remote_check(observation, robot, plan)
        self.transcript.append(f"{robot}: " + ("agree" if objection is None else f"objects: {objection}"))
        return f"{robot}: {objection}" if objection else None

    def begin_step(self, observation: Observation) -> None:
        """What :meth:`plan` does before its graph runs, for role calls made one at a time."""
        assert self.session is not None, "reset() first"
        self.session.step = observation.step
        self._loop_flags_at_step_start = self.session.loop_flags

    def end_step(self, observation: Observation, plan: dict[RobotId, Command], dialogue: list[str]) -> None:
        """What :meth:`plan` does after its graph ran: history and the loop guard's memory."""
        if self.session is not None:
            self._remember(observation, plan, dialogue)
