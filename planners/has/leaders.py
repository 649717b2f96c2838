"""HAS leaders driven by a model (``leader: llm``): a group's leader deploys only its own members to candidate
frontiers or goals inside its subtask.

The prompt names the group, its subtask (region, goal object), its members and their cells, and a short list of
candidates: the frontier clusters the coordinated-frontier heuristic would use there (its picks first), the group's
goal object, and ``stay``. The reply schema allows only those members as keys and those candidates as values; the
reply is checked again here (a model that ignores the schema and names a robot of another group, or an unknown
candidate, is refused with one line per fault, re-prompted at most ``retries`` times), and the heuristic deploys the
members when the model fails. A leader robot asks the model at most every ``ask_every`` steps (when it deploys the
whole group), counted across re-organizations (``asked``: leader robot -> step of its last call, kept by the
planner), so a robot that leads again after the manager re-forms the groups waits its turn; members that reach or
lose their goal in between are refilled by the heuristic.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Protocol

import numpy as np
from fleetmind.planners.has._ask import CallStats, ask
from fleetmind.planners.has.frontier import Frontiers
from fleetmind.planners.has.platform import Group, InfoPlatform
from pydantic import BaseModel, ConfigDict, Field, ValidationError

STAY = "stay"
SYSTEM = (
    "You are the leader of one group of robots exploring an unknown grid map (HAS: hierarchical auto-organizing "
    "system). Give each member of YOUR group one candidate: a frontier cluster or goal to go to, or 'stay'. Spread "
    "members over different candidates, prefer near ones, keep to your region. Assign only your own members. Reply "
    'with JSON only: {"assignments": {"<member>": "<candidate id>", ...}}.'
)


class HeuristicLeader(Protocol):
    group: Group

    def assign(
        self, p: InfoPlatform, f: Frontiers, members: np.ndarray, taken: list[int] | None = None
    ) -> dict[int, int]: ...


class LeaderReply(BaseModel):
    model_config = ConfigDict(extra="forbid")
    assignments: dict[str, str] = Field(description="Member name -> candidate id (or 'stay').")


def candidates(p: InfoPlatform, f: Frontiers, group: Group, picks: list[int], k: int = 8) -> dict[str, int]:
    """Candidate id -> cell: the group's goal object (``goal``), the heuristic's picks, then the largest frontier
    clusters inside the group's region and the ones nearest to it, ``k`` frontiers at most; ``stay`` is -1."""
    out: dict[str, int] = {}
    if group.goal is not None and group.goal in p.objects:
        r, c = p.objects[group.goal].cell
        out["goal"] = r * p.w + c
    cells = list(dict.fromkeys(picks))
    if len(f.reps):
        top, left, bottom, right = group.region
        rr, rc = np.divmod(f.reps, p.w)
        inside = (rr >= top) & (rr <= bottom) & (rc >= left) & (rc <= right)
        away = np.abs(rr - (top + bottom) / 2) + np.abs(rc - (left + right) / 2)
        order = np.lexsort((away, -f.sizes, ~inside))  # inside first, larger first, nearer first
        cells += [int(x) for x in f.reps[order]]
    frontier_cells = [c for c in dict.fromkeys(cells) if c not in out.values()][:k]
    out.update({f"f{i}": cell for i, cell in enumerate(frontier_cells)})
    out[STAY] = -1
    return out


def reply_schema(members: list[str], ids: list[str]) -> dict[str, Any]:
    """The strict JSON schema of a leader reply: keys its members only, values its candidates only."""
    choice = {"type": "string", "enum": ids}
    return {
        "title": "has_leader",
        "type": "object",
        "properties": {
            "assignments": {
                "type": "object",
                "properties": {m: choice for m in members},
                "required": list(members),
                "additionalProperties": False,
            }
        },
        "required": ["assignments"],
        "additionalProperties": False,
    }


