"""JSON schemas sent as ``response_format`` so that a syntactically illegal plan cannot be produced.

Each robot's enum holds its legal actions and ``wait``, less the ``excluded`` ones: actions that collide whatever
the others do (``Task.doomed``: with a robot or box that cannot move this step) and, on a re-prompt, the actions the
shield just rejected (:func:`fleetmind.planners.llm.replies.blame`), so constrained decoding cannot repeat them.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

from fleetmind.robots.fleet import Observation
from fleetmind.robots.ids import RobotId
from fleetmind.tasks import get_task

Excluded = Mapping[RobotId, Collection[str]]


def doomed_texts(observation: Observation) -> dict[RobotId, set[str]]:
    """The task's never-safe actions (:meth:`fleetmind.tasks.base.Task.doomed`) as action texts per robot."""
    doomed = get_task(observation.world["task"]).doomed(observation)
    return {r: {c.text for c in cmds} for r, cmds in doomed.items() if cmds}


def merge(*parts: Excluded | None) -> dict[RobotId, set[str]]:
    """The union of several exclusions."""
    out: dict[RobotId, set[str]] = {}
    for part in parts:
        for r, texts in (part or {}).items():
            out.setdefault(r, set()).update(texts)
    return out


def actions(observation: Observation, robot: RobotId, excluded: Excluded | None = None) -> list[str]:
    """The robot's choices: legal actions (fleet's order) but the excluded ones, then ``wait`` (unless excluded: a
    retry after every robot waited twice in a row, see ``LlmPlanner._checked``)."""
    gone = (excluded or {}).get(robot, ())
    return [*(t for t in observation.robots[robot].legal_text if t not in gone), *(() if "wait" in gone else ("wait",))]


def acting_robots(observation: Observation, robots: Sequence[RobotId] | None = None) -> list[RobotId]:
    """Robots that have something to do (others can only wait and are left out of prompts and schemas)."""
    pool = robots if robots is not None else observation.robot_ids
    return [r for r in pool if observation.robots[r].legal]


def joint_plan_schema(
    observation: Observation, robots: Sequence[RobotId] | None = None, excluded: Excluded | None = None
) -> dict[str, Any]:
    """``{robot: one of its choices}`` for every robot that can act (see :func:`actions`)."""
    acting = acting_robots(observation, robots)
    return {
        "title": "joint_plan",
        "type": "object",
        "properties": {r: {"type": "string", "enum": actions(observation, r, excluded)} for r in acting},
        "required": acting,
        "additionalProperties": False,
    }


def turn_schema(
    observation: Observation,
    robot: RobotId,
    robots: Sequence[RobotId] | None = None,
    excluded: Excluded | None = None,
) -> dict[str, Any]:
    plan = joint_plan_schema(observation, robots, excluded)
    return {
        "title": "dialogue_turn",
        "type": "object",
        "properties": {
            "action": {"type": "string", "enum": actions(observation, robot, excluded)},
            "decision": {"type": "string", "enum": ["PROCEED", "EXECUTE"]},
            "plan": plan,
        },
        "required": ["action", "decision", "plan"],
        "additionalProperties": False,
    }


# maxLength keeps a rambling small model from running out of tokens inside the string (a cut-off reply). A robot that
# agrees says so with a null objection: no filler text is required (see planners/llm/checks.py).
CHECK_SCHEMA: dict[str, Any] = {
    "title": "plan_check",
    "type": "object",
    "properties": {
        "agree": {"type": "boolean"},
        "objection": {"anyOf": [{"type": "null"}, {"type": "string", "maxLength": 160}]},
    },
    "required": ["agree", "objection"],
    "additionalProperties": False,
}
