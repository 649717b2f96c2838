"""Registry of the non-LLM oracle planners, one per grid task."""

from __future__ import annotations

from planners.base import Planner

ORACLES: dict[str, type[Planner]] = {}


def oracle_for(task: str):
    """Class decorator: register an oracle planner for grid task ``task``."""

    def deco(cls: type[Planner]) -> type[Planner]:
        if task in ORACLES:
            raise ValueError(f"oracle for {task!r} registered twice")
        ORACLES[task] = cls
        return cls

    return deco


def make_oracle(task: str) -> Planner:
    if task not in ORACLES:
        raise ValueError(f"no oracle planner for task {task!r}; oracles exist for: {', '.join(sorted(ORACLES))}")
    return ORACLES[task]()
