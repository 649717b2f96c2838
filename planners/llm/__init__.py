"""LLM planners: CMAS, DMAS, HMAS-1, HMAS-2 (Chen et al., ICRA 2024) on langgraph over the ``openai`` client."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from planners.base import PLANNERS, Planner, register_planner
from planners.llm.config import LLMSettings
from planners.llm.frameworks import FRAMEWORKS
from planners.llm.planner import LLMPlanner


def make_llm_planner(framework: str, task: str, options: Mapping[str, Any]) -> Planner:
    """``options["llm"]``: an :class:`LLMSettings` (default: the oracle test-double backend);
    ``options["client"]``: an injected :class:`ChatClient` (tests)."""
    settings = options.get("llm") or LLMSettings()
    client = options.get("client")
    if client is not None:
        return LLMPlanner(framework, task, settings, lambda: client)
    from planners.llm.backends import make_client

    return LLMPlanner(framework, task, settings, lambda: make_client(settings))


for _fw in FRAMEWORKS:
    if _fw not in PLANNERS:
        register_planner(_fw, lambda task, options, _fw=_fw: make_llm_planner(_fw, task, options), takes_options=True)

__all__ = ["FRAMEWORKS", "LLMPlanner", "LLMSettings", "make_llm_planner"]
