"""BoxLift: shield rules (a lifter serves one box per step)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

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
