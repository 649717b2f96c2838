"""BoxNet2: shield rules, pure: the end-of-step state predicted from the observation's world data and the plan."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping

from fleetmind.robots.commands import Command, MoveBoxToCorner, MoveBoxToTarget
from fleetmind.robots.fleet import Observation
from fleetmind.robots.ids import RobotId


def check(observation: Observation, plan: Mapping[RobotId, Command]) -> list[str]:
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
