"""Planners by name, registered lazily: a name maps to a module path, imported only when that planner is built.

So loading a scenario or listing the planners imports none of openai, langgraph or numba. Each planner also records
which kind of task it plays (:data:`PLAYS`), so a planner that cannot play a scenario's task is refused with one line
before anything runs (:func:`check_plays`), decided from the task's plug-in, never from its name.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any

from fleetmind.robots.errors import BadInputError
from fleetmind.robots.planner import Planner
from fleetmind.tasks import Task, get_task

OptionsFactory = Callable[[str, Mapping[str, Any]], Planner]
"""Builds a planner for a task name and run options (e.g. ``{"llm": LLMSettings(...)}``)."""

PLANNERS: dict[str, str] = {
    "oracle": "fleetmind.planners.oracle:make_oracle",
    "cmas": "fleetmind.planners.llm:make_cmas",
    "dmas": "fleetmind.planners.llm:make_dmas",
    "hmas1": "fleetmind.planners.llm:make_hmas1",
    "hmas2": "fleetmind.planners.llm:make_hmas2",
    "follower": "fleetmind.planners.mapf:make_follower",
    "follower_il": "fleetmind.planners.mapf:make_follower_il",
    "pibt": "fleetmind.planners.mapf:make_pibt",
    "pibt_flow": "fleetmind.planners.mapf:make_pibt_flow",
    "pibt_lns": "fleetmind.planners.mapf:make_pibt_lns",
    "has": "fleetmind.planners.has.planner:make_has",
    "has_llm_leaders": "fleetmind.planners.has.planner:make_has_llm_leaders",
    "has_flat": "fleetmind.planners.has.flat:make_has_flat",
    "frontier_nearest": "fleetmind.planners.has.baselines:make_frontier_nearest",
    "frontier_explore_lite": "fleetmind.planners.has.baselines:make_frontier_explore_lite",
    "frontier_utility": "fleetmind.planners.has.baselines:make_frontier_utility",
    "frontier_hungarian": "fleetmind.planners.has.baselines:make_frontier_hungarian",
}
"""Planner name -> ``"module:factory"``; ``factory(task, options)`` builds the planner."""

LLM_PLANNERS: tuple[str, ...] = ("cmas", "dmas", "hmas1", "hmas2")
"""Planners that call a language model (they take ``options["client_factory"]``)."""


def _has_oracle(task: Task) -> bool:
    return type(task).make_oracle is not Task.make_oracle


def _llm_task(task: Task) -> bool:
    return bool(task.llm)


def _mapf_task(task: Task) -> bool:
    from fleetmind.tasks.mapf_lifelong import MapfLifelongTask

    return isinstance(task, MapfLifelongTask)


def _has_task(task: Task) -> bool:
    from fleetmind.tasks.has import HasTask

    return isinstance(task, HasTask)


KINDS: dict[str, tuple[Callable[[Task], bool], str]] = {
    "oracle": (_has_oracle, "the oracle needs a task with its own oracle"),
    "llm": (_llm_task, "LLM frameworks need a task with LLM prompts"),
    "mapf": (_mapf_task, "MAPF planners need a lifelong MAPF task"),
    "has": (_has_task, "HAS and frontier planners need a HAS mission task"),
}
"""Kind of task -> (does this task plug-in belong to it, why a planner of this kind needs it)."""

HAS_PLANNERS: tuple[str, ...] = (
    "has",
    "has_llm_leaders",
    "has_flat",
    "frontier_nearest",
    "frontier_explore_lite",
    "frontier_utility",
    "frontier_hungarian",
)
"""Planners of the HAS missions (issue 16): HAS, B5 and the frontier baselines B1-B4."""

PLAYS: dict[str, str] = {
    "oracle": "oracle",
    **{name: "has" for name in HAS_PLANNERS},
    **{name: "llm" for name in LLM_PLANNERS},
    **{name: "mapf" for name in ("follower", "follower_il", "pibt", "pibt_flow", "pibt_lns")},
}
"""Planner name -> the kind of task (:data:`KINDS`) it plays; a planner not listed plays every task."""


class UnknownPlannerError(BadInputError):
    """A planner name that is not registered; ``str()`` lists the planners there are."""


class UnsupportedPlannerError(BadInputError):
    """A registered planner that cannot play the task; ``str()`` names the planners that can."""


def available_planners() -> list[str]:
    """Names of every registered planner (nothing is imported)."""
    return sorted(PLANNERS)


def register_planner(name: str, target: str, plays: str | None = None) -> None:
    """Register ``"module:factory"`` under ``name`` (plug-ins outside this package); ``plays``: the kind of task
    it plays (a key of :data:`KINDS`), ``None`` for every task."""
    if name in PLANNERS:
        raise ValueError(f"planner {name!r} registered twice")
    if ":" not in target:
        raise ValueError(f"planner {name!r}: target must be 'module:factory', got {target!r}")
    if plays is not None and plays not in KINDS:
        raise ValueError(f"planner {name!r}: plays must be one of {', '.join(KINDS)}, got {plays!r}")
    PLANNERS[name] = target
    if plays is not None:
        PLAYS[name] = plays


def plays(name: str, task: str | Task) -> bool:
    """Whether planner ``name`` (registered) can play ``task`` (a name or its plug-in); imports no planner."""
    kind = PLAYS.get(name)
    if kind is None:
        return True
    return KINDS[kind][0](get_task(task) if isinstance(task, str) else task)


def planners_for(task: str | Task) -> list[str]:
    """Names of the registered planners that can play ``task``."""
    return [name for name in available_planners() if plays(name, task)]


def check_plays(name: str, task: str, source: str = "") -> None:
    """Refuse an unknown planner, or one that cannot play ``task``, with one line naming the planners that can;
    ``source`` (e.g. ``"--planner"`` or ``"file.yaml: run.planner"``) prefixes the line."""
    where = f"{source}: " if source else ""
    if name not in PLANNERS:
        raise UnknownPlannerError(f"{where}unknown planner {name!r}; available: {', '.join(available_planners())}")
    if not plays(name, task):
        why = KINDS[PLAYS[name]][1]
        can = ", ".join(planners_for(task)) or "none"
        raise UnsupportedPlannerError(
            f"{where}planner {name!r} cannot play task {task!r} ({why}); planners for {task}: {can}"
        )


def planner_factory(name: str) -> OptionsFactory:
    """The factory of planner ``name`` (imports its module); the error lists the planners there are."""
    if name not in PLANNERS:
        raise UnknownPlannerError(f"unknown planner {name!r}; available: {', '.join(available_planners())}")
    module, attr = PLANNERS[name].split(":")
    return getattr(importlib.import_module(module), attr)


def make_planner(name: str, task: str, options: Mapping[str, Any] | None = None) -> Planner:
    """Build planner ``name`` for ``task``; refuses (:class:`UnsupportedPlannerError`) a planner that cannot play it."""
    check_plays(name, task)
    return planner_factory(name)(task, options or {})
