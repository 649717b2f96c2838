"""Action hints for small models: each legal action annotated with its effect and ranked best first.

Small local models pick the first listed action most of the time and undo their own moves, so with
hints on, every action carries a short note ("delivers", "box 1 from target_red", "undoes last move")
and the list is sorted by that effect. Hints are an explicit prompt option, reported in every result.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from planners.oracle.boxnet1 import manhattan
from planners.oracle.boxnet2 import corner_distance
from robots.commands import (
    Command,
    EnterTarget,
    EnterTrack,
    Lift,
    MoveBoxToCell,
    MoveBoxToCorner,
    MoveBoxToTarget,
    PickBox,
    TrackMove,
)
from robots.fleet import Observation
from robots.ids import RobotId

Hint = tuple[Command, str, float]
"""(command, note, score): lower score is better."""


def _boxnet1(
    robot: RobotId, cmd: Command, w: Mapping[str, Any], undo: set[tuple[str, tuple, tuple]]
) -> tuple[str, float]:
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
    note = f"box {after} from target_{cmd.colour}" + (" (closer)" if after < before else " (farther)")
    score = float(after - before) * 10 + after
    if (cmd.colour, to, here) in undo:
        note += ", undoes last move"
        score += 30
    return note, score


def _boxnet2(
    robot: RobotId, cmd: Command, w: Mapping[str, Any], undo: set[tuple[str, tuple, tuple]]
) -> tuple[str, float]:
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


def _warehouse(robot: RobotId, cmd: Command, w: Mapping[str, Any]) -> tuple[str, float]:
    me = w["robots"][robot]
    boxes = [tuple(b) for b in w["boxes"]]
    if isinstance(cmd, PickBox):
        return "picks a box", -50.0
    if isinstance(cmd, EnterTarget):
        return ("delivers the box", -100.0) if me and me[2] else ("leaves the track empty-handed", 20.0)
    if isinstance(cmd, EnterTrack):
        cols = [c for r, c in boxes if abs(r - cmd.track) == 0.5]
        return (f"nearest box {min(cols)} columns in", float(min(cols))) if cols else ("no box along this track", 40.0)
    if isinstance(cmd, TrackMove) and me:
        track, col, carrying = me
        nxt = col + (1 if cmd.direction == "right" else -1)
        if carrying:
            return ("towards the target", -10.0) if cmd.direction == "left" else ("away from the target", 30.0)
        cols = [c for r, c in boxes if abs(r - track) == 0.5]
        if not cols:
            return "no box along this track", 25.0
        before, after = min(abs(c - col) for c in cols), min(abs(c - nxt) for c in cols)
        return (
            f"box {after} columns away" + (" (closer)" if after < before else ""),
            float(after - before) * 10 + after,
        )
    return "", 0.0


def rank_actions(
    observation: Observation,
    robot: RobotId,
    previous: Mapping[RobotId, Command] | None = None,
    previous_world: Mapping[str, Any] | None = None,
) -> list[Hint]:
    """The robot's legal actions with notes, best first (stable for equal scores)."""
    w = observation.world
    task = w.get("task")
    undo = _last_moves(previous or {}, previous_world) if previous_world else set()
    out: list[Hint] = []
    for cmd in observation.robots[robot].legal:
        if task == "boxnet1":
            note, score = _boxnet1(robot, cmd, w, undo)
        elif task == "boxnet2":
            note, score = _boxnet2(robot, cmd, w, undo)
        elif task == "warehouse":
            note, score = _warehouse(robot, cmd, w)
        elif task == "boxlift" and isinstance(cmd, Lift):
            volume = w["boxes"][str(cmd.box)]
            note, score = f"volume {volume:.1f}", -volume
        else:
            note, score = "", 0.0
        out.append((cmd, note, score))
    return sorted(out, key=lambda h: h[2])


def _last_moves(previous: Mapping[RobotId, Command], world: Mapping[str, Any]) -> set[tuple[str, tuple, tuple]]:
    """(colour, from, to) of the box moves of the previous step, so an exact reversal can be flagged."""
    moves: set[tuple[str, tuple, tuple]] = set()
    for rid, cmd in previous.items():
        if isinstance(cmd, MoveBoxToCell) and rid in world.get("robots", {}):
            moves.add((cmd.colour, tuple(world["robots"][rid]), (cmd.cell.row, cmd.cell.col)))
        elif isinstance(cmd, MoveBoxToCorner) and cmd.colour in world.get("boxes", {}):
            moves.add((cmd.colour, tuple(world["boxes"][cmd.colour]), (cmd.corner.row, cmd.corner.col)))
    return moves


def undoes_previous(
    plan: Mapping[RobotId, Command],
    observation: Observation,
    previous: Mapping[RobotId, Command],
    previous_world: Mapping[str, Any],
) -> bool:
    """True when ``plan`` moves exactly the boxes of the previous step straight back (a loop)."""
    before = _last_moves(previous, previous_world)
    now = _last_moves(plan, observation.world)
    return bool(before) and now == {(c, b, a) for c, a, b in before}
