"""BoxNet1: action hints for small models (note, score; lower is better)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fleetmind.robots.commands import Command, MoveBoxToCell, MoveBoxToTarget
from fleetmind.robots.ids import RobotId
from fleetmind.tasks.boxnet1.oracle import manhattan


def trend(before: int, after: int) -> str:
    """``closer`` / ``farther`` / ``no change``: how a move changes a distance (a tie is never called farther)."""
    return "closer" if after < before else "farther" if after > before else "no change"


def steps_text(n: int) -> str:
    return f"{n} step" + ("" if n == 1 else "s")


def hint(robot: RobotId, cmd: Command, w: Mapping[str, Any], undo: set[tuple[str, tuple, tuple]]) -> tuple[str, float]:
    here = tuple(w["robots"][robot])
    if isinstance(cmd, MoveBoxToTarget):
        return "delivers", -100.0
    assert isinstance(cmd, MoveBoxToCell)
    targets = [(r, c) for r, c, col in w["targets"] if col == cmd.colour]
    if not targets:
        return "no target left for this colour", 50.0
    to = (cmd.cell.row, cmd.cell.col)
    before = min(manhattan(here, t) for t in targets)
    after = min(manhattan(to, t) for t in targets)
    where = f"into target_{cmd.colour}'s square" if after == 0 else f"then {steps_text(after)} from target_{cmd.colour}"
    note = f"{where} ({trend(before, after)})"
    score = float(after - before) * 10 + after
    if (cmd.colour, to, here) in undo:
        note += ", undoes last move"
        score += 30
    return note, score
