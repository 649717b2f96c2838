"""PIBT for lifelong MAPF: centralized, one conflict-free step at a time (Okumura et al., AIJ 2022), guided by a
static centrality cost (the cost-to-go it follows makes busy central corridors dearer, in the spirit of guidance
graphs for lifelong MAPF); ``w_static=0`` gives plain PIBT.

:class:`PibtCore` works on arrays (benchmarks call it directly); :class:`PibtPlanner` adapts it to the
Planner interface, reading the global ``world`` view of a :class:`sim.grid.mapf.MapfFleet` observation.
"""

from __future__ import annotations

import numpy as np

from planners.mapf._common import DistanceCache, MapPlanner, static_centrality
from planners.mapf._kernels import neighbour_table, pibt_preferences, pibt_step
from robots.commands import Command
from robots.fleet import Observation
from robots.ids import RobotId
from sim.grid.mapf.fleet import command_of


class PibtCore:
    """Lifelong PIBT with static guidance. Priorities grow by one each step an agent has not reached its goal
    and drop back to a small seeded tie-breaker when it gets a new goal or rests on it. Candidate moves: nearest
    to the goal first; among equally near cells a seeded random order that favours cells nobody occupies now."""

    def __init__(
        self,
        blocked: np.ndarray,
        num_agents: int,
        seed: int = 0,
        w_static: float = 2.0,
        swap: bool = True,
        w_occupied: float = 0.5,
    ) -> None:
        self.blocked = np.ascontiguousarray(blocked, dtype=np.bool_)
        self.nbr = neighbour_table(self.blocked)
        self.num_cells = self.nbr.shape[0]
        # guidance: cost-to-go on a static cost map where central cells cost 1 + w_static * centrality, so
        # traffic spreads over parallel corridors (w_static = 0: plain unit-cost distances)
        cell_cost = 1.0 + w_static * static_centrality(self.blocked) if w_static > 0 else None
        self.cache = DistanceCache(self.blocked, capacity=num_agents + 64, cell_cost=cell_cost)
        self.num_agents = num_agents
        self.swap = swap
        self.w_occupied = w_occupied
        self.reset(seed)

    def reset(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        self.eps = self.rng.random(self.num_agents) * 1e-3
        self.priority = self.eps.copy()
        self.last_goal = np.full(self.num_agents, -1, dtype=np.int64)

    def preferences(self, pos: np.ndarray, goal: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(N, 5) int64`` each agent's action slots, most preferred first, and its cost-to-go row."""
        rows = self.cache.rows(goal)
        # nearest to the goal first; among equally near cells a seeded random order favouring free cells
        noise = self.rng.random((len(pos), 5)) * 0.975
        return pibt_preferences(pos, self.nbr, self.cache.pool, rows, noise, self.w_occupied), rows

    def actions(self, pos: np.ndarray, goal: np.ndarray) -> np.ndarray:
        """``pos``, ``goal``: ``(N,) int64`` cells -> ``(N,) int64`` POGEMA actions, conflict-free."""
        pos = np.asarray(pos, dtype=np.int64)
        goal = np.asarray(goal, dtype=np.int64)
        rest = (goal != self.last_goal) | (pos == goal)  # a new goal, or resting on it (one-shot)
        self.priority = np.where(rest, self.eps, self.priority + 1.0)
        self.last_goal = goal.copy()
        order, rows = self.preferences(pos, goal)
        priority_order = np.argsort(-self.priority, kind="stable").astype(np.int64)
        return pibt_step(pos, order, self.nbr, priority_order, self.num_cells, goal, self.cache.pool, rows, self.swap)


class PibtPlanner(MapPlanner):
    """The ``pibt`` planner: central PIBT over the fleet's global positions and goals."""

    name = "pibt"

    def make_core(self, blocked: np.ndarray, num_agents: int, seed: int) -> PibtCore:
        return PibtCore(blocked, num_agents, seed)

    def plan(self, observation: Observation) -> dict[RobotId, Command]:
        world = observation.world
        ids = observation.robot_ids
        core: PibtCore = self.core_for(observation)
        width = int(world["shape"][1])
        pos = np.array(world["positions"], dtype=np.int64)
        goal = np.array(world["goals"], dtype=np.int64)
        acts = core.actions(pos[:, 0] * width + pos[:, 1], goal[:, 0] * width + goal[:, 1])
        return {rid: command_of(int(a)) for rid, a in zip(ids, acts, strict=True) if a != 0}
