"""B1-B4: frontier exploration baselines on the shared map, members moved by PIBT (:mod:`.motion`).

:class:`FrontierCore` is the array loop (benchmarks drive it with the world's arrays); :class:`FrontierPlanner`
wraps it as a :class:`~fleetmind.robots.planner.Planner` over :class:`~fleetmind.sim.explore.ExploreFleet`
observations. Goals are re-assigned every ``replan_every`` steps and whenever a robot reached its goal or its goal is
no longer a frontier. In M3/M4, once the platform has seen the object the mission asks for, the nearest robot goes
to it (recognition, not semantics-guided search).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import numpy as np
from fleetmind.planners.has._assign_kernels import goals_alone
from fleetmind.planners.has.frontier import (
    METHODS,
    ReachScratch,
    assign,
    cluster_costs,
    frontiers,
    seen_share,
    slack_for,
)
from fleetmind.planners.has.goals import goal_object
from fleetmind.planners.has.motion import Motion
from fleetmind.planners.has.platform import InfoPlatform
from fleetmind.robots.commands import Command
from fleetmind.robots.fleet import Observation
from fleetmind.robots.ids import RobotId
from fleetmind.robots.planner import Planner
from fleetmind.tasks.has.shield import effective_actions
from fleetmind.tasks.mapf_lifelong.actions import command_of
from fleetmind.tasks.mapf_lifelong.shield import settle

NAMES = {"nearest": "B1", "explore_lite": "B2", "utility": "B3", "hungarian": "B4"}
# the methods that plan each robot alone: (a, b) of the cost a * near - b * size (frontier.assign) and the search's
# slack beyond the nearest cluster, largest size // div + add (frontier.slack_for)
ALONE = {"nearest": (1.0, 1e-3, 1000, 0), "explore_lite": (3.0, 1.0, 3, 1)}


class FrontierCore:
    def __init__(self, method: str, platform: InfoPlatform, radius: int, seed: int = 0, replan_every: int = 10):
        if method not in METHODS:
            raise ValueError(f"unknown frontier method {method!r}; choose one of {', '.join(METHODS)}")
        self.method = method
        self.p = platform
        self.radius = radius
        self.replan_every = replan_every
        self.motion = Motion(platform.h, platform.w, seed)
        self.goal = np.full(len(platform.names), -1, dtype=np.int64)
        self.last = -(10**9)
        self.scratch: ReachScratch | None = ReachScratch(platform.h, platform.w)  # None: fresh buffers per call

    def assign_goals(
        self, step: int, robots: np.ndarray, taken: np.ndarray | None = None, cells: np.ndarray | None = None
    ) -> None:
        """New frontier goals for ``robots`` (indices), each on its own map; ``taken``: goal cells other robots keep
        (B3 discounts the utility around them, B4 avoids their clusters; B1/B2 plan each robot alone anyway);
        ``cells``: the frontier cells of the shared map when the caller has them (one map for everyone)."""
        p, w = self.p, self.p.w
        self.goal[robots] = -1
        if p.comm_range is None:
            batches = [robots]
        else:  # robots whose maps are equal plan together
            keys: dict[bytes, list[int]] = {}
            for i in robots.tolist():
                keys.setdefault(p.map_of(i).tobytes(), []).append(i)
            batches = [np.array(v, dtype=np.int64) for v in keys.values()]
        for batch in batches:
            known = p.map_of(int(batch[0]))
            f = frontiers(known, p.h, w, cells if p.comm_range is None else None, self.scratch)
            if len(f.reps) == 0:
                continue
            utility = None
            if taken is not None and len(taken) and self.method in ("utility", "hungarian"):  # B1/B2 ignore it
                rr, rc = np.divmod(f.reps, w)
                tr, tc = np.divmod(taken, w)
                d = np.hypot(rr[:, None] - tr[None, :], rc[:, None] - tc[None, :])
                utility = 1.0 - seen_share(d, self.radius).sum(axis=1)
            src = p.positions[batch, 0] * w + p.positions[batch, 1]
            costs = cluster_costs(known, p.h, w, src, f, slack_for(self.method, f), self.scratch)
            choice = assign(self.method, costs, f, w, self.radius, utility=utility)
            self.goal[batch] = np.where(choice >= 0, f.reps[np.maximum(choice, 0)], -1)

    def goals(self, step: int, override: Mapping[int, int] | None = None) -> np.ndarray:
        """Every ``replan_every`` steps all online robots are re-assigned together; in between only those whose
        goal was reached or is no longer a frontier cell (around the goals the others keep)."""
        p = self.p
        fcells = p.frontier_cells()
        frontier = p.frontier_mask()
        replan = step - self.last >= self.replan_every
        if self.method in ALONE and p.comm_range is None and self.scratch is not None:  # one kernel call
            s = self.scratch
            a, b, div, add = ALONE[self.method]
            s.tagged = goals_alone(
                self.goal, p.active, p.positions, p.w, p.known, p.h, fcells, frontier, replan, a, b, div, add,
                s.slot, s.dist, s.tag, s.queue, s.tagged,
            )  # fmt: skip
            self.last = step if replan else self.last
            return self._with(override)
        on = np.flatnonzero(p.active)
        cells = p.positions[on, 0] * p.w + p.positions[on, 1]
        g = self.goal[on]
        stale = (g < 0) | (g == cells) | ~frontier[np.maximum(g, 0)]
        if replan:
            self.assign_goals(step, on, cells=fcells)
            self.last = step
        elif stale.any():
            keep = g[~stale]
            self.assign_goals(step, on[stale], keep[keep >= 0], fcells)
        return self._with(override)

    def _with(self, override: Mapping[int, int] | None) -> np.ndarray:
        out = self.goal.copy()
        for i, cell in (override or {}).items():
            out[i] = cell
        return out

    def act(self, step: int, override: Mapping[int, int] | None = None) -> np.ndarray:
        """``(N,) int64`` actions (offline robots wait); ``override``: robot index -> goal cell."""
        p = self.p
        goal = self.goals(step, override)
        return move(self.motion, p, goal, step)


def move(motion: Motion, p: InfoPlatform, goal: np.ndarray, step: int) -> np.ndarray:
    """PIBT toward ``goal`` (``(N,)`` cells, -1: stay) for the online robots; offline robots wait."""
    on = np.flatnonzero(p.active)
    acts = np.zeros(len(p.names), dtype=np.int64)
    if len(on) == 0:
        return acts
    pos = p.positions[on, 0] * p.w + p.positions[on, 1]
    acts[on] = motion.actions(p.known, on, pos, np.where(goal[on] >= 0, goal[on], pos), step)
    return acts


def online_view(observation: Observation, offline: frozenset[str] = frozenset()) -> Observation:
    """What a planner may plan for: robots in ``offline`` and those a real-robot executor dropped for a lost link
    (``lost`` in their data) read inactive, so no goal or group waits on them. Commands are still settled against the
    full observation (:func:`commands`: a lost robot stands where it stopped)."""
    lost = frozenset(r for r, ro in observation.robots.items() if ro.data.get("lost")) | offline
    if not lost:
        return observation
    names, flags = observation.robot_ids, observation.world["active"]
    active = [bool(a) and r not in lost for r, a in zip(names, flags, strict=True)]
    return replace(observation, world={**observation.world, "active": active})


def nearest_robot(p: InfoPlatform, cell: tuple[int, int], robots: np.ndarray | None = None) -> int:
    on = np.flatnonzero(p.active) if robots is None else robots
    d = np.abs(p.positions[on, 0] - cell[0]) + np.abs(p.positions[on, 1] - cell[1])
    return int(on[np.argmin(d)])


def commands(observation: Observation, names: list[str], acts: np.ndarray) -> dict[RobotId, Command]:
    """Actions -> typed commands, settled against the robots' sensed walls so the shield always passes."""
    world = observation.world
    active = np.asarray(world["active"], dtype=bool)
    on = np.flatnonzero(active)
    pos = np.asarray(world["positions"], dtype=np.int64).reshape(-1, 2)[on]
    walls = np.asarray(world["walls"], dtype=bool).reshape(-1, 4)[on]
    a = effective_actions(pos, acts[on], walls)
    a = settle(pos, a, np.zeros(tuple(world["shape"]), dtype=np.bool_))
    return {RobotId(names[i]): command_of(int(x)) for i, x in zip(on.tolist(), a.tolist(), strict=True) if x}


