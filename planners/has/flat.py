"""B5, the flat LLM planner (Co-NavGPT style): at every replanning one model call assigns every online robot a
frontier cluster (or ``stay``); no groups, no leaders. The prompt lists the largest clusters and every robot's
cell; the strict schema gives each robot an enum of cluster ids. A bad reply is refused with feedback (bounded
retries); when the model fails the min-cost assignment (B4) stands in. Members move by PIBT as everywhere here."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import numpy as np
from fleetmind.planners.has._ask import CallStats, ask
from fleetmind.planners.has.baselines import commands, move, nearest_robot, online_view
from fleetmind.planners.has.frontier import Frontiers, assign, cluster_costs, frontiers
from fleetmind.planners.has.goals import goal_object
from fleetmind.planners.has.motion import Motion
from fleetmind.planners.has.platform import InfoPlatform
from fleetmind.robots.commands import Command
from fleetmind.robots.fleet import Observation
from fleetmind.robots.ids import RobotId
from fleetmind.robots.planner import Planner

MAX_CLUSTERS = 16
SYSTEM = (
    "You are the central planner of a robot team exploring an unknown grid map. Give every robot one frontier "
    "cluster to go to (or stay), spreading the robots out and sending each to a cluster near it. Reply with JSON only."
)


def check_assignment(text: str, online: list[str], ids: list[str]) -> tuple[dict[str, str] | None, list[str]]:
    try:
        reply = json.loads(text)
    except json.JSONDecodeError as exc:
        return None, [f"the reply is not JSON ({exc.msg} at character {exc.pos}); reply with one JSON object"]
    if not isinstance(reply, dict):
        return None, ["the reply must be a JSON object mapping each robot to a cluster id"]
    errors = [f"{r} has no cluster; every online robot needs one" for r in online if r not in reply]
    errors += [f"{r} is not an online robot (online: {', '.join(online)})" for r in reply if r not in online]
    errors += [
        f"{r}: {v!r} is not a cluster id (choose one of {', '.join(ids)})"
        for r, v in reply.items()
        if r in online and v not in ids
    ]
    return (None, errors) if errors else ({r: str(v) for r, v in reply.items()}, [])


class FlatLLMPlanner(Planner):
    name = "has_flat"

    def __init__(self, client_factory: Any, replan_every: int = 10, retries: int = 2) -> None:
        self.client_factory = client_factory
        self.client: Any = None
        self.replan_every = replan_every
        self.retries = retries
        self.stats = CallStats()

    def reset(self, observation: Observation, seed: int) -> None:
        world = observation.world
        self.names = list(observation.robot_ids)
        self.p = InfoPlatform(tuple(world["shape"]), self.names, world.get("comm_range"))
        self.radius = int(world["radius"])
        self.motion = Motion(self.p.h, self.p.w, seed)
        self.goal = np.full(len(self.names), -1, dtype=np.int64)
        self.last = -(10**9)
        self.stats = CallStats()
        self.seed = seed

    def _replan(self, step: int) -> None:
        p = self.p
        f = frontiers(p.known, p.h, p.w)
        on = np.flatnonzero(p.active)
        self.goal[:] = -1
        if len(f.reps) == 0 or len(on) == 0:
            return
        top = np.argsort(-f.sizes, kind="stable")[:MAX_CLUSTERS]
        src = p.positions[on, 0] * p.w + p.positions[on, 1]
        sub_reps = f.reps[top]
        sub = Frontiers(sub_reps, np.arange(len(top)), sub_reps, f.sizes[top])
        hint = assign("hungarian", cluster_costs(p.known, p.h, p.w, src, sub), sub, p.w, self.radius)
        ids = [f"f{k}" for k in range(len(top))] + ["stay"]
        online = [self.names[i] for i in on]
        suggestion = {r: (f"f{c}" if c >= 0 else "stay") for r, c in zip(online, hint.tolist(), strict=True)}
        lines = [
            f"f{k}: {(int(c) // p.w, int(c) % p.w)} ({int(n)} cells)"
            for k, (c, n) in enumerate(zip(sub_reps.tolist(), sub.sizes.tolist(), strict=True))
        ]
        robots = [f"{self.names[i]} at {tuple(p.positions[i].tolist())}" for i in on]
        state = {"role": "has_flat", "suggestion": suggestion}
        user = (
            f"{p.summary(max_objects=6, max_events=3)}\nfrontier clusters (id: cell, size): {'; '.join(lines)}\n"
            f"robots: {'; '.join(robots)}\n```state\n{json.dumps(state)}\n```"
        )
        schema = {
            "title": "has_flat",
            "type": "object",
            "properties": {r: {"type": "string", "enum": ids} for r in online},
            "required": online,
            "additionalProperties": False,
        }
        if self.client is None:
            self.client = self.client_factory()
        messages = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}]
        picked = ask(
            self.client,
            messages,
            schema,
            lambda text: check_assignment(text, online, ids),
            self.stats,
            f"has_flat-{self.seed}-{step}",
            step,
            self.retries,
        )
        picked = picked or suggestion
        for i in on.tolist():
            choice = picked.get(self.names[i], "stay")
            self.goal[i] = int(sub_reps[int(choice[1:])]) if choice != "stay" else -1

    def plan(self, observation: Observation) -> dict[RobotId, Command]:
        p = self.p
        p.ingest(online_view(observation))
        step = observation.step
        on = np.flatnonzero(p.active)
        cells = p.positions[on, 0] * p.w + p.positions[on, 1]
        g = self.goal[on]
        arrived = ((g >= 0) & (g == cells)).any()
        if step - self.last >= self.replan_every or arrived or (g < 0).all():
            self._replan(step)
            self.last = step
        goal = self.goal.copy()
        target = goal_object(p, observation.world["mission"], observation.world["goal"])
        if target is not None:
            goal[nearest_robot(p, target.cell)] = target.cell[0] * p.w + target.cell[1]
        return commands(observation, self.names, move(self.motion, p, goal, step))

    def metrics(self) -> dict[str, Any]:
        return self.stats.metrics("flat")

    def call_log(self) -> list[dict[str, Any]]:
        return list(self.stats.calls)


def make_has_flat(task: str, options: Mapping[str, Any] | None = None) -> FlatLLMPlanner:
    options = options or {}
    factory = options.get("client_factory")
    if factory is None:
        raise ValueError("planner 'has_flat' needs options['client_factory'] (run it with --llm)")
    return FlatLLMPlanner(factory)
