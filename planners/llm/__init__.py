"""LLM planners: CMAS, DMAS, HMAS-1, HMAS-2 (Chen et al., ICRA 2024) on langgraph over the ``openai`` client.

Importing this package imports neither langgraph nor openai: the factories import them when a planner is built.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any

from fleetmind.robots.planner import Planner


def make_llm_planner(framework: str, task: str, options: Mapping[str, Any]) -> Planner:
    """``options["llm"]``: an :class:`LLMSettings`; the model is reached through ``options["client"]`` (a
    :class:`ChatClient`) or ``options["client_factory"]`` (called once, on the first call; the app passes
    :func:`fleetmind.app.llm.make_client` for the settings' backend)."""
    from fleetmind.planners.llm.config import LLMSettings
    from fleetmind.planners.llm.planner import LLMPlanner

    settings = options.get("llm") or LLMSettings()
    client = options.get("client")
    if client is not None:
        return LLMPlanner(framework, task, settings, lambda: client)
    factory = options.get("client_factory")
    if factory is None:
        raise ValueError(f"planner {framework!r} needs options['client'] or options['client_factory']")
    return LLMPlanner(framework, task, settings, factory)


def make_cmas(task: str, options: Mapping[str, Any]) -> Planner:
    return make_llm_planner("cmas", task, options)


def make_dmas(task: str, options: Mapping[str, Any]) -> Planner:
    return make_llm_planner("dmas", task, options)


def make_hmas1(task: str, options: Mapping[str, Any]) -> Planner:
    return make_llm_planner("hmas1", task, options)


def make_hmas2(task: str, options: Mapping[str, Any]) -> Planner:
    return make_llm_planner("hmas2", task, options)


def abort_llm_calls() -> None:
    """End every LLM call in flight in this process at once and fail new ones until :func:`resume_llm_calls`
    (Ctrl-C / SIGTERM must not wait for calls worker threads have in flight). Safe in a signal handler; nothing to
    do where no client was ever made."""
    deadline = sys.modules.get("fleetmind.planners.llm._deadline")
    if deadline is not None:
        deadline.abort_calls()


def resume_llm_calls() -> None:
    """LLM calls may run again after :func:`abort_llm_calls`."""
    deadline = sys.modules.get("fleetmind.planners.llm._deadline")
    if deadline is not None:
        deadline.resume_calls()
