"""BoxLift: shield rules (a lifter serves one box per step, and only boxes that are still there)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from fleetmind.robots.commands import Command, Lift
from fleetmind.robots.fleet import Observation
from fleetmind.robots.ids import RobotId


def check_lifter_teams(teams: Mapping[str, Sequence[RobotId]]) -> list[str]:
    """BoxLift plans written as ``{box: [lifters]}``: a lifter may serve one box per step."""
    seen: dict[RobotId, str] = {}
    out = []
    for box, lifters in teams.items():
        for r in lifters:
            if r in seen:
                out.append(f"{r} is assigned to both {seen[r]} and {box}; a lifter lifts one box per step")
            seen.setdefault(r, box)
    return out


def check(observation: Observation, plan: Mapping[RobotId, Command]) -> list[str]:
    """A joint plan of ``lift(box_k)`` commands: its teams (one box per lifter), lifters and boxes that exist."""
    w = observation.world
    lifters, boxes = w["lifters"], w["boxes"]
    teams: dict[str, list[RobotId]] = {}
    out: list[str] = []
    for rid, cmd in plan.items():
        if not isinstance(cmd, Lift):
            continue
        if rid not in lifters:
            out.append(f"{rid} is not a lifter; lifters are {', '.join(lifters)}")
        elif str(cmd.box) not in boxes:
            out.append(f"{rid} would lift box_{cmd.box}, which is already lifted (boxes left: {', '.join(boxes)})")
        else:
            teams.setdefault(f"box_{cmd.box}", []).append(rid)
    return out + check_lifter_teams(teams)