def check_reply(
    text: str, group: Group, members: list[str], cands: Mapping[str, int]
) -> tuple[dict[str, int], list[str]]:
    """Parse and check a leader reply: ``({member: cell}, [])`` (``stay`` left out) or ``({}, reasons)``."""
    try:
        reply = LeaderReply.model_validate(json.loads(text))
    except json.JSONDecodeError as exc:
        return {}, [f"the reply is not JSON ({exc.msg} at character {exc.pos}); reply with one JSON object"]
    except ValidationError as exc:
        return {}, [f"{'.'.join(map(str, e['loc'])) or 'reply'}: {e['msg']}" for e in exc.errors()[:5]]
    errors: list[str] = []
    for robot, cid in reply.assignments.items():
        if robot not in members:
            errors.append(
                f"{robot} is not a member of group {group.name} (members: {', '.join(members)}); assign only your "
                "own members"
            )
        elif cid not in cands:
            errors.append(f"{robot}: unknown candidate {cid!r} (choose one of {', '.join(cands)})")
    missing = [m for m in members if m not in reply.assignments]
    if missing:
        errors.append(f"no candidate for {', '.join(missing)}; give every member one (or 'stay')")
    if errors:
        return {}, errors
    return {r: cands[c] for r, c in reply.assignments.items() if cands[c] >= 0}, []


class LLMLeader:
    """A group's leader asking the model (through :func:`~fleetmind.planners.has._ask.ask`); ``heuristic`` (the
    coordinated-frontier :class:`~fleetmind.planners.has.planner.Leader`) makes the suggestion and stands in."""

    def __init__(
        self,
        heuristic: HeuristicLeader,
        client: Any,
        stats: CallStats,
        asked: dict[str, int],
        retries: int = 2,
        ask_every: int = 50,
        key: str = "has",
    ) -> None:
        self.heuristic = heuristic
        self.group = heuristic.group
        self.client = client
        self.stats = stats
        self.retries = retries
        self.ask_every = ask_every
        self.key = key
        self.asked = asked

    def prompt(
        self, p: InfoPlatform, members: list[str], cands: Mapping[str, int], suggestion: dict[str, str], step: int
    ) -> str:
        g = self.group
        index = {r: i for i, r in enumerate(p.names)}
        goal = f"reach object #{g.goal}" if g.goal is not None else "explore the region"
        lines = [
            f"Step {step}. You ({g.leader}) lead group {g.name}: subtask {goal}; region {list(g.region)} of a "
            f"{p.h}x{p.w} map ({p.explored(g.region):.0%} known).",
            "Members: " + ", ".join(f"{m} at {tuple(p.positions[index[m]].tolist())}" for m in members),
            "Candidates: "
            + "; ".join(f"{cid} at {divmod(cell, p.w)}" if cell >= 0 else cid for cid, cell in cands.items()),
        ]
        state = {"role": "has_leader", "group": g.name, "suggestion": {"assignments": suggestion}}
        lines.append(f"A coordinated-frontier heuristic suggests: {json.dumps({'assignments': suggestion})}")
        lines.append(f"```state\n{json.dumps(state)}\n```")
        return "\n".join(lines)

    def wants_model(self, step: int, members: np.ndarray, online: int) -> bool:
        """The model deploys the whole group, at most every ``ask_every`` steps per leader robot."""
        if len(members) < online:
            return False
        last = self.asked.get(self.group.leader)
        return last is None or step - last >= self.ask_every

    def assign(
        self, p: InfoPlatform, f: Frontiers, members: np.ndarray, taken: list[int] | None = None, step: int = 0
    ) -> dict[int, int]:
        """Goal cell per member index, as :meth:`Leader.assign`; never a robot outside the group."""
        hint = self.heuristic.assign(p, f, members, taken)
        index = {r: i for i, r in enumerate(p.names)}
        online = sum(1 for r in self.group.members if p.active[index[r]])
        if len(members) == 0 or not self.wants_model(step, members, online):
            return hint
        self.asked[self.group.leader] = step
        names = [p.names[i] for i in members.tolist()]
        cands = candidates(p, f, self.group, list(hint.values()))
        by_cell = {cell: cid for cid, cell in cands.items()}
        suggestion = {p.names[i]: by_cell.get(hint.get(i, -1), STAY) for i in members.tolist()}
        messages = [
            {"role": "system", "content": SYSTEM},
            {"role": "user", "content": self.prompt(p, names, cands, suggestion, step)},
        ]
        chosen = ask(
            self.client,
            messages,
            reply_schema(names, list(cands)),
            lambda text: check_reply(text, self.group, names, cands),
            self.stats,
            f"{self.key}-{self.group.name}-{step}",
            step,
            self.retries,
        )
        if chosen is None:
            return hint
        return {index[r]: cell for r, cell in chosen.items()}
