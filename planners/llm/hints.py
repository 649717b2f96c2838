"""Action hints for small models: each legal action annotated with its effect and ranked best first.

Small local models pick the first listed action most of the time and undo their own moves, so with
hints on, every action carries a short note ("delivers", "box 1 from target_red", "undoes last move")
and the list is sorted by that effect. Hints are an explicit prompt option, reported in every result.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fleetmind.robots.commands import Command, MoveBoxToCell, MoveBoxToCorner
from fleetmind.robots.fleet import Observation
from fleetmind.robots.ids import RobotId
from fleetmind.tasks import get_task

Hint = tuple[Command, str, float]
"""(command, note, score): lower score is better."""


def rank_actions(
    observation: Observation,
    robot: RobotId,
    previous: Mapping[RobotId, Command] | None = None,
    previous_world: Mapping[str, Any] | None = None,
) -> list[Hint]:
    """The robot's legal actions with notes, best first (stable for equal scores)."""
    w = observation.world
    undo = _last_moves(previous or {}, previous_world) if previous_world else set()
    out: list[Hint] = []
    plugin = get_task(w["task"])
    for cmd in observation.robots[robot].legal:
        note, score = plugin.hint(robot, cmd, w, undo)
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
