"""Turning model replies into typed commands: tolerant JSON extraction, validation, precise feedback."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from fleetmind.planners.llm.hints import undoes_previous
from fleetmind.planners.llm.schemas import Excluded, actions
from fleetmind.planners.shield import check_plan
from fleetmind.robots.actions import parse_action
from fleetmind.robots.commands import Command, Wait
from fleetmind.robots.fleet import Observation
from fleetmind.robots.ids import RobotId


class ReplyError(Exception):
    """A reply that must go back to the model: ``kind`` is ``syntax``, ``shield`` or ``loop``; ``removed``: the
    actions taken out of the retry's choices (robot -> action texts, the rejected one first), so that it cannot
    repeat the rejected plan."""

    def __init__(
        self, kind: str, problems: Sequence[str], removed: Mapping[RobotId, Sequence[str]] | None = None
    ) -> None:
        self.kind = kind
        self.problems = list(problems)
        self.removed = {r: list(a) for r, a in (removed or {}).items() if a}
        super().__init__("; ".join(self.problems))

    def feedback(self) -> str:
        head = {
            "syntax": "Your reply has errors:",
            "shield": "The safety shield rejected your plan (it would collide):",
            "loop": "Your plan exactly undoes the previous step's moves, so the team would loop:",
            "stall": "Your plan has every robot wait again, so nothing would ever change:",
        }[self.kind]
        text = head + "\n" + "\n".join(f"- {p}" for p in self.problems)
        if self.removed:
            gone = "; ".join(f"{r}: {a[0]}" for r, a in self.removed.items())
            more = sum(len(a) - 1 for a in self.removed.values())
            also = f", and {more} more that would clash with the rest of the plan" if more else ""
            text += f"\nRemoved from the choices for this step: {gone}{also}. Choose another action (or wait) for them."
        return text + "\nReply again with corrected JSON only."


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


def validate_plan(observation: Observation, raw: Any, excluded: Excluded | None = None) -> dict[RobotId, Command]:
    """Map ``{robot: action text}`` onto legal commands; every problem names robot, text and choices. An
    ``excluded`` action (rejected earlier this step; a server that ignores the schema can still send it) is refused
    like an illegal one."""
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
        gone = (excluded or {}).get(rid, ())
        if isinstance(command, Wait):
            if "wait" in gone:
                choices = "; ".join(actions(observation, rid, excluded))
                problems.append(f"{rid} said 'wait', but the team has stood still: choose one of {choices}")
            continue
        if command is None or command.text in gone:
            choices = "; ".join(actions(observation, rid, excluded))
            why = "was removed from its choices (it collides)" if command is not None else "is not one of its actions"
            problems.append(f"{rid} said {value!r}, which {why}: choose one of {choices}")
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
        raise ReplyError("shield", conflicts, removals(observation, plan))
    if loop_guard and previous and previous_world and undoes_previous(plan, observation, previous, previous_world):
        raise ReplyError(
            "loop", ["every box would go straight back where it came from; choose moves that make progress"]
        )


def blame(observation: Observation, plan: Mapping[RobotId, Command]) -> dict[RobotId, str]:
    """The actions to take out of a rejected plan's retry: few robots' actions whose removal (those robots wait)
    leaves a plan the shield accepts. Greedy: each round drops the action whose removal leaves the fewest conflicts
    (ties: the robot latest in fleet order, as the hint ranking favours earlier robots). At least one action goes
    whenever the plan has a conflict, so a retry can never repeat it."""
    rest = {r: plan[r] for r in observation.robot_ids if r in plan}
    out: dict[RobotId, str] = {}
    while rest and check_plan(observation, rest):
        scores = [(len(check_plan(observation, {r: c for r, c in rest.items() if r != rid})), rid) for rid in rest]
        fewest = min(n for n, _ in scores)
        rid = [r for n, r in scores if n == fewest][-1]
        out[rid] = rest.pop(rid).text
    return out


def removals(observation: Observation, plan: Mapping[RobotId, Command]) -> dict[RobotId, list[str]]:
    """What a rejected plan's retry may no longer choose: each blamed robot's rejected action (first), then its other
    actions that would clash with the rest of the plan (the robots not blamed keeping theirs). ``wait`` stays, so
    the rest of the plan with the blamed robots waiting is always left, and it is safe."""
    blamed = blame(observation, plan)
    rest = {r: c for r, c in plan.items() if r not in blamed}
    out: dict[RobotId, list[str]] = {}
    for rid, rejected in blamed.items():
        others = [
            c.text
            for c in observation.robots[rid].legal
            if c.text != rejected and check_plan(observation, {**rest, rid: c})
        ]
        out[rid] = [rejected, *others]
    return out
