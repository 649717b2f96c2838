"""The Planner interface and the registry of planners by name."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import ClassVar

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


PlannerFactory = Callable[[str], Planner]
"""Builds a planner for a task name (``"boxnet1"``, ...)."""

PLANNERS: dict[str, PlannerFactory] = {}


def register_planner(name: str, factory: PlannerFactory) -> None:
    if name in PLANNERS:
        raise ValueError(f"planner {name!r} registered twice")
    PLANNERS[name] = factory


class UnknownPlannerError(ValueError):
    pass


def available_planners() -> list[str]:
    """Names of every registered planner (importing the built-in planner packages registers them)."""
    import planners.oracle  # noqa: F401  (registers the oracle planners)

    return sorted(PLANNERS)


def make_planner(name: str, task: str) -> Planner:
    """Build planner ``name`` for ``task``; the error lists the planners there are."""
    known = available_planners()
    if name not in known:
        raise UnknownPlannerError(f"unknown planner {name!r}; available: {', '.join(known)}")
    return PLANNERS[name](task)