class FrontierPlanner(Planner):
    """B1-B4 as planners (``frontier_nearest``, ``frontier_explore_lite``, ``frontier_utility``,
    ``frontier_hungarian``)."""

    def __init__(self, method: str, replan_every: int = 10) -> None:
        self.method = method
        self.name = f"frontier_{method}"  # type: ignore[misc]
        self.replan_every = replan_every
        self.core: FrontierCore | None = None
        self.names: list[str] = []

    def reset(self, observation: Observation, seed: int) -> None:
        world = observation.world
        self.names = list(observation.robot_ids)
        platform = InfoPlatform(tuple(world["shape"]), self.names, world.get("comm_range"))
        self.core = FrontierCore(self.method, platform, int(world["radius"]), seed, self.replan_every)

    def plan(self, observation: Observation) -> dict[RobotId, Command]:
        if self.core is None:
            self.reset(observation, 0)
        assert self.core is not None
        p = self.core.p
        p.ingest(online_view(observation))
        override: dict[int, int] = {}
        obj = goal_object(p, observation.world["mission"], observation.world["goal"])
        if obj is not None:
            override[nearest_robot(p, obj.cell)] = obj.cell[0] * p.w + obj.cell[1]
        return commands(observation, self.names, self.core.act(observation.step, override))

    def metrics(self) -> dict[str, Any]:
        return {"llm_calls": 0}


def _factory(method: str):
    def make(task: str, options: Mapping[str, Any] | None = None) -> FrontierPlanner:
        return FrontierPlanner(method)

    make.__name__ = f"make_frontier_{method}"
    return make


make_frontier_nearest = _factory("nearest")
make_frontier_explore_lite = _factory("explore_lite")
make_frontier_utility = _factory("utility")
make_frontier_hungarian = _factory("hungarian")
