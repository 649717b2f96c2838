"""HAS leaders driven by a model (``leader: llm``): a group's leader deploys only its own members to candidate
frontiers or goals inside its subtask.

The prompt names the group, its subtask (region, goal object), its members and their cells, and a short list of
candidates: the frontier clusters the coordinated-frontier heuristic would use there (its picks first), the group's
goal object, and ``stay``. The reply schema allows only those members as keys and those candidates as values; the
reply is checked again here (a model that ignores the schema and names a robot of another group, or an unknown
candidate, is refused with one line per fault, re-prompted at most ``retries`` times), and the heuristic deploys the
members when the model fails. A group's leader asks the model only when its group is new or its subtask (region, goal)
changed since its last call, never on a clock, and only when ``may_ask(step)`` allows (the planner's call budget;
until then the heuristic deploys and the leader asks at a later full deployment of the same subtask). ``asked``: group
name -> step and subtask of its last call, kept by the planner; the manager keeps a group's name and leader while its
members largely persist (:func:`~fleetmind.planners.has.manager.keep_identity`) and the repair of a lost or joined
robot keeps both; members that reach or lose their goal in between are refilled by the heuristic.

Over ROS 2 (``fleetmind up``) the leader thinks in its robot's agent: :class:`RemoteLeaders` publishes a
:class:`LeaderAsk` and waits (bounded, injectable clock) for the answer, which is checked here again, so no agent
deploys a robot outside its group; the agent renders the same prompt (:func:`leader_prompt`, :func:`ask_leader`).
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
from fleetmind.planners.has._ask import CallStats, ask
from fleetmind.planners.has.frontier import Frontiers
from fleetmind.planners.has.platform import Group, InfoPlatform
from fleetmind.robots.clock import MONOTONIC, Clock
from pydantic import BaseModel, ConfigDict, Field, ValidationError

log = logging.getLogger(__name__)
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


@dataclass(frozen=True)
class LeaderAsk:
    """Everything a leader's prompt says: what the planner sends a remote leader (the deploy request) and what
    :func:`leader_prompt` renders. ``members``: member -> (row, col); ``candidates``: id -> cell (-1: ``stay``);
    ``suggestion``: the heuristic's member -> candidate id; ``known``: share of the region known."""

    step: int
    group: str
    leader: str
    goal: int | None
    region: tuple[int, int, int, int]
    shape: tuple[int, int]
    known: float
    members: dict[str, tuple[int, int]]
    candidates: dict[str, int]
    suggestion: dict[str, str]

    def as_group(self) -> Group:
        return Group(self.group, self.leader, list(self.members), self.region, self.goal)


def leader_prompt(a: LeaderAsk) -> str:
    """The leader's user prompt (the in-process leader and a robot's agent render the same text)."""
    w = a.shape[1]
    goal = f"reach object #{a.goal}" if a.goal is not None else "explore the region"
    lines = [
        f"Step {a.step}. You ({a.leader}) lead group {a.group}: subtask {goal}; region {list(a.region)} of a "
        f"{a.shape[0]}x{w} map ({a.known:.0%} known).",
        "Members: " + ", ".join(f"{m} at {tuple(cell)}" for m, cell in a.members.items()),
        "Candidates: "
        + "; ".join(f"{cid} at {divmod(cell, w)}" if cell >= 0 else cid for cid, cell in a.candidates.items()),
    ]
    state = {"role": "has_leader", "group": a.group, "suggestion": {"assignments": a.suggestion}}
    lines.append(f"A coordinated-frontier heuristic suggests: {json.dumps({'assignments': a.suggestion})}")
    lines.append(f"```state\n{json.dumps(state)}\n```")
    return "\n".join(lines)


