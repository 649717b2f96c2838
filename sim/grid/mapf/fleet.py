"""MapfFleet: the MAPF world as a :class:`fleetmind.robots.fleet.Fleet` (lifelong or one-shot, POGEMA semantics).

Per robot the observation holds only what POGEMA's partial observation gives: its cell, its goal and the
other agents within the (2R+1)^2 window (``data["agents"]``). ``world`` holds the global state for central
planners (PIBT). Commands: :class:`fleetmind.robots.commands.GridStep` or :class:`fleetmind.robots.commands.Wait`;
a step into an obstacle is legal and reverted to a wait, as in POGEMA.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, Literal

import numpy as np
from fleetmind.robots.commands import Command, GridStep, Wait
from fleetmind.robots.errors import FleetClosedError, IllegalCommandError, UnknownRobotError
from fleetmind.robots.fleet import Observation, RobotEvent, RobotObservation, StepResult, final_step
from fleetmind.robots.ids import RobotId, robot_ids
from fleetmind.tasks.mapf_lifelong import TASK
from fleetmind.tasks.mapf_lifelong.actions import ACTION_OF, STEPS
from fleetmind.tasks.mapf_lifelong.maps import GridMap
from fleetmind.tasks.mapf_lifelong.metrics import MetricSet, lifelong_metrics, one_shot_metrics
from fleetmind.tasks.mapf_lifelong.world import ACTIONS, OBS_RADIUS, MapfWorld

log = logging.getLogger(__name__)


def in_view(pos: np.ndarray, shape: tuple[int, int], radius: int) -> list[np.ndarray]:
    """For each agent (``pos``: ``(N, 2) int64`` distinct cells), the other agents within Chebyshev ``radius``,
    ascending: ``(K_i,) int64`` each. Looks up the (2R+1)^2 window of cells around each agent (N * (2R+1)^2 work,
    not the N^2 of comparing every pair: 2,000 agents took seconds per step that way)."""
    h, w = shape
    occupant = np.full(h * w, -1, dtype=np.int64)
    occupant[pos[:, 0] * w + pos[:, 1]] = np.arange(len(pos))
    span = np.arange(-radius, radius + 1)
    dr, dc = np.repeat(span, len(span)), np.tile(span, len(span))
    rows, cols = pos[:, 0:1] + dr, pos[:, 1:2] + dc  # (N, (2R+1)^2)
    inside = (rows >= 0) & (rows < h) & (cols >= 0) & (cols < w)
    found = np.where(inside, occupant[np.where(inside, rows * w + cols, 0)], -1)
    found[found == np.arange(len(pos))[:, None]] = -1  # not oneself
    found.sort(axis=1)
    return [row[row >= 0] for row in found]


class MapfFleet:
    """Lifelong (``on_target="restart"``, metric ``avg_throughput``) or one-shot (``"nothing"``; CSR, ISR,
    SoC, makespan) MAPF. An episode lasts ``episode_steps`` steps; a one-shot episode also ends when every
    agent is on its goal. A lifelong episode that runs its course is a success."""

    def __init__(
        self,
        grid: GridMap,
        num_agents: int,
        episode_steps: int = 256,
        on_target: Literal["restart", "nothing"] = "restart",
        obs_radius: int = OBS_RADIUS,
    ) -> None:
        if episode_steps < 1:
            raise ValueError(f"episode_steps must be >= 1, got {episode_steps}")
        self.world = MapfWorld(grid, num_agents, on_target, obs_radius)
        self.grid_text = grid.to_string()  # the static map, known to every planner (as in POGEMA's MAPF obs)
        self.episode_steps = episode_steps
        self._ids = robot_ids(num_agents)
        self._index = {rid: i for i, rid in enumerate(self._ids)}
        self._metrics: MetricSet = lifelong_metrics() if on_target == "restart" else one_shot_metrics()
        self._steps = 0
        self._seed: int | None = None
        self._final: StepResult | None = None
        self._closed = False
        self._reached = 0

    @property
    def robot_ids(self) -> tuple[RobotId, ...]:
        return self._ids

    def reset(self, seed: int) -> Observation:
        if self._closed:
            raise FleetClosedError()
        self.world.reset(seed)
        self._metrics.reset(self.world.num_agents, self.episode_steps)
        self._seed, self._steps, self._final, self._reached = seed, 0, None, 0
        return self.observe()

    def observe(self) -> Observation:
        w = self.world
        pos = w.pos
        near = in_view(pos, w.grid.shape, w.obs_radius)
        robots: dict[RobotId, RobotObservation] = {}
        pos_t = [tuple(map(int, p)) for p in pos]
        goal_t = [tuple(map(int, g)) for g in w.goal]
        for i, rid in enumerate(self._ids):
            seen = tuple(pos_t[j] for j in near[i])
            data = {"cell": pos_t[i], "goal": goal_t[i], "agents": seen, "radius": w.obs_radius}
            text = f"at {pos_t[i]}, goal {goal_t[i]}, {len(seen)} agent(s) in view"
            robots[rid] = RobotObservation(robot=rid, data=data, text=text, legal=STEPS)
        world = {
            "task": TASK.name,
            "map": w.grid.name,
            "grid": self.grid_text,
            "shape": w.grid.shape,
            "positions": tuple(pos_t),
            "goals": tuple(goal_t),
            "on_target": w.on_target,
        }
        text = f"{w.grid.name}: {w.num_agents} agents, step {self._steps}/{self.episode_steps}"
        return Observation(step=self._steps, robots=robots, world=world, text=text)

    def actions_of(self, commands: Mapping[RobotId, Command]) -> np.ndarray:
        """Typed commands -> ``(N,) int64`` POGEMA actions (robots without a command wait)."""
        actions = np.zeros(self.world.num_agents, dtype=np.int64)
        for rid, command in commands.items():
            if rid not in self._index:
                raise UnknownRobotError(rid, self._ids)
            action = ACTION_OF.get(command) if isinstance(command, (Wait, GridStep)) else None
            if action is None:
                raise IllegalCommandError(
                    rid, command, f"{type(command).__name__} is not a MAPF grid command", [c.text for c in STEPS]
                )
            actions[self._index[rid]] = action
        return actions

    def step(self, commands: Mapping[RobotId, Command]) -> StepResult:
        if (final := final_step(self._closed, self._seed is not None, self._final)) is not None:
            return final
        actions = self.actions_of(commands)
        info = self.world.step(actions)
        self._steps += 1
        self._reached += int(info.on_goal.sum())
        lifelong = self.world.on_target == "restart"
        all_there = bool(info.on_goal.all())
        done = self._steps >= self.episode_steps or (not lifelong and all_there)
        figures = self._metrics.update(self._steps, info.on_goal, done)
        success = lifelong or all_there
        failure = None if (success or not done) else "step_limit"
        events = tuple(
            RobotEvent(self._ids[i], "blocked", f"{ACTIONS[actions[i]]} reverted to wait")
            for i in np.flatnonzero(actions != info.executed)
        ) + tuple(RobotEvent(self._ids[i], "goal_reached") for i in np.flatnonzero(info.on_goal))
        metrics: dict[str, Any] = {
            "success": success if done else False,
            "steps": self._steps,
            "failure_reason": failure,
            "goals_reached": self._reached,
            **figures,
        }
        result = StepResult(self.observe(), events, done, failure, metrics)
        if done:
            self._final = result
        return result

    def close(self) -> None:
        self._closed = True
