"""Which episodes ran: an episode that ended because the model server failed (``llm_unavailable``,
``llm_timeout``, ``llm_error``), whose robots never answered (``robots_unreachable``) or that Ctrl-C / SIGTERM
stopped (``interrupted``) is no planning result. Success rate and mean steps are over the episodes that ran; the
others are counted apart."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

from fleetmind.robots.fleet import ROBOTS_UNREACHABLE

LLM_FAILURES = ("llm_unavailable", "llm_timeout", "llm_error")
"""Failure reasons of the model server."""
INFRASTRUCTURE = (*LLM_FAILURES, ROBOTS_UNREACHABLE)
"""Failure reasons of the model server or the robots' links, not of the planning: the episode did not run to a
verdict."""
INTERRUPTED = "interrupted"
"""``failure_reason`` of the episode Ctrl-C or SIGTERM stopped."""


class Outcome(Protocol):
    """What :func:`tally` reads of an episode record."""

    success: bool
    steps: int
    failure_reason: str | None


def did_not_run(record: Outcome) -> bool:
    """Whether ``record`` ended for infrastructure or was interrupted: it is no planning result."""
    return record.failure_reason in INFRASTRUCTURE or record.failure_reason == INTERRUPTED


def tally(records: Iterable[Outcome]) -> dict[str, Any]:
    """``success_rate`` and ``mean_steps`` over the episodes that ran (``episodes_ran`` of them; 0.0 when none
    did), and those that did not: ``infrastructure_failures`` (``{reason: count}``, sorted) and ``interrupted``."""
    every = list(records)
    ran = [e for e in every if not did_not_run(e)]
    infra: dict[str, int] = {}
    for e in every:
        if e.failure_reason in INFRASTRUCTURE:
            infra[e.failure_reason] = infra.get(e.failure_reason, 0) + 1
    return {
        "success_rate": sum(e.success for e in ran) / len(ran) if ran else 0.0,
        "mean_steps": sum(e.steps for e in ran) / len(ran) if ran else 0.0,
        "episodes_ran": len(ran),
        "infrastructure_failures": dict(sorted(infra.items())),
        "interrupted": sum(e.failure_reason == INTERRUPTED for e in every),
    }
