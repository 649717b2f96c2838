"""The swarm robots' shield rule: every command is a finite velocity within the robots' limits (a Wait is fine).

Swarm tasks are not grid tasks, so ``planners.shield.check_plan`` (which asks the task's plug-in) has no rules for
them; the app checks a swarm plan with this rule before it reaches a robot Fleet, and never steps a refused plan."""

from __future__ import annotations

import math
from collections.abc import Mapping

from fleetmind.robots.commands import Command, SetVelocity, Wait
from fleetmind.robots.ids import RobotId


def check_velocity_plan(plan: Mapping[RobotId, Command], max_linear: float, max_angular: float) -> list[str]:
    """One line per command that is not a finite ``SetVelocity`` with ``|linear| <= max_linear`` and ``|angular| <=
    max_angular`` (or a ``Wait``); empty: safe to execute."""
    bad = []
    for rid, command in plan.items():
        if isinstance(command, Wait):
            continue
        if not isinstance(command, SetVelocity):
            bad.append(f"{rid}: {type(command).__name__} is not a velocity command")
            continue
        v, w = command.linear, command.angular
        if not (math.isfinite(v) and math.isfinite(w)) or abs(v) > max_linear or abs(w) > max_angular:
            bad.append(f"{rid}: velocity ({v}, {w}) is beyond |linear| <= {max_linear}, |angular| <= {max_angular}")
    return bad
