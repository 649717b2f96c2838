"""JSON schemas sent as ``response_format`` so that a syntactically illegal plan cannot be produced."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fleetmind.robots.fleet import Observation
from fleetmind.robots.ids import RobotId


def _actions(observation: Observation, robot: RobotId) -> list[str]:
    return [*observation.robots[robot].legal_text, "wait"]


def acting_robots(observation: Observation, robots: Sequence[RobotId] | None = None) -> list[RobotId]:
    """Robots that have something to do (others can only wait and are left out of prompts and schemas)."""
    pool = robots if robots is not None else observation.robot_ids
    return [r for r in pool if observation.robots[r].legal]


def joint_plan_schema(observation: Observation, robots: Sequence[RobotId] | None = None) -> dict[str, Any]:
    """``{robot: one of its legal actions or "wait"}`` for every robot that can act."""
    acting = acting_robots(observation, robots)
    return {
        "title": "joint_plan",
        "type": "object",
        "properties": {r: {"type": "string", "enum": _actions(observation, r)} for r in acting},
        "required": acting,
        "additionalProperties": False,
    }


def turn_schema(observation: Observation, robot: RobotId, robots: Sequence[RobotId] | None = None) -> dict[str, Any]:
    plan = joint_plan_schema(observation, robots)
    return {
        "title": "dialogue_turn",
        "type": "object",
        "properties": {
            "action": {"type": "string", "enum": _actions(observation, robot)},
            "decision": {"type": "string", "enum": ["PROCEED", "EXECUTE"]},
            "plan": plan,
        },
        "required": ["action", "decision", "plan"],
        "additionalProperties": False,
    }


# maxLength keeps a rambling small model from running out of tokens inside the string (a cut-off reply).
CHECK_SCHEMA: dict[str, Any] = {
    "title": "plan_check",
    "type": "object",
    "properties": {"agree": {"type": "boolean"}, "objection": {"type": "string", "maxLength": 160}},
    "required": ["agree", "objection"],
    "additionalProperties": False,
}
