"""Safety shield: rejects a joint plan that would collide before anything executes.

Pure: each task's own rules (``fleetmind.tasks.<name>.shield``) predict the end-of-step state from the observation's
world data and the commands (BoxNet2: two boxes on one corner, or one box moved by two robots; Warehouse: two
robots on one track cell, or one box picked twice). Legality of each single command is checked elsewhere; the
shield looks at the plan as a whole.
"""

from __future__ import annotations

from collections.abc import Mapping

from fleetmind.robots.commands import Command
from fleetmind.robots.fleet import Observation
from fleetmind.robots.ids import RobotId
from fleetmind.tasks import get_task


def check_plan(observation: Observation, plan: Mapping[RobotId, Command], physical: bool = True) -> list[str]:
    """Conflicts of a joint plan, one readable line each (empty: safe to execute)."""
    return get_task(observation.world["task"]).check(observation, plan, physical)