def ask_leader(client: Any, a: LeaderAsk, stats: CallStats, user: str, retries: int = 2) -> dict[str, str] | None:
    """One checked leader call (:func:`check_reply`, re-prompts with the reasons): member -> candidate id, or
    ``None`` when the model fails. A robot's agent answers deploy requests with it."""
    names = list(a.members)
    messages = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": leader_prompt(a)}]
    group = a.as_group()

    def check(text: str) -> tuple[dict[str, str] | None, list[str]]:
        chosen, errors = check_reply(text, group, names, a.candidates)
        return (None, errors) if errors else (dict(json.loads(text)["assignments"]), [])

    return ask(client, messages, reply_schema(names, list(a.candidates)), check, stats, user, a.step, retries)


@dataclass(frozen=True)
class LeaderAnswer:
    """A remote leader's answer: member -> candidate id (``None``: its model failed), and what its calls cost."""

    assignments: dict[str, str] | None
    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0


class RemoteLeaders:
    """The planner node's side of leaders that think in their robots' agents (``fleetmind up``): :meth:`deploy`
    publishes one request (``publish(request id, ask)``) and waits for the leader's answer at most ``timeout_s`` on
    ``clock``; ``None`` (the heuristic deploys) on timeout, when the leader robot is not live (``live()``) or drops
    while waiting, or on :meth:`close`. The answer is checked again by the caller (:func:`check_reply`), so no agent
    deploys a robot outside its group."""

    def __init__(
        self,
        publish: Callable[[int, LeaderAsk], None],
        live: Callable[[], Collection[str]],
        timeout_s: float,
        clock: Clock = MONOTONIC,
    ) -> None:
        from fleetmind.planners.llm.remote import Mailbox  # langgraph, only where leaders are remote

        self.publish = publish
        self.live = live
        self.timeout_s = timeout_s
        self.replies: Mailbox[int, LeaderAnswer] = Mailbox(clock)
        self.clock = clock
        self.closing = False
        self.count = 0
        self._lock = threading.Lock()

    def deploy(self, a: LeaderAsk) -> LeaderAnswer | None:
        from fleetmind.planners.llm.remote import Cancelled, ReplyTimeout

        if self.closing or a.leader not in self.live():
            return None
        with self._lock:
            self.count += 1
            rid = self.count
        self.replies.forget(lambda k: k >= rid)
        start = self.clock.now()  # the bound counts from the request
        self.publish(rid, a)
        left = max(0.0, self.timeout_s - (self.clock.now() - start))
        try:
            return self.replies.wait(rid, left, lambda: self.closing or a.leader not in self.live())
        except Cancelled:
            return None
        except ReplyTimeout:
            log.warning(
                "leader %s of group %s did not answer within leader_timeout_s=%g; the heuristic deploys the group",
                a.leader,
                a.group,
                self.timeout_s,
            )
            return None

    def deliver(self, request: int, answer: LeaderAnswer) -> None:
        """An answer from the topic (the first one for a request wins)."""
        self.replies.put(request, answer)

    def poke(self) -> None:
        self.replies.poke()

    def close(self) -> None:
        self.closing = True
        self.replies.poke()


Asked = dict[str, tuple[int, tuple[Any, ...]]]
"""Group name -> (step of its leader's last model call, the subtask it was about)."""


