"""Turning model replies into typed commands: tolerant JSON extraction, validation, precise feedback."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from fleetmind.planners.llm.hints import undoes_previous
from fleetmind.planners.shield import check_plan
from fleetmind.robots.actions import parse_action
from fleetmind.robots.commands import Command, Wait
from fleetmind.robots.fleet import Observation
from fleetmind.robots.ids import RobotId


class ReplyError(Exception):
    """A reply that must go back to the model: ``kind`` is ``syntax``, ``shield`` or ``loop``."""

    def __init__(self, kind: str, problems: Sequence[str]) -> None:
        self.kind = kind
        self.problems = list(problems)
        super().__init__("; ".join(self.problems))

    def feedback(self) -> str:
        head = {
            "syntax": "Your reply has errors:",
            "shield": "The safety shield rejected your plan (it would collide):",
            "loop": "Your plan exactly undoes the previous step's moves, so the team would loop:",
        }[self.kind]
        return head + "\n" + "\n".join(f"- {p}" for p in self.problems) + "\nReply again with corrected JSON only."


def extract_json(text: str) -> Any:
    """The first JSON object in ``text``: tolerates code fences, leading prose and trailing text."""
    start = text.find("{")
    if start < 0:
        raise ReplyError("syntax", [f"no JSON object found in {text[:120]!r}"])
    depth, in_str, esc = 0, False, False
    for i in range(start, len(text)):
        ch = text[i]
        if in_str:
            if esc:
                esc = False
            elif ch == "\\":
                esc = True
            elif ch == '"':
                in_str = False
        elif ch == '"':
            in_str = True
        elif ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                try:
                    return json.loads(text[start : i + 1])
                except json.JSONDecodeError as exc:
                    raise ReplyError("syntax", [f"invalid JSON ({exc.msg} at char {exc.pos})"]) from None
    raise ReplyError("syntax", ["the JSON object is cut off (unbalanced braces); reply with a shorter, whole object"])


def validate_plan(observation: Observation, raw: Any) -> dict[RobotId, Command]:
    """Map ``{robot: action text}`` onto legal commands; every problem names robot, text and choices."""
    if not isinstance(raw, Mapping):
        raise ReplyError("syntax", [f"the plan must be a JSON object of robot -> action, got {type(raw).__name__}"])
    problems: list[str] = []
    plan: dict[RobotId, Command] = {}
    robots = observation.robots
    for key, value in raw.items():
        rid = RobotId(str(key).strip())
        if rid not in robots:
            problems.append(f"{key!r} is not a robot; robots are {', '.join(robots)}")
            continue
        if not isinstance(value, str):
            problems.append(f"{rid}: the action must be a string, got {json.dumps(value)[:60]}")
            continue
        command = parse_action(value, robots[rid].legal)
        if isinstance(command, Wait):
            continue
        if command is None:
            choices = "; ".join([*robots[rid].legal_text, "wait"])
            problems.append(f"{rid} said {value!r}, which is not one of its actions: {choices}")
            continue
        plan[rid] = command
    if problems:
        raise ReplyError("syntax", problems)
    return plan


def check_safe(
    observation: Observation,
    plan: Mapping[RobotId, Command],
    previous: Mapping[RobotId, Command] | None,
    previous_world: Mapping[str, Any] | None,
    loop_guard: bool,
) -> None:
    """Shield (never lets a colliding plan through) and, if asked, the loop guard."""
    conflicts = check_plan(observation, plan)
    if conflicts:
        raise ReplyError("shield", conflicts)
    if loop_guard and previous and previous_world and undoes_previous(plan, observation, previous, previous_world):
        raise ReplyError(
            "loop", ["every box would go straight back where it came from; choose moves that make progress"]
        )
