"""Action hints for small models: each legal action annotated with its effect and ranked best first.

Small local models pick the first listed action most of the time and undo their own moves, so with hints on, every
action carries a short note ("delivers", "1 step from target_red (closer)", "undoes last move") and the list is sorted
by that effect. The notes come from the task's own rules (``Task.hint``). Where the task has an oracle planner, its
move for this step (``suggested``) is ranked first and marked "best" (``wait`` first when the oracle has the
robot wait): a model that takes the first listed action then plays the oracle's plan, and one that knows better may
still choose another action. The order also answers to the shield: robots are ranked in fleet order, and an action
that collides with the robots ranked before it (their first choices, the others waiting) is never ranked above a
safe one, so the joint plan of every robot's first choice passes the shield. ``wait`` follows the safe actions
(first when there is none). Hints are an explicit prompt option, reported in every result.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from fleetmind.planners.llm.schemas import Excluded
from fleetmind.planners.shield import check_plan
from fleetmind.robots.commands import Command, MoveBoxToCell, MoveBoxToCorner, Wait
from fleetmind.robots.fleet import Observation
from fleetmind.robots.ids import RobotId
from fleetmind.tasks import get_task

_ROBOT_NAME = re.compile(r"\brobot_\d+\b")
Hint = tuple[Command, str, float]
"""(command, note, score): lower score is better."""


def rank_joint(
    observation: Observation,
    previous: Mapping[RobotId, Command] | None = None,
    previous_world: Mapping[str, Any] | None = None,
    excluded: Excluded | None = None,
    suggested: Mapping[RobotId, Command] | None = None,
) -> dict[RobotId, list[Hint]]:
    """Every robot's choices (its legal actions but ``excluded`` ones, and ``wait``) with notes, best first.

    Robots that can act are ranked in fleet order; an action is ranked by (collision tier, not suggested, task
    score): tier 0 is safe with the first choices of the robots ranked before it, tier 1 clashes with them, tier 2
    collides even when every other robot waits. ``wait`` comes right after the safe actions (first when there is
    none, or when ``suggested`` is given and leaves the robot out or has it wait). The first choices form a joint
    plan that :func:`fleetmind.planners.shield.check_plan` (physical rules) accepts.
    """
    w = observation.world
    undo = _last_moves(previous or {}, previous_world) if previous_world else set()
    plugin = get_task(w["task"])
    excluded = excluded or {}
    chosen: dict[RobotId, Command] = {}
    out: dict[RobotId, list[Hint]] = {}
    for rid in observation.robot_ids:
        legal = observation.robots[rid].legal
        if not legal:
            continue
        tiers: list[tuple[int, int, float, int, Hint]] = []
        pick = suggested.get(rid, Wait()) if suggested is not None else None
        for i, cmd in enumerate(legal):
            if cmd.text in excluded.get(rid, ()):
                continue
            note, score = plugin.hint(rid, cmd, w, undo)
            advised = pick is not None and cmd.text == pick.text
            alone = check_plan(observation, {rid: cmd})
            joint = alone or check_plan(observation, {**chosen, rid: cmd})
            tier = 2 if alone else 1 if joint else 0
            if alone:  # what the move would do matters no more than that it collides
                note = f"COLLISION with {_others(alone[0], rid)}"
            elif joint:
                note = f"clashes with {_others(joint[0], rid)}'s choice above"
            elif advised:
                note = _join("best", note)
            tiers.append((tier, int(not advised), score, i, (cmd, note, score)))
        tiers.sort(key=lambda t: t[:4])
        ranked = [t[4] for t in tiers]
        safe = sum(1 for t in tiers if t[0] == 0)
        waits = "wait" not in excluded.get(rid, ())  # a stalled team's retry takes wait from one robot
        if isinstance(pick, Wait) and ranked and waits:  # the oracle has this robot wait: wait first
            out[rid] = [(Wait(), "best", 0.0), *ranked]
            continue
        wait: list[Hint] = [(Wait(), "" if safe or not ranked else "no safe action", 0.0)] if waits else []
        if safe:
            chosen[rid] = ranked[0][0]
        out[rid] = [*ranked[:safe], *wait, *ranked[safe:]]
    return out


def rank_actions(
    observation: Observation,
    robot: RobotId,
    previous: Mapping[RobotId, Command] | None = None,
    previous_world: Mapping[str, Any] | None = None,
) -> list[Hint]:
    """One robot's legal actions with notes, best first, as :func:`rank_joint` ranks them (``wait`` left out)."""
    return [h for h in rank_joint(observation, previous, previous_world).get(robot, []) if not isinstance(h[0], Wait)]


def top_plan(ranking: Mapping[RobotId, Sequence[Hint]]) -> dict[RobotId, Command]:
    """The joint plan of every robot's first choice (robots whose first choice is ``wait`` left out)."""
    return {r: hints[0][0] for r, hints in ranking.items() if hints and not isinstance(hints[0][0], Wait)}


def _others(conflict: str, robot: RobotId) -> str:
    """The robots a shield conflict line names besides ``robot`` (``robot_3``, ``robot_1 and robot_3``); the
    line itself where it names none (a box, a corner)."""
    names = list(dict.fromkeys(n for n in _ROBOT_NAME.findall(conflict) if n != robot))
    return " and ".join(names) if names else conflict


def _join(first: str, second: str) -> str:
    return f"{first}; {second}" if second else first


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