class LLMLeader:
    """A group's leader asking the model (through :func:`ask_leader`, or a robot's agent through ``remote``);
    ``heuristic`` (the coordinated-frontier :class:`~fleetmind.planners.has.group_leader.Leader`) makes the suggestion
    and stands in."""

    def __init__(
        self,
        heuristic: HeuristicLeader,
        client: Any,
        stats: CallStats,
        asked: Asked,
        retries: int = 2,
        key: str = "has",
        remote: RemoteLeaders | None = None,
        may_ask: Callable[[int], bool] | None = None,
    ) -> None:
        self.heuristic = heuristic
        self.group = heuristic.group
        self.client = client
        self.stats = stats
        self.retries = retries
        self.may_ask = may_ask
        self.key = key
        self.asked = asked
        self.remote = remote

    def describe(
        self, p: InfoPlatform, members: list[str], cands: Mapping[str, int], suggestion: dict[str, str], step: int
    ) -> LeaderAsk:
        g = self.group
        index = {r: i for i, r in enumerate(p.names)}
        cells = {m: (int(p.positions[index[m], 0]), int(p.positions[index[m], 1])) for m in members}
        goal = None if g.goal is None else int(g.goal)
        region = tuple(int(x) for x in g.region)
        known = float(p.explored(g.region))
        return LeaderAsk(step, g.name, g.leader, goal, region, (p.h, p.w), known, cells, dict(cands), suggestion)  # type: ignore[arg-type]

    def prompt(
        self, p: InfoPlatform, members: list[str], cands: Mapping[str, int], suggestion: dict[str, str], step: int
    ) -> str:
        return leader_prompt(self.describe(p, members, cands, suggestion, step))

    def wants_model(self, step: int, members: np.ndarray, online: int) -> bool:
        """The model deploys the whole group (``members``: all ``online`` ones) when the group is new or its subtask
        (region, goal) changed since its last call, and ``may_ask(step)`` allows; a refill of some members, or the
        same subtask however long ago, is the heuristic's."""
        if len(members) < online:
            return False
        last = self.asked.get(self.group.name)
        if last is not None and last[1] == self.subtask:
            return False
        return self.may_ask is None or self.may_ask(step)

    @property
    def subtask(self) -> tuple[Any, ...]:
        return (tuple(self.group.region), self.group.goal)

    def assign(
        self, p: InfoPlatform, f: Frontiers, members: np.ndarray, taken: list[int] | None = None, step: int = 0
    ) -> dict[int, int]:
        """Goal cell per member index, as :meth:`Leader.assign`; never a robot outside the group."""
        hint = self.heuristic.assign(p, f, members, taken)
        index = {r: i for i, r in enumerate(p.names)}
        online = sum(1 for r in self.group.members if p.active[index[r]])
        if len(members) == 0 or not self.wants_model(step, members, online):
            return hint
        self.asked[self.group.name] = (step, self.subtask)
        names = [p.names[i] for i in members.tolist()]
        cands = candidates(p, f, self.group, list(hint.values()))
        by_cell = {cell: cid for cid, cell in cands.items()}
        suggestion = {p.names[i]: by_cell.get(hint.get(i, -1), STAY) for i in members.tolist()}
        a = self.describe(p, names, cands, suggestion, step)
        chosen = self._remote(a, names) if self.remote is not None else None
        if self.remote is None:
            picked = ask_leader(self.client, a, self.stats, f"{self.key}-{self.group.name}-{step}", self.retries)
            chosen = None if picked is None else {r: cands[c] for r, c in picked.items() if cands[c] >= 0}
        if chosen is None:
            return hint
        return {index[r]: cell for r, cell in chosen.items()}

    def _remote(self, a: LeaderAsk, names: list[str]) -> dict[str, int] | None:
        """The leader robot's agent deploys; its answer is checked here (members of this group, known candidates)."""
        assert self.remote is not None
        answer = self.remote.deploy(a)
        if answer is None or answer.assignments is None:
            self.stats.fallbacks += 1
            return None
        text = json.dumps({"assignments": answer.assignments})
        chosen, errors = check_reply(text, self.group, names, a.candidates)
        self.stats.calls.append(
            {
                "step": a.step,
                "attempt": 0,
                "messages": [],
                "reply": text,
                "prompt_tokens": answer.prompt_tokens,
                "completion_tokens": answer.completion_tokens,
                "latency_s": None,
                "refused": errors,
                "remote": a.leader,
                "model_calls": answer.calls,
            }
        )
        if errors:
            log.warning("leader %s of group %s: answer refused (%s); the heuristic deploys", a.leader, a.group, errors)
            self.stats.refused += 1
            self.stats.fallbacks += 1
            return None
        return chosen
