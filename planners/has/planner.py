"""The ``has`` planner: centralized planning, decentralized execution (HAS, Zhao et al. 2024, for robots).

Every step the platform ingests the observation. The manager (:mod:`.manager`) re-organizes the groups on the events
that change the plan only (:data:`MODEL_EVENTS`): the start, a group's subtask done (its region has no frontier left),
the next target revealed (M3), a group emptied; never on a clock. Events that need no model are handled without one
and logged: a robot lost or joined is a deterministic repair (:func:`.manager.repair_groups`: the lost leave, a lost
leader's nearest member leads, a joined robot goes to the nearest group), and a wanted object seen only updates the
platform (the nearest robot goes to a goal object whatever the groups). The manager is asked at most once per
``coalesce`` steps: an event within that many steps of its last call waits for the end of that window, together with
every other event of the window, so each waits at most ``coalesce`` steps (the start and a fleet with no group left
at once; the repair keeps every robot in a group meanwhile). Each group's leader (:class:`.group_leader.Leader`,
the coordinated-frontier heuristic) deploys only its own members: to the group's goal object when it has one, else
to frontier clusters in its region (Burgard-style utility, so members spread), every
``replan_every`` steps or when a member arrives. Members move with PIBT on the known map (:mod:`.motion`); the shield
is always on (:func:`.baselines.commands` settles moves against sensed walls and each other).

Leaders per configuration (``leader``): ``heuristic`` (:class:`Leader`) or ``llm`` (:class:`.leaders.LLMLeader`: the
model deploys the group's members among candidates inside its subtask, checked, with the heuristic standing in; it
asks only when its group is new or its subtask changed, and after the start only while the hierarchy's calls so far
stay within ``call_budget`` calls per group per 50 steps, else the heuristic deploys until the budget allows; the
manager's calls after the start keep to the same budget, the heuristic re-planning an event that comes when it is
spent; ``call_budget=None``: no budget);
planner ``has_llm_leaders`` is ``has`` with ``leader: llm``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from fleetmind.planners.has._ask import CallStats
from fleetmind.planners.has.baselines import commands, move, nearest_robot, online_view
from fleetmind.planners.has.frontier import Frontiers, frontiers
from fleetmind.planners.has.goals import cluster_prior, goal_object, wanted
from fleetmind.planners.has.group_leader import Leader
from fleetmind.planners.has.leaders import Asked, LLMLeader, RemoteLeaders
from fleetmind.planners.has.manager import HeuristicManager, LLMManager, repair_groups
from fleetmind.planners.has.motion import Motion
from fleetmind.planners.has.platform import InfoPlatform
from fleetmind.robots.commands import Command
from fleetmind.robots.fleet import Observation
from fleetmind.robots.ids import RobotId
from fleetmind.robots.planner import Planner

FOCUS = {"described_goal": 2.0}  # words only: a patch goal names no room or direction
"""How much more a leader values frontiers inside its group's region, per mission (others: 0, plain coordinated
frontiers across groups). Where the manager chose regions for their semantics (the described room and direction) the
groups stay in them."""


BETA_NEAR = 12.0
"""Distance weight of a leader's Burgard assignment (``U - beta * V``, ``V`` the path cost scaled to [0, 1]): members
take the near frontiers first and leave the far ones to the members near them (M1 T90 at 16 robots on rooms 128x128,
seeds 0-3: 482 at beta 1, 463 at 3, 462 at 6, 449 at 12)."""
MODEL_EVENTS = ("start", "subtask done", "next target revealed", "group emptied")
"""Events that change the plan: the manager (the model with ``--llm``) re-organizes. Every other event ("robot lost or
joined": the repair; "target seen": the platform) is handled without a model."""
COALESCE_STEPS = 5
"""At most one manager call per this many steps: events within the window after a call wait for its end and are
answered by one call (each waits at most this long). An isolated event is answered at once (a 5-step wait after every
event cost has_explore 143 -> 194 steps)."""

BETA = {"described_goal": 1.0}
"""Where the goal's words give the frontiers a semantic utility (:func:`.goals.cluster_prior`), distance weighs as in
B3, so a member crosses the map to the described room and direction."""


class HasPlanner(Planner):
    name = "has"

    def __init__(
        self,
        client_factory: Any = None,
        replan_every: int = 10,
        retries: int = 2,
        leader: str = "heuristic",
        coalesce: int = COALESCE_STEPS,
        call_budget: float | None = 1.0,
    ) -> None:
        if leader not in ("heuristic", "llm"):
            raise ValueError(f"leader: {leader!r} is not a leader kind; use heuristic or llm")
        if coalesce < 0:
            raise ValueError(f"coalesce: {coalesce} steps is negative; use 0 (no delay) or more")
        if call_budget is not None and call_budget <= 0:
            raise ValueError(f"call_budget: {call_budget} is not positive; use calls per group per 50 steps or None")
        self.coalesce = coalesce
        self.call_budget = call_budget
        self.client_factory = client_factory
        self.replan_every = replan_every
        self.retries = retries
        self.leader_kind = leader
        self._client: Any = None
        self.leader_stats = CallStats()
        self.manager: LLMManager | HeuristicManager = HeuristicManager()
        self.p: InfoPlatform | None = None
        self.names: list[str] = []
        self.remote_leaders: RemoteLeaders | None = None  # fleetmind up: leaders think in their robots' agents
        self.offline: frozenset[str] = frozenset()  # fleetmind up: robots the planner node dropped (lost to HAS)

    def reset(self, observation: Observation, seed: int) -> None:
        world = observation.world
        self.names = list(observation.robot_ids)
        self.p = InfoPlatform(tuple(world["shape"]), self.names, world.get("comm_range"))
        self.radius = int(world["radius"])
        self.leader_stats = CallStats()
        self.leader_asked: Asked = {}
        self.seed = seed
        if self.client_factory is not None:
            self.manager = LLMManager(self.client, self.retries, key=f"has-{seed}")
        else:
            self.manager = HeuristicManager()
        self.motion = Motion(self.p.h, self.p.w, seed)
        self.goal = np.full(len(self.names), -1, dtype=np.int64)
        self.leaders: dict[str, Leader | LLMLeader] = {}
        self.last_assign: dict[str, int] = {}
        self.seen_wanted: set[int] = set()
        self.last_goal: Any = None
        self.online: tuple[bool, ...] = ()
        self.reorganizations = 0
        self.reasons: dict[str, int] = {}
        self.ungrouped_steps = 0
        self.max_ungrouped = 0
        self.group_counts: list[int] = []  # groups at every step (the mean is per step)
        self.pending: list[str] = []  # plan-changing events waiting for the manager
        self.last_plan = -(10**9)  # step of the manager's last plan
        self.start_step = -1
        self.repairs = 0
        self.coalesced = 0
        self.born_done: set[str] = set()  # groups whose region was done when they got it: no "subtask done" again

    # ------------------------------------------------------------------ events
    def _events(self, obs: Observation) -> list[str]:
        assert self.p is not None
        world = obs.world
        reasons = []
        if not self.leaders:
            reasons.append("start")
        online = tuple(bool(a) for a in world["active"])
        if self.online and online != self.online:
            reasons.append("robot lost or joined")
        self.online = online
        if world["goal"] != self.last_goal:
            if self.last_goal is not None:
                reasons.append("next target revealed")
            self.last_goal = world["goal"]
        for triple in wanted(world["mission"], world["goal"]):
            for rec in self.p.query(size=triple[0], colour=triple[1], kind=triple[2]):
                if rec.id not in self.seen_wanted:
                    self.seen_wanted.add(rec.id)
                    reasons.append("target seen")
        return reasons

    def _done_groups(self, f: Frontiers) -> set[str]:
        """Groups exploring a region with no frontier left and at least 60% known."""
        assert self.p is not None
        rr, rc = np.divmod(f.reps, self.p.w)
        out = set()
        for name, leader in self.leaders.items():
            g = leader.group
            if g.goal is not None:
                continue
            top, left, bottom, right = g.region
            if (
                not ((rr >= top) & (rr <= bottom) & (rc >= left) & (rc <= right)).any()
                and self.p.explored(g.region) >= 0.6
            ):
                out.add(name)
        return out

    def _subtask_done(self, f: Frontiers) -> bool:
        return bool(self._done_groups(f) - self.born_done)

    def _handle(self, reasons: list[str], f: Frontiers, step: int) -> None:
        """Repair what needs no model now; queue the plan-changing events and ask the manager once for all of them:
        at once when its last call is ``coalesce`` steps back (or at the start, or with no group left), else when
        that window ends."""
        assert self.p is not None
        for r in reasons:
            self.reasons[r] = self.reasons.get(r, 0) + 1
        model = [r for r in reasons if r in MODEL_EVENTS]
        if "robot lost or joined" in reasons and self.leaders:
            model += self._repair(step)
        if "target seen" in reasons:
            self.p.log("target seen: on the platform, no re-organization")
        if self.leaders and "subtask done" not in self.pending and self._subtask_done(f):
            model.append("subtask done")
            self.reasons["subtask done"] = self.reasons.get("subtask done", 0) + 1
        if model and not self.pending:
            self.pending_since = step
        self.pending += [r for r in model if r not in self.pending]
        if not self.pending:
            return
        if "start" in self.pending or not self.leaders or step - self.last_plan >= self.coalesce:
            if len(self.pending) > 1 or step > self.pending_since:
                self.coalesced += 1
                self.p.log(f"coalesced ({', '.join(self.pending)}) since step {self.pending_since}: one call")
            self._reorganize(self.world, step, self.pending, f)
            self.pending = []

    def _repair(self, step: int) -> list[str]:
        """The deterministic repair (:func:`.manager.repair_groups`); ``["group emptied"]`` when one was."""
        assert self.p is not None
        groups, emptied, notes = repair_groups(self.p)
        self.p.groups = {g.name: g for g in groups}
        for g in groups:
            self.leaders[g.name].group = g
            inner = getattr(self.leaders[g.name], "heuristic", None)
            if inner is not None:
                inner.group = g
        for name in emptied:
            self.leaders.pop(name, None)
            self.last_assign.pop(name, None)
        self.repairs += 1
        self.p.log(f"repaired without the model (robot lost or joined): {'; '.join(notes) or 'no change'}")
        return ["group emptied"] if emptied else []

    # ------------------------------------------------------------------ plan
    def plan(self, observation: Observation) -> dict[RobotId, Command]:
        if self.p is None:
            self.reset(observation, 0)
        p = self.p
        assert p is not None
        seen = online_view(observation, self.offline)  # lost links (real robots) and dropped nodes: lost to HAS too
        p.ingest(seen)
        world = seen.world
        self.world = world
        step = observation.step
        f = frontiers(p.known, p.h, p.w)
        self._handle(self._events(seen), f, step)
        self.group_counts.append(len(self.leaders))
        grouped = {r for lead in self.leaders.values() for r in lead.group.members}
        missing = [r for i, r in enumerate(self.names) if p.active[i] and r not in grouped]
        self.ungrouped_steps = self.ungrouped_steps + 1 if missing else 0
        self.max_ungrouped = max(self.max_ungrouped, self.ungrouped_steps)
        index = {r: i for i, r in enumerate(self.names)}
        frontier = np.zeros(p.h * p.w, dtype=bool)
        frontier[f.cells] = True
        goals_of_groups = {
            p.objects[lead.group.goal].cell[0] * p.w + p.objects[lead.group.goal].cell[1]
            for lead in self.leaders.values()
            if lead.group.goal in p.objects
        }
        for name, leader in self.leaders.items():
            members = np.array([index[r] for r in leader.group.members if p.active[index[r]]], dtype=np.int64)
            if len(members) == 0:
                continue
            cells = p.positions[members, 0] * p.w + p.positions[members, 1]
            g = self.goal[members]
            gone = ~frontier[np.maximum(g, 0)] & ~np.isin(g, list(goals_of_groups))
            stale = (g < 0) | (g == cells) | gone
            if step - self.last_assign.get(name, -(10**9)) >= self.replan_every:
                self.last_assign[name] = step
            elif stale.any():  # only the members whose goal was reached or explored; the others keep theirs
                members = members[stale]
            else:
                continue
            self.goal[members] = -1
            taken = [int(c) for c in self.goal[self.goal >= 0]]
            for i, cell in leader.assign(p, f, members, taken, step).items():
                self.goal[i] = cell
        target = goal_object(p, world["mission"], world["goal"])
        if target is not None:  # whoever is nearest goes, whatever the groups (the manager hears of it as an event)
            self.goal[nearest_robot(p, target.cell)] = target.cell[0] * p.w + target.cell[1]
        return commands(observation, self.names, move(self.motion, p, self.goal, step))

    def _reorganize(self, world: Mapping[str, Any], step: int, reasons: list[str], f: Frontiers) -> None:
        assert self.p is not None
        if "start" in reasons:
            self.start_step = step
        self.last_plan = step
        use_model = "start" in reasons or not self.leaders or self._may_ask(step)
        if not use_model:
            self.p.log(f"over the call budget at step {step}: the heuristic re-plans ({', '.join(reasons)})")
        groups = self.manager.plan(self.p, world["mission"], world["goal"], step, use_model)
        self.p.groups = {g.name: g for g in groups}
        focus = FOCUS.get(str(world["mission"]), 0.0) if "text" in world["goal"] or not world["goal"] else 0.0
        beta = BETA.get(str(world["mission"]), BETA_NEAR) if "text" in world["goal"] else BETA_NEAR
        self.leaders = {g.name: self._leader(Leader(g, self.radius, focus, self._prior, beta), step) for g in groups}
        self.last_assign = {}
        self.reorganizations += 1
        self.born_done = self._done_groups(f)
        self.p.log(f"re-organized ({', '.join(reasons)}): {len(groups)} groups")

    def _prior(self, p: InfoPlatform, f: Frontiers) -> np.ndarray | None:
        """The mission's semantic utility of each frontier cluster now (:func:`.goals.cluster_prior`)."""
        w = self.world
        return cluster_prior(p, str(w["mission"]), w["goal"], w.get("found", ()), f.reps)

    def client(self) -> Any:
        """The one chat client of the manager and the leaders (made on first use)."""
        if self._client is None:
            self._client = self.client_factory()
        return self._client

    def _leader(self, heuristic: Leader, step: int) -> Leader | LLMLeader:
        if self.leader_kind != "llm" or self.client_factory is None:
            return heuristic
        return LLMLeader(
            heuristic,
            self.client(),
            self.leader_stats,
            self.leader_asked,
            self.retries,
            key=f"has-{self.seed}",
            remote=self.remote_leaders,
            may_ask=self._may_ask,
        )

    def _may_ask(self, step: int) -> bool:
        """Whether the manager or a leader may ask the model now: at the start, or while every call so far (manager
        and leaders, re-prompts included) plus this one stays within ``call_budget`` per group per 50 steps (else
        the heuristic plans that event or deploys that group, logged)."""
        if self.call_budget is None or step == self.start_step:
            return True
        calls = len(getattr(self.manager, "calls", [])) + len(self.leader_stats.calls)
        return calls + 1 <= self.call_budget * len(self.leaders) * step / 50

    def metrics(self) -> dict[str, Any]:
        out = dict(self.manager.metrics())
        if self.leader_kind == "llm":
            lead = self.leader_stats.metrics("leader")
            for k in ("llm_calls", "prompt_tokens", "completion_tokens", "llm_seconds"):
                out[k] = out.get(k, 0) + lead[k]
            out["llm_seconds"] = round(out["llm_seconds"], 3)
            out["leader_calls"] = lead["llm_calls"]
            out["leader_refused"], out["leader_fallbacks"] = lead["leader_refused"], lead["leader_fallbacks"]
        out["reorganizations"] = getattr(self, "reorganizations", 0)
        out["groups_mean"] = round(float(np.mean(self.group_counts)), 2) if getattr(self, "group_counts", []) else 0
        out["max_ungrouped_steps"] = getattr(self, "max_ungrouped", 0)
        out["repairs"] = getattr(self, "repairs", 0)
        out["coalesced_reorganizations"] = getattr(self, "coalesced", 0)
        return out

    def call_log(self) -> list[dict[str, Any]]:
        return list(getattr(self.manager, "calls", [])) + list(self.leader_stats.calls)


def make_has(task: str, options: Mapping[str, Any] | None = None) -> HasPlanner:
    """``options["client_factory"]`` (the app passes one for ``--llm``): the LLM manager; without: the heuristic."""
    options = options or {}
    return HasPlanner(options.get("client_factory"))


def make_has_llm_leaders(task: str, options: Mapping[str, Any] | None = None) -> HasPlanner:
    """``has`` with ``leader: llm``: the manager and every group's leader ask the model (heuristic leaders when no
    client factory is given)."""
    options = options or {}
    return HasPlanner(options.get("client_factory"), leader="llm")
