"""BoxNet2: action hints for small models (note, score; lower is better)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fleetmind.robots.commands import Command, MoveBoxToCorner, MoveBoxToTarget
from fleetmind.robots.ids import RobotId
from fleetmind.tasks.boxnet2.oracle import corner_distance


def hint(robot: RobotId, cmd: Command, w: Mapping[str, Any], undo: set[tuple[str, tuple, tuple]]) -> tuple[str, float]:
    if isinstance(cmd, MoveBoxToTarget):
        return "delivers", -100.0
    assert isinstance(cmd, MoveBoxToCorner)
    target = next(((r, c) for r, c, col in w["targets"] if col == cmd.colour), None)
    src = tuple(w["boxes"][cmd.colour])
    to = (cmd.corner.row, cmd.corner.col)
    if any(tuple(k) == to for col, k in w["boxes"].items() if col != cmd.colour):
        return "COLLISION: corner taken", 1000.0
    if target is None:
        return "no target", 50.0
    before, after = corner_distance(src, target), corner_distance(to, target)
    note = f"box {after} from target_{cmd.colour}" + (" (closer)" if after < before else "")
    score = float(after - before) * 10 + after
    if (cmd.colour, to, src) in undo:
        note += ", undoes last move"
        score += 30
    return note, score
