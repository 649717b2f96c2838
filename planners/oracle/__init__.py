"""The ``oracle`` planner: each task's own non-LLM oracle (``tasks/<name>/oracle.py``), the floor LLM planners are
compared to."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fleetmind.robots.planner import Planner
from fleetmind.tasks import get_task


def make_oracle(task: str, options: Mapping[str, Any] | None = None) -> Planner:
    """The oracle of ``task``; raises ``ValueError`` naming the tasks that have one."""
    return get_task(task).make_oracle()
