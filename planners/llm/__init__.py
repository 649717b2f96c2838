"""LLM planners: CMAS, DMAS, HMAS-1, HMAS-2 (Chen et al., ICRA 2024) on langgraph over the ``openai`` client.

Importing this package imports neither langgraph nor openai: the factories import them when a planner is built.
"""

from __future__ import annotations

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
