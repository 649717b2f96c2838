"""Planners by name, registered lazily: a name maps to a module path, imported only when that planner is built.

So loading a scenario or listing the planners imports none of openai, langgraph or numba.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any

from fleetmind.robots.errors import BadInputError
from fleetmind.robots.planner import Planner

OptionsFactory = Callable[[str, Mapping[str, Any]], Planner]
"""Builds a planner for a task name and run options (e.g. ``{"llm": LLMSettings(...)}``)."""

PLANNERS: dict[str, str] = {
    "oracle": "fleetmind.planners.oracle:make_oracle",
    "cmas": "fleetmind.planners.llm:make_cmas",
    "dmas": "fleetmind.planners.llm:make_dmas",
    "hmas1": "fleetmind.planners.llm:make_hmas1",
    "hmas2": "fleetmind.planners.llm:make_hmas2",
    "follower": "fleetmind.planners.mapf:make_follower",
    "pibt": "fleetmind.planners.mapf:make_pibt",
    "pibt_flow": "fleetmind.planners.mapf:make_pibt_flow",
    "pibt_lns": "fleetmind.planners.mapf:make_pibt_lns",
}
"""Planner name -> ``"module:factory"``; ``factory(task, options)`` builds the planner."""

LLM_PLANNERS: tuple[str, ...] = ("cmas", "dmas", "hmas1", "hmas2")
"""Planners that call a language model (they take ``options["client_factory"]``)."""


class UnknownPlannerError(BadInputError):
    """A planner name that is not registered; ``str()`` lists the planners there are."""


def available_planners() -> list[str]:
    """Names of every registered planner (nothing is imported)."""
    return sorted(PLANNERS)


def register_planner(name: str, target: str) -> None:
    """Register ``"module:factory"`` under ``name`` (plug-ins outside this package)."""
    if name in PLANNERS:
        raise ValueError(f"planner {name!r} registered twice")
    if ":" not in target:
        raise ValueError(f"planner {name!r}: target must be 'module:factory', got {target!r}")
    PLANNERS[name] = target


def planner_factory(name: str) -> OptionsFactory:
    """The factory of planner ``name`` (imports its module); the error lists the planners there are."""
    if name not in PLANNERS:
        raise UnknownPlannerError(f"unknown planner {name!r}; available: {', '.join(available_planners())}")
    module, attr = PLANNERS[name].split(":")
    return getattr(importlib.import_module(module), attr)


def make_planner(name: str, task: str, options: Mapping[str, Any] | None = None) -> Planner:
    """Build planner ``name`` for ``task``."""
    return planner_factory(name)(task, options or {})
