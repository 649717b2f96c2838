"""The Planner interface: observations in, typed commands out (every planner family and every task's oracle)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from fleetmind.robots.commands import Command
from fleetmind.robots.fleet import Observation, StepResult
from fleetmind.robots.ids import RobotId


class Planner(ABC):
    """Turns observations into commands. Never touches a backend: observations in, commands out.

    The runner calls ``reset`` at the start of every episode, ``plan`` before every step and
    ``observe_result`` after it (so feedback-driven planners can learn from failures). Every plan passes the
    shield before it executes; a refused plan goes back to ``replan`` with the shield's reasons.
    """

    name: ClassVar[str]

    def reset(self, observation: Observation, seed: int) -> None:  # noqa: B027 - optional hook
        """Start of an episode."""

    @abstractmethod
    def plan(self, observation: Observation) -> dict[RobotId, Command]:
        """Joint command for this step; robots left out wait."""

    def replan(
        self, observation: Observation, plan: Mapping[RobotId, Command], violations: Sequence[str]
    ) -> dict[RobotId, Command] | None:
        """The shield refused ``plan`` (``violations``: one readable line each): a corrected plan for the same
        step, or ``None`` when this planner cannot replan; the episode then ends with ``failure_reason`` ``"shield"``
        (not a crash). A plan of waits only is always safe."""
        return None

    def observe_result(self, result: StepResult) -> None:  # noqa: B027 - optional hook
        """Outcome of the step just planned."""

    def metrics(self) -> dict[str, Any]:
        """Planner figures for the episode just run (LLM calls, tokens, ...), merged into its record."""
        return {}

    def explain(self) -> list[str]:
        """Human-readable lines about the last plan (e.g. an LLM dialogue); cleared on read."""
        return []

    def call_log(self) -> list[dict[str, Any]]:
        """Every model call of the episode (messages, reply, tokens, latency, retries), for the trace."""
        return []


class PlanningFailed(Exception):
    """A planner that cannot produce a plan for this step (e.g. ``syntax`` after every re-prompt).

    The runner ends the episode with ``failure_reason = reason``; it is not a crash.
    """

    def __init__(self, reason: str, detail: str = "") -> None:
        self.reason = reason
        self.detail = detail
        super().__init__(f"{reason}: {detail}" if detail else reason)
