"""BoxNet2: action hints for small models (note, score; lower is better), and the moves that can never be safe."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fleetmind.robots.commands import Command, MoveBoxToCorner, MoveBoxToTarget
from fleetmind.robots.fleet import Observation
from fleetmind.robots.ids import RobotId
from fleetmind.tasks.boxnet1.hints import steps_text, trend
from fleetmind.tasks.boxnet2.oracle import corner_distance


def hint(robot: RobotId, cmd: Command, w: Mapping[str, Any], undo: set[tuple[str, tuple, tuple]]) -> tuple[str, float]:
    """Collisions are not judged here: the ranking asks the shield (``fleetmind.planners.llm.hints``)."""
    if isinstance(cmd, MoveBoxToTarget):
        return "delivers", -100.0
    assert isinstance(cmd, MoveBoxToCorner)
    target = next(((r, c) for r, c, col in w["targets"] if col == cmd.colour), None)
    src = tuple(w["boxes"][cmd.colour])
    to = (cmd.corner.row, cmd.corner.col)
    if target is None:
        return "no target left for this colour", 50.0
    before, after = corner_distance(src, target), corner_distance(to, target)
    goal = f"target_{cmd.colour}"
    where = f"onto a corner of {goal}'s square" if after == 0 else f"then {steps_text(after)} from {goal}"
    note = f"{where} ({trend(before, after)})"
    score = float(after - before) * 10 + after
    if (cmd.colour, to, src) in undo:
        note += ", undoes last move"
        score += 30
    return note, score


def doomed(observation: Observation) -> dict[RobotId, list[Command]]:
    """Moves onto a corner held by a box that no robot can move this step: they collide whatever the others do."""
    movable = {
        cmd.colour
        for view in observation.robots.values()
        for cmd in view.legal
        if isinstance(cmd, MoveBoxToCorner | MoveBoxToTarget)
    }
    fixed = {tuple(k) for colour, k in observation.world["boxes"].items() if colour not in movable}
    out: dict[RobotId, list[Command]] = {}
    for rid, view in observation.robots.items():
        bad = [c for c in view.legal if isinstance(c, MoveBoxToCorner) and (c.corner.row, c.corner.col) in fixed]
        if bad:
            out[rid] = bad
    return out
