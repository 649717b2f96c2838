"""Prompt layout: compact, one line per robot, the same for every framework and role.

Rules are paraphrased in our own words (not the reference code's text). With hints on, every action
carries its effect in brackets and the list is sorted best first (see :mod:`fleetmind.planners.llm.hints`).
For the scripted oracle backend the world's structured state is appended in a ```state``` block, so
the test-double server can plan; real models never get that block.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from fleetmind.planners.llm.hints import rank_joint
from fleetmind.planners.llm.schemas import Excluded, actions
from fleetmind.robots.commands import Command
from fleetmind.robots.fleet import Observation
from fleetmind.robots.ids import RobotId
from fleetmind.tasks import get_task

JOINT_REPLY = 'Reply with only a JSON object {"robot_id": "action"}, copying each action text exactly.'


def task_text(task: str) -> str:
    """The task's rules and, once, how to read its coordinates."""
    plugin = get_task(task)
    return f"Task: {plugin.rules_text}" + (f"\n{plugin.coordinates_text}" if plugin.coordinates_text else "")


def central_system(task: str) -> str:
    return (
        "You are the central planner of a robot team. Each step, give each robot one action from its list; "
        f"robots you leave out wait. {JOINT_REPLY}\n{task_text(task)}"
    )


def turn_system(task: str, robot: RobotId) -> str:
    return (
        f"You are {robot} in a robot team. The robots talk in turn to agree on one joint plan for this step. "
        "On your turn choose your own action, propose the whole joint plan and say EXECUTE if it should run now "
        'or PROCEED to let the next robot comment. Reply with only JSON {"action": "...", "decision": '
        '"PROCEED" or "EXECUTE", "plan": {"robot_id": "action"}}.\n'
        f"{task_text(task)}"
    )


def check_system(task: str, robot: RobotId) -> str:
    return (
        f"You are {robot} in a robot team. The central planner proposed a joint plan. Check what it does to you: "
        "where your part takes you and what it would collide with. If that is fine, agree with a null objection. "
        "Object only to name a collision you would have or another of your actions you should take instead. Reply "
        'with only JSON {"agree": true, "objection": null} or {"agree": false, "objection": "..."}.\n'
        f"{task_text(task)}"
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
    excluded: Excluded | None = None,
    suggested: Mapping[RobotId, Command] | None = None,
) -> str:
    """``robot: action; action`` lines, without the ``excluded`` actions (annotated and best first with hints, the
    ``suggested`` plan first; the ranking is joint, see :func:`fleetmind.planners.llm.hints.rank_joint`)."""
    ranking = rank_joint(observation, previous, previous_world, excluded, suggested) if hints else {}
    lines = []
    for rid in robots:
        if hints:
            items = [f"{c.text} [{note}]" if note else c.text for c, note, _ in ranking.get(rid, [])]
        else:
            items = actions(observation, rid, excluded)
        lines.append(f"{rid}: {'; '.join(items or ['wait'])}")
    return "\n".join(lines)


def plan_text(plan: Mapping[RobotId, Command]) -> str:
    return json.dumps({r: c.text for r, c in plan.items()}) if plan else "{} (all wait)"


def plan_brief(plan: Mapping[RobotId, Command]) -> str:
    """A plan as the history keeps it: ``robot_0 move left, robot_2 pick box_0.5_3`` (fewer tokens than JSON)."""
    return ", ".join(f"{r} {c.text}" for r, c in plan.items()) if plan else "all wait"


def turn_line(robot: RobotId, plan: Mapping[RobotId, Command], execute: bool) -> str:
    """A dialogue turn's line of the transcript (ends with EXECUTE or PROCEED, see :func:`executes`)."""
    return f"{robot}: {plan_text(plan)} {'EXECUTE' if execute else 'PROCEED'}"


def executes(line: str) -> bool:
    """Whether a :func:`turn_line` said EXECUTE."""
    return line.endswith(" EXECUTE")


def state_block(observation: Observation) -> str:
    """Machine-readable state for the scripted oracle server only."""
    return (
        "```state\n"
        + json.dumps({"step": observation.step, "world": observation.world}, separators=(",", ":"))
        + "\n```"
    )


def step_header(observation: Observation, step_limit: int | None, history: str) -> str:
    """History first, then this step: a prompt grows at its end, so a server's prompt cache keeps the start."""
    limit = f"/{step_limit}" if step_limit else ""
    parts = [f"History (oldest first):\n{history}"] if history else []
    parts.append(f"Step {observation.step + 1}{limit}.")
    parts.append(f"State:\n{observation.text}")
    return "\n".join(parts)


def state_change(before: Sequence[str], after: Sequence[str]) -> str:
    """What a step changed, for the history: the state lines that are new (instead of the whole state again)."""
    old = set(before)
    changed = [line for line in after if line not in old]
    return "; ".join(changed) if changed else "no change"
