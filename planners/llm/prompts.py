"""Prompt layout: compact, one line per robot, the same for every framework and role.

Rules are paraphrased in our own words (not the reference code's text). With hints on, every action
carries its effect in brackets and the list is sorted best first (see :mod:`planners.llm.hints`).
For the scripted oracle backend the world's structured state is appended in a ```state``` block, so
the test-double server can plan; real models never get that block.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from planners.llm.hints import rank_actions
from robots.commands import Command
from robots.fleet import Observation
from robots.ids import RobotId

RULES = {
    "boxnet1": (
        "Robots stand at the centres of grid squares. A robot can move one box of its own square to a "
        "neighbouring square, or into a same-colour target in its own square (box and target vanish). "
        "Goal: every box into a target of its colour, in as few steps as possible."
    ),
    "boxnet2": (
        "Boxes sit on square corners, robots at square centres, targets at centres. A robot can move a box "
        "on a corner of its square to another corner of its square, or into the same-colour target at its "
        "centre. Two boxes on one corner is a collision and fails the task. Goal: every box into its target."
    ),
    "warehouse": (
        "Robots drive along tracks (columns 0..N, column 0 next to the target area). Boxes wait between "
        "tracks; an empty-handed robot picks a box 0.5 rows above or below it in its column, carries it to "
        "column 0 and moves to target to deliver; from the target it can enter any track at column 0. Two "
        "robots on one track cell is a collision and fails the task. Goal: deliver every box."
    ),
    "boxlift": (
        "Lifters have known capacities (W); boxes have volumes (V) and hidden weights close to their volume. "
        "Lifters that choose the same box lift it if their capacities add up to its weight; each lifter "
        "joins one box per step. Failed lifts come back as feedback. Goal: lift every box."
    ),
}

JOINT_REPLY = 'Reply with only a JSON object {"robot_id": "action"}, copying each action text exactly.'


def central_system(task: str) -> str:
    return (
        "You are the central planner of a robot team. Each step, give each robot one action from its list; "
        f"robots you leave out wait. {JOINT_REPLY}\nTask: {RULES.get(task, '')}"
    )


def turn_system(task: str, robot: RobotId) -> str:
    return (
        f"You are {robot} in a robot team. The robots talk in turn to agree on one joint plan for this step. "
        "On your turn choose your own action, propose the whole joint plan and say EXECUTE if it should run now "
        'or PROCEED to let the next robot comment. Reply with only JSON {"action": "...", "decision": '
        '"PROCEED" or "EXECUTE", "plan": {"robot_id": "action"}}.\n'
        f"Task: {RULES.get(task, '')}"
    )


def check_system(task: str, robot: RobotId) -> str:
    return (
        f"You are {robot} in a robot team. The central planner proposed a joint plan. Check your own part: "
        "agree if it is legal and useful, otherwise object and say which action you should take. Reply with "
        'only JSON {"agree": true or false, "objection": "..."}.\n'
        f"Task: {RULES.get(task, '')}"
    )


SUMMARY_SYSTEM = (
    "You keep the memory of a robot team. Summarise the progress so far in at most three short sentences: "
    "what was done, what failed, what is left."
)


def actions_block(
    observation: Observation,
    robots: Sequence[RobotId],
    hints: bool,
    previous: Mapping[RobotId, Command] | None = None,
    previous_world: Mapping[str, Any] | None = None,
) -> str:
    """``robot: action; action`` lines (annotated and best first with hints)."""
    lines = []
    for rid in robots:
        if hints:
            ranked = rank_actions(observation, rid, previous, previous_world)
            items = [f"{c.text} [{note}]" if note else c.text for c, note, _ in ranked]
        else:
            items = list(observation.robots[rid].legal_text)
        lines.append(f"{rid}: {'; '.join(items + ['wait'])}")
    return "\n".join(lines)


def plan_text(plan: Mapping[RobotId, Command]) -> str:
    return json.dumps({r: c.text for r, c in plan.items()}) if plan else "{} (all wait)"


def state_block(observation: Observation) -> str:
    """Machine-readable state for the scripted oracle server only."""
    return (
        "```state\n"
        + json.dumps({"step": observation.step, "world": observation.world}, separators=(",", ":"))
        + "\n```"
    )


def step_header(observation: Observation, step_limit: int | None, history: str) -> str:
    limit = f"/{step_limit}" if step_limit else ""
    parts = [f"Step {observation.step + 1}{limit}."]
    if history:
        parts.append(f"History (oldest first):\n{history}")
    parts.append(f"State:\n{observation.text}")
    return "\n".join(parts)
