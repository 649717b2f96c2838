"""The Planner interface and the registry of planners by name."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from robots.commands import Command
from robots.fleet import Observation, StepResult
from robots.ids import RobotId


class Planner(ABC):
    """Turns observations into commands. Never touches a backend: observations in, commands out.

    The runner calls ``reset`` at the start of every episode, ``plan`` before every step and
    ``observe_result`` after it (so feedback-driven planners can learn from failures).
    """

    name: ClassVar[str]

    def reset(self, observation: Observation, seed: int) -> None:  # noqa: B027 - optional hook
        """Start of an episode."""

    @abstractmethod
    def plan(self, observation: Observation) -> dict[RobotId, Command]:
        """Joint command for this step; robots left out wait."""

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


PlannerFactory = Callable[[str], Planner]
"""Builds a planner for a task name (``"boxnet1"``, ...)."""

OptionsFactory = Callable[[str, Mapping[str, Any]], Planner]
"""Builds a planner for a task name and run options (e.g. ``{"llm": LLMSettings(...)}``)."""

PLANNERS: dict[str, OptionsFactory] = {}


def register_planner(name: str, factory: PlannerFactory | OptionsFactory, takes_options: bool = False) -> None:
    """Register ``factory(task)`` (or ``factory(task, options)`` with ``takes_options``) under ``name``."""
    if name in PLANNERS:
        raise ValueError(f"planner {name!r} registered twice")
    PLANNERS[name] = factory if takes_options else (lambda task, options, _f=factory: _f(task))  # type: ignore[misc]


class UnknownPlannerError(ValueError):
    pass


def available_planners() -> list[str]:
    """Names of every registered planner (importing the built-in planner packages registers them)."""
    import planners.llm  # noqa: F401  (registers cmas, dmas, hmas1, hmas2)
    import planners.mapf  # noqa: F401  (registers follower and pibt)
    import planners.oracle  # noqa: F401  (registers the oracle planners)

    return sorted(PLANNERS)


def make_planner(name: str, task: str, options: Mapping[str, Any] | None = None) -> Planner:
    """Build planner ``name`` for ``task``; the error lists the planners there are."""
    known = available_planners()
    if name not in known:
        raise UnknownPlannerError(f"unknown planner {name!r}; available: {', '.join(known)}")
    return PLANNERS[name](task, options or {})
