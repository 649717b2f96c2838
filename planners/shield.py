"""Safety shield: rejects a joint plan that would collide before anything executes.

Pure: each task's own rules (``Task.check``, in ``fleetmind.tasks.<name>.shield``) predict the end-of-step state
from the observation's world data and the commands: BoxNet1 moves only boxes that are there; BoxNet2 never puts two
boxes on one corner nor moves one box twice; Warehouse never puts two robots on one track cell nor picks one box
twice, and (``physical``) never lets two robots swap places; BoxLift lifts each box that is left with one team per
lifter; lifelong MAPF has no vertex or swap (edge) conflict. Legality of each single command is the Fleet's check;
the shield looks at the plan as a whole. ``fleetmind.app.runner.shielded_step`` puts it in front of every
``Fleet.step``; LLM planners also call it while validating a reply, to re-prompt with the violations.
"""

from __future__ import annotations

from collections.abc import Mapping

from fleetmind.robots.commands import Command
from fleetmind.robots.fleet import Observation
from fleetmind.robots.ids import RobotId
from fleetmind.tasks import get_task


def check_plan(observation: Observation, plan: Mapping[RobotId, Command], physical: bool = True) -> list[str]:
    """Conflicts of a joint plan, one readable line each (empty: safe to execute). ``physical``: the rules of robots
    with bodies (every backend but the grid world running a task's paper rules, see
    ``fleetmind.app.runner.shield_physical``)."""
    return get_task(observation.world["task"]).check(observation, plan, physical)
