"""Safety shield: rejects a joint plan that would collide before anything executes.

Pure: it predicts the end-of-step state from the observation's world data and the commands, using the
same rules as the worlds (BoxNet2: two boxes on one corner, or one box moved by two robots; Warehouse:
two robots on one track cell, or one box picked twice; BoxLift: a lifter on two boxes). Legality of each
single command is checked elsewhere; the shield looks at the plan as a whole.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence

from robots.commands import Command, EnterTarget, EnterTrack, MoveBoxToCorner, MoveBoxToTarget, PickBox, TrackMove
from robots.fleet import Observation
from robots.ids import RobotId


def check_plan(observation: Observation, plan: Mapping[RobotId, Command]) -> list[str]:
    """Conflicts of a joint plan, one readable line each (empty: safe to execute)."""
    task = observation.world.get("task")
    if task == "boxnet2":
        return _boxnet2(observation, plan)
    if task == "warehouse":
        return _warehouse(observation, plan)
    return []


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


def _boxnet2(observation: Observation, plan: Mapping[RobotId, Command]) -> list[str]:
    boxes = {c: tuple(k) for c, k in observation.world["boxes"].items()}
    movers: dict[str, list[RobotId]] = {}
    out: list[str] = []
    for rid, cmd in plan.items():
        if isinstance(cmd, MoveBoxToCorner | MoveBoxToTarget):
            movers.setdefault(cmd.colour, []).append(rid)
    for colour, robots in movers.items():
        if len(robots) > 1:
            out.append(f"box_{colour} is moved by {' and '.join(robots)} at once; only one robot may move it")
    end = dict(boxes)
    for cmd in plan.values():
        if isinstance(cmd, MoveBoxToCorner):
            end[cmd.colour] = (cmd.corner.row, cmd.corner.col)
        elif isinstance(cmd, MoveBoxToTarget):
            end.pop(cmd.colour, None)
    for corner, n in Counter(end.values()).items():
        if n > 1:
            names = " and ".join(f"box_{c}" for c, k in sorted(end.items()) if k == corner)
            out.append(f"{names} would collide at position[{corner[0]:.1f}, {corner[1]:.1f}]")
    return out


def _warehouse(observation: Observation, plan: Mapping[RobotId, Command]) -> list[str]:
    pos = observation.world["robots"]
    out: list[str] = []
    pickers: dict[tuple[float, int], list[RobotId]] = {}
    end: dict[RobotId, tuple[int, int] | None] = {}
    for rid, p in pos.items():
        cmd = plan.get(rid)
        cell = None if p is None else (p[0], p[1])
        if isinstance(cmd, EnterTrack):
            cell = (cmd.track, 0)
        elif isinstance(cmd, EnterTarget):
            cell = None
        elif isinstance(cmd, TrackMove) and cell is not None:
            cell = (cell[0], cell[1] + (1 if cmd.direction == "right" else -1))
        elif isinstance(cmd, PickBox):
            pickers.setdefault((cmd.row, cmd.col), []).append(rid)
        end[rid] = cell
    for (row, col), robots in pickers.items():
        if len(robots) > 1:
            out.append(f"box_{row:.1f}_{col} is picked by {' and '.join(robots)} at once")
    for cell, n in Counter(c for c in end.values() if c is not None).items():
        if n > 1:
            names = " and ".join(r for r, c in end.items() if c == cell)
            out.append(f"{names} would collide on track_{cell[0]} column_{cell[1]}")
    return out
