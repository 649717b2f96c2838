"""The HAS manager: decomposes the mission into subtasks (regions to explore, objects to reach), forms groups from
positions, names leaders. Called on the events that change the plan only (start, subtask done, next target revealed,
a group emptied), never on a clock; robots lost or joined are repaired without a model (:func:`repair_groups`), and
a target seen only updates the platform (the planner decides, :mod:`.planner`).

:func:`heuristic_groups` is the oracle manager (no model). :class:`LLMManager` asks a model through the
:class:`~fleetmind.planners.llm.client.ChatClient` with a strict JSON schema, checks the reply against the platform
(:func:`check_reply`: unknown or offline robot, a robot in two groups or none, a leader outside its group, a region
outside the map, an object nobody has seen), re-prompts with the reasons (at most ``retries`` times) and falls back to
the heuristic when the model fails; nothing here raises on a bad reply.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import numpy as np
from fleetmind.planners.has._ask import CallStats, ask
from fleetmind.planners.has._kernels import hungarian
from fleetmind.planners.has.frontier import frontiers
from fleetmind.planners.has.goals import described_room, direction_box, goal_object, semantics_line
from fleetmind.planners.has.platform import Group, InfoPlatform
from pydantic import BaseModel, ConfigDict, Field, ValidationError

log = logging.getLogger(__name__)
Box = tuple[int, int, int, int]


class GroupReply(BaseModel):
    model_config = ConfigDict(extra="forbid")
    leader: str = Field(description="The member that deploys the others.")
    members: list[str] = Field(min_length=1, description="Robots of the group, leader included.")
    region: list[int] = Field(min_length=4, max_length=4, description="[top, left, bottom, right], inclusive.")
    goal_object: int | None = Field(description="Id of a seen object to reach, or null to explore the region.")


class ManagerReply(BaseModel):
    model_config = ConfigDict(extra="forbid")
    groups: list[GroupReply] = Field(min_length=1)


def reply_schema(robots: list[str], h: int, w: int) -> dict[str, Any]:
    """The strict JSON schema sent as ``response_format`` (robot names as enums)."""
    name = {"type": "string", "enum": robots}
    group = {
        "type": "object",
        "properties": {
            "leader": name,
            "members": {"type": "array", "items": name, "minItems": 1},
            "region": {"type": "array", "items": {"type": "integer"}, "minItems": 4, "maxItems": 4},
            "goal_object": {"anyOf": [{"type": "integer"}, {"type": "null"}]},
        },
        "required": ["leader", "members", "region", "goal_object"],
        "additionalProperties": False,
    }
    return {
        "title": "has_manager",
        "type": "object",
        "properties": {"groups": {"type": "array", "items": group, "minItems": 1}},
        "required": ["groups"],
        "additionalProperties": False,
    }


def check_reply(text: str, p: InfoPlatform) -> tuple[list[Group], list[str]]:
    """Parse and check a manager reply: ``(groups, [])`` or ``([], reasons)`` (one precise line each)."""
    try:
        reply = ManagerReply.model_validate(json.loads(text))
    except json.JSONDecodeError as exc:
        return [], [f"the reply is not JSON ({exc.msg} at character {exc.pos}); reply with one JSON object"]
    except ValidationError as exc:
        lines = [f"{'.'.join(map(str, e['loc'])) or 'reply'}: {e['msg']}" for e in exc.errors()[:5]]
        return [], lines
    online = [r for i, r in enumerate(p.names) if p.active[i]]
    errors: list[str] = []
    owner: dict[str, int] = {}
    for k, g in enumerate(reply.groups):
        for r in g.members:
            if r not in online:
                errors.append(f"group {k}: {r} is not an online robot (online: {', '.join(online)})")
            elif r in owner:
                errors.append(f"{r} is in groups {owner[r]} and {k}; put each robot in exactly one group")
            else:
                owner[r] = k
        if g.leader not in g.members:
            errors.append(f"group {k}: leader {g.leader} is not one of its members {g.members}")
        top, left, bottom, right = g.region
        if not (0 <= top <= bottom < p.h and 0 <= left <= right < p.w):
            errors.append(
                f"group {k}: region {g.region} lies outside the {p.h}x{p.w} map (need 0 <= top <= bottom <= "
                f"{p.h - 1} and 0 <= left <= right <= {p.w - 1})"
            )
        if g.goal_object is not None and g.goal_object not in p.objects:
            seen = ", ".join(str(i) for i in sorted(p.objects)) or "none yet"
            errors.append(f"group {k}: goal_object {g.goal_object} has not been seen (seen ids: {seen})")
    missing = [r for r in online if r not in owner]
    if missing:
        errors.append(f"robots without a group: {', '.join(missing)}; every online robot needs one")
    if errors:
        return [], errors
    groups = [
        Group(f"g{k}", g.leader, list(g.members), tuple(g.region), g.goal_object)  # type: ignore[arg-type]
        for k, g in enumerate(reply.groups)
    ]
    return groups, []


def zones(h: int, w: int, k: int = 4) -> list[Box]:
    """The map cut into ``k x k`` candidate regions."""
    rs = np.linspace(0, h, k + 1).astype(int)
    cs = np.linspace(0, w, k + 1).astype(int)
    return [(int(rs[i]), int(cs[j]), int(rs[i + 1] - 1), int(cs[j + 1] - 1)) for i in range(k) for j in range(k)]


def _overlap(a: Box, b: Box) -> bool:
    return not (a[2] < b[0] or b[2] < a[0] or a[3] < b[1] or b[3] < a[1])


def heuristic_groups(p: InfoPlatform, mission: str, goal: Mapping[str, Any], group_size: int = 4) -> list[Group]:
    """The oracle manager: regions ranked by what is left to explore there plus the goal's semantics (the described
    room type and compass direction, a seen goal object), spread out, one group per region; robots given to regions
    by min-cost assignment (distance to the region's centre), the member nearest the centre leads."""
    on = np.flatnonzero(p.active)
    if len(on) == 0:
        return []
    boxes = zones(p.h, p.w)
    f = frontiers(p.known, p.h, p.w)
    fr, fc = np.divmod(f.cells, p.w)
    inside = np.array([((fr >= b[0]) & (fr <= b[2]) & (fc >= b[1]) & (fc <= b[3])).sum() for b in boxes], dtype=float)
    unexplored = np.array([1.0 - p.explored(b) for b in boxes])
    score = unexplored + 0.5 * inside / max(1.0, inside.max())
    score[(inside == 0) & (unexplored < 0.4)] = -1e6  # seen and no frontier left there: done
    room, direction = described_room(goal.get("text", "")) if mission == "described_goal" else (None, None)
    dbox = direction_box(direction, p.h, p.w)
    for k, b in enumerate(boxes):
        if dbox is not None and _overlap(b, dbox):
            score[k] += 1.0
        if room and any(r.kind == room and _overlap(b, r.box) for r in p.regions.values()):
            score[k] += 1.5
    target = goal_object(p, mission, goal)
    goal_box = -1
    if target is not None:
        goal_box = next(
            k for k, b in enumerate(boxes) if b[0] <= target.cell[0] <= b[2] and b[1] <= target.cell[1] <= b[3]
        )
        score[goal_box] = score.max() + 10.0
    count = max(1, min(len(boxes), round(len(on) / group_size)))
    count = max(1, min(count, int((score > -1e5).sum())))
    chosen: list[int] = []
    centres = np.array([((b[0] + b[2]) / 2, (b[1] + b[3]) / 2) for b in boxes])
    span = max(p.h, p.w) / 4
    for _ in range(count):
        crowd = np.zeros(len(boxes))
        for c in chosen:
            crowd += np.exp(-np.abs(centres - centres[c]).sum(axis=1) / span)
        s = score - 0.3 * crowd
        s[chosen] = -np.inf
        chosen.append(int(np.argmax(s)))
    cap = -(-len(on) // len(chosen))
    cols = np.repeat(np.array(chosen), cap)
    d = np.abs(p.positions[on, None, :] - centres[None, cols, :]).sum(axis=2)
    pick = cols[hungarian(np.ascontiguousarray(d, dtype=np.float64))]
    groups = []
    for k, box_id in enumerate(chosen):
        members = on[pick == box_id]
        if len(members) == 0:
            continue
        lead = members[np.argmin(np.abs(p.positions[members] - centres[box_id]).sum(axis=1))]
        gid = target.id if target is not None and box_id == goal_box else None
        names = [p.names[i] for i in members]
        groups.append(Group(f"g{k}", p.names[lead], names, boxes[box_id], gid))
    return groups


SEARCH_MISSIONS = ("multi_search", "sequential", "described_goal")
SYSTEM = (
    "You are the manager of a robot team exploring an unknown grid map (HAS: hierarchical auto-organizing system). "
    "Split the online robots into groups; give each group a leader (one of its members), a region "
    "[top, left, bottom, right] (rows and columns, inclusive, inside the map) to explore, and a goal_object: the id "
    "of a seen object the group must reach, or null. Every online robot is in exactly one group. Reply with JSON only."
)


class LLMManager:
    """Asks the model on events (:func:`~fleetmind.planners.has._ask.ask`); the heuristic plans when it fails."""

    def __init__(self, client_factory: Any, retries: int = 2, key: str = "has") -> None:
        self.client_factory = client_factory
        self.client: Any = None
        self.retries = retries
        self.key = key
        self.stats = CallStats()
        self.ids = 0
        self.over_budget = 0

    @property
    def calls(self) -> list[dict[str, Any]]:
        return self.stats.calls

    def prompt(self, p: InfoPlatform, mission: str, goal: Mapping[str, Any], hint: list[Group]) -> str:
        suggestion = {"groups": [_jsonable(g) for g in hint]}
        state = {"role": "has_manager", "suggestion": suggestion}
        # the maps' published room-type table, for missions that look for objects: the common-sense prior that lets
        # a manager send groups towards the room types where the wanted kinds usually lie
        where = f"Where objects lie: {semantics_line()}\n" if mission in SEARCH_MISSIONS else ""
        return (
            f"Mission: {mission}; goal: {json.dumps(dict(goal))}\n{where}{p.summary()}\n"
            f"A coordinated-frontier heuristic suggests: {json.dumps(suggestion)}\n"
            f"```state\n{json.dumps(state)}\n```"
        )

    def plan(
        self, p: InfoPlatform, mission: str, goal: Mapping[str, Any], step: int, use_model: bool = True
    ) -> list[Group]:
        """The groups for this event; ``use_model=False`` (the planner's call budget is spent): the heuristic's,
        without a call (logged, counted as ``manager_over_budget``)."""
        hint = heuristic_groups(p, mission, goal)
        online = [r for i, r in enumerate(p.names) if p.active[i]]
        if not online:
            return []
        if not use_model:
            self.over_budget += 1
            log.info("has manager: the call budget is spent at step %d; the heuristic re-plans this event", step)
            self.ids, out = keep_identity(p, hint, self.ids)
            return out
        if self.client is None:
            self.client = self.client_factory()
        messages = [
            {"role": "system", "content": SYSTEM},
            {"role": "user", "content": self.prompt(p, mission, goal, hint)},
        ]
        groups = ask(
            self.client,
            messages,
            reply_schema(online, p.h, p.w),
            lambda text: check_reply(text, p),
            self.stats,
            f"{self.key}-{step}",
            step,
            self.retries,
        )
        self.ids, out = keep_identity(p, hint if groups is None else groups, self.ids)
        return out

    def metrics(self) -> dict[str, Any]:
        return {**self.stats.metrics("manager"), "manager_over_budget": self.over_budget}


def keep_identity(p: InfoPlatform, new: list[Group], ids: int) -> tuple[int, list[Group]]:
    """Groups keep their identity across re-organizations: a new group whose online members largely persist from one
    of the current groups (``p.groups``: at least half of the larger of the two, matched one to one, largest overlap
    first) takes that group's name, and its leader when the leader is still online and a member; every other group
    gets a fresh name (``g<ids>``, ``ids`` counting up, never reused). Order, members, regions and goals are the
    new ones. Returns ``(ids, groups)``."""
    index = {r: i for i, r in enumerate(p.names)}
    online = {r for r in index if p.active[index[r]]}
    old = list(p.groups.values())
    pairs = []
    for j, g in enumerate(new):
        for k, o in enumerate(old):
            common = len(set(g.members) & set(o.members) & online)
            need = max(len(set(g.members) & online), len(set(o.members) & online)) / 2
            if common and common >= need:
                pairs.append((-common, j, k))
    names: dict[int, Group] = {}
    used: set[int] = set()
    for _, j, k in sorted(pairs):
        if j not in names and k not in used:
            names[j] = old[k]
            used.add(k)
    taken = {int(o.name[1:]) for o in old if o.name[1:].isdigit()}
    ids = max([ids, *(t + 1 for t in taken)])
    out = []
    for j, g in enumerate(new):
        prev = names.get(j)
        if prev is None:
            out.append(replace(g, name=f"g{ids}"))
            ids += 1
            continue
        leader = prev.leader if prev.leader in g.members and prev.leader in online else g.leader
        out.append(replace(g, name=prev.name, leader=leader))
    return ids, out


def _distance_to(box: Box, cell: np.ndarray) -> float:
    """Manhattan distance from ``cell`` (row, col) to the nearest cell of ``box`` (0 inside)."""
    top, left, bottom, right = box
    r, c = int(cell[0]), int(cell[1])
    return float(max(top - r, 0, r - bottom) + max(left - c, 0, c - right))


def repair_groups(p: InfoPlatform) -> tuple[list[Group], list[str], list[str]]:
    """The manager's deterministic repair of ``p.groups`` after robots were lost or joined (no model): a lost robot
    leaves its group; a group whose leader was lost is led by its member nearest to the region's centre; a robot in
    no group joins the group whose region is nearest to it (ties: the smaller group). Names, regions and goals stay,
    so no subtask changes. Returns ``(groups, emptied group names, one note per change)``; with no group left the
    joined robots stay ungrouped (the caller asks the manager)."""
    index = {r: i for i, r in enumerate(p.names)}
    online = [r for r in p.names if p.active[index[r]]]
    groups: list[Group] = []
    emptied: list[str] = []
    notes: list[str] = []
    for g in p.groups.values():
        members = [r for r in g.members if r in online]
        for r in g.members:
            if r not in online:
                notes.append(f"{r} left {g.name}")
        if not members:
            emptied.append(g.name)
            notes.append(f"{g.name} emptied")
            continue
        leader = g.leader
        if leader not in members:
            centre = np.array([(g.region[0] + g.region[2]) / 2, (g.region[1] + g.region[3]) / 2])
            d = [np.abs(p.positions[index[r]] - centre).sum() for r in members]
            leader = members[int(np.argmin(d))]
            notes.append(f"{leader} leads {g.name} ({g.leader} lost)")
        groups.append(replace(g, leader=leader, members=members))
    grouped = {r for g in groups for r in g.members}
    for r in online:
        if r in grouped or not groups:
            continue
        cell = p.positions[index[r]]
        best = min(range(len(groups)), key=lambda k: (_distance_to(groups[k].region, cell), len(groups[k].members)))
        groups[best] = replace(groups[best], members=[*groups[best].members, r])
        notes.append(f"{r} joined {groups[best].name}")
    return groups, emptied, notes


def _jsonable(g: Group) -> dict[str, Any]:
    goal = None if g.goal is None else int(g.goal)
    return {"leader": g.leader, "members": list(g.members), "region": [int(x) for x in g.region], "goal_object": goal}


class HeuristicManager:
    """The manager without a model (``manager: heuristic``)."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []
        self.ids = 0

    def plan(
        self, p: InfoPlatform, mission: str, goal: Mapping[str, Any], step: int, use_model: bool = True
    ) -> list[Group]:
        self.ids, out = keep_identity(p, heuristic_groups(p, mission, goal), self.ids)
        return out

    def metrics(self) -> dict[str, Any]:
        return {"llm_calls": 0, "prompt_tokens": 0, "completion_tokens": 0, "llm_seconds": 0.0}
