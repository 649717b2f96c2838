"""Follower-style decentralized lifelong planner (after Skrynnik et al., AAAI 2024 "Learn to Follow").

Each agent decides alone, from its own observation: its cell, its goal, the static map, and the agents it
sees within its radius now (plus its own memory of what it saw since its goal changed). It plans with A*
on a cost map: unit steps + a static centrality penalty + a dynamic congestion cost (how often it saw agents
in each cell, reset when its goal changes) + a penalty on cells where it sees an agent standing still (one it
saw in the same cell last step; the penalty grows while the agent itself is stuck). The heuristic is the exact
cost-to-go on the static part of that cost map (Dijkstra from the goal, cached per goal), so A* stays optimal and
expands few cells. Local conflict avoidance instead of the paper's learned
policy: an agent whose move failed ``stuck_after`` steps running steps aside (with probability ``escape_p``
from its own seeded stream) for a few steps, away from the agent in its way and off that agent's line.
No agent reads another agent's plan or the global state. Default weights were tuned on wfi_warehouse (192
agents, seeds 0-2) and ten pico maps (64 agents, seed 0).
"""

from __future__ import annotations

import numpy as np

from planners.mapf._common import DistanceCache, MapPlanner, splitmix, static_centrality
from planners.mapf._kernels import follower_plan, neighbour_table, seen_before
from robots.commands import Command
from robots.fleet import Observation
from robots.ids import RobotId
from sim.grid.mapf._kernels import visible_agents
from sim.grid.mapf.fleet import command_of


def visible_lists(
    pos_rc: np.ndarray, width: int, radius: int, height: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Each agent's view: ``pos_rc`` ``(N, 2)`` -> cells of the agents it sees ``(N, V) int64`` (-1 padded)
    and their counts ``(N,) int64`` (Chebyshev distance <= ``radius``, itself excluded)."""
    pos_rc = np.asarray(pos_rc, dtype=np.int64)
    h = int(pos_rc[:, 0].max()) + 1 if height is None else height
    return visible_agents(np.ascontiguousarray(pos_rc[:, 0]), np.ascontiguousarray(pos_rc[:, 1]), h, width, radius)


class FollowerCore:
    """Array form of the Follower-style planner; every agent's decision uses only its own inputs."""

    def __init__(
        self,
        blocked: np.ndarray,
        num_agents: int,
        seed: int = 0,
        w_static: float = 3.0,
        w_dyn: float = 12.0,
        w_block: float = 6.0,
        w_moving: float = 0.0,
        stuck_ramp: float = 1.0,
        h_weight: float = 1.0,
        stuck_after: int = 2,
        escape_p: float = 0.5,
        evade_steps: tuple[int, int] = (2, 6),
    ) -> None:
        self.blocked = np.ascontiguousarray(blocked, dtype=np.bool_)
        self.nbr = neighbour_table(self.blocked)
        self.num_cells = self.nbr.shape[0]
        self.num_agents = num_agents
        self.static = static_centrality(self.blocked, seed=0)
        # the heuristic: exact cost-to-go on the static part of the cost map (unit steps + centrality)
        self.cache = DistanceCache(self.blocked, capacity=num_agents + 64, cell_cost=1.0 + w_static * self.static)
        self.w_static, self.w_dyn, self.w_block, self.w_moving = w_static, w_dyn, w_block, w_moving
        self.stuck_ramp, self.h_weight = stuck_ramp, h_weight
        self.stuck_after, self.escape_p, self.evade_steps = stuck_after, escape_p, evade_steps
        self.reset(seed)

    def reset(self, seed: int) -> None:
        n = self.num_agents
        self.seed = seed
        self.t = 0
        self.dyn = np.zeros((n, self.num_cells), dtype=np.float32)
        self.dyn_steps = np.zeros(n, dtype=np.int64)
        self.last_goal = np.full(n, -1, dtype=np.int64)
        self.last_pos = np.full(n, -1, dtype=np.int64)
        self.last_action = np.zeros(n, dtype=np.int64)
        self.stuck = np.zeros(n, dtype=np.int64)
        self.last_vis = np.full((n, 1), -1, dtype=np.int64)
        self.last_nvis = np.zeros(n, dtype=np.int64)
        self.evade = np.zeros(n, dtype=np.int64)  # steps left of stepping aside
        self.blocker = np.full(n, -1, dtype=np.int64)  # cell of the agent we step aside for

    def actions(self, pos: np.ndarray, goal: np.ndarray, vis: np.ndarray, nvis: np.ndarray) -> np.ndarray:
        """``pos``, ``goal``: ``(N,) int64`` cells; ``vis``: ``(N, V) int64`` cells each agent sees occupied
        (-1 padded), ``nvis``: ``(N,)`` counts. Returns ``(N,) int64`` POGEMA actions."""
        n = self.num_agents
        fresh = goal != self.last_goal
        self.dyn[fresh] = 0.0
        self.dyn_steps[fresh] = 0
        tried = (self.last_action != 0) & (pos == self.last_pos)
        self.stuck = np.where(tried, self.stuck + 1, 0)
        seen = vis >= 0
        rows = np.repeat(np.arange(n), seen.sum(axis=1))
        np.add.at(self.dyn, (rows, vis[seen]), 1.0)
        self.dyn_steps += 1
        # agents seen in the same cell as last step are standing still: costlier to plan through
        still = seen_before(vis, nvis, self.last_vis, self.last_nvis, self.num_cells)
        vis_cost = np.where(still, self.w_block * (1.0 + self.stuck_ramp * self.stuck)[:, None], self.w_moving)
        self.last_vis, self.last_nvis = vis.copy(), nvis.copy()
        hrow = self.cache.rows(goal)
        plan = follower_plan(
            np.arange(n, dtype=np.int64),
            pos,
            goal,
            self.cache.pool,
            hrow,
            self.static,
            self.dyn,
            self.dyn_steps,
            vis,
            nvis,
            vis_cost,
            self.nbr,
            self.w_static,
            self.w_dyn,
            self.h_weight,
        )
        acts = plan[:, 0].astype(np.int64)
        self._avoid_conflicts(pos, acts, vis, nvis)
        self.last_goal = goal.copy()
        self.last_pos = pos.copy()
        self.last_action = acts.copy()
        self.t += 1
        return acts

    def _avoid_conflicts(self, pos: np.ndarray, acts: np.ndarray, vis: np.ndarray, nvis: np.ndarray) -> None:
        """The local rule, per agent and from its own view only: an agent stuck behind an agent it sees
        steps aside, with probability ``escape_p`` (its own seeded stream), for a few steps: to free cells away
        from that agent and off its line, so the other can pass (corridors, pockets)."""
        w = self.blocked.shape[1]
        candidates = np.flatnonzero(((self.stuck >= self.stuck_after) & (acts != 0)) | (self.evade > 0))
        if len(candidates) == 0:
            return
        u = splitmix(self.seed, candidates, self.t)
        for i, x in zip(candidates, u, strict=True):
            taken = set(vis[i, : nvis[i]].tolist())
            if self.evade[i] == 0:
                ahead = int(self.nbr[pos[i], acts[i]])
                if x >= self.escape_p or ahead not in taken:
                    continue
                lo, hi = self.evade_steps
                self.evade[i] = lo + int(x / self.escape_p * (hi - lo + 1)) % (hi - lo + 1)
                self.blocker[i] = ahead
            br, bc = divmod(int(self.blocker[i]), w)
            r0, c0 = divmod(int(pos[i]), w)
            axis_row = br == r0  # the blocker was met along a row: leaving the row is stepping aside
            best, best_score = 0, -1.0
            for k in range(5):
                v = int(self.nbr[pos[i], k])
                if v < 0 or (k != 0 and v in taken):
                    continue
                r, c = divmod(v, w)
                score = abs(r - br) + abs(c - bc) + (1.5 if (r != br if axis_row else c != bc) else 0.0)
                if score > best_score:
                    best, best_score = k, score
            acts[i] = best
            self.evade[i] -= 1


class FollowerPlanner(MapPlanner):
    """The ``follower`` planner: decentralized; reads each robot's own observation (cell, goal, agents seen)
    and the static map only."""

    name = "follower"

    def make_core(self, blocked: np.ndarray, num_agents: int, seed: int) -> FollowerCore:
        return FollowerCore(blocked, num_agents, seed)

    def plan(self, observation: Observation) -> dict[RobotId, Command]:
        ids = observation.robot_ids
        core: FollowerCore = self.core_for(observation)
        width = core.blocked.shape[1]
        views = [observation.robots[rid].data for rid in ids]
        pos = np.array([v["cell"][0] * width + v["cell"][1] for v in views], dtype=np.int64)
        goal = np.array([v["goal"][0] * width + v["goal"][1] for v in views], dtype=np.int64)
        nvis = np.array([len(v["agents"]) for v in views], dtype=np.int64)
        vis = np.full((len(ids), max(1, int(nvis.max(initial=0)))), -1, dtype=np.int64)
        for i, v in enumerate(views):
            for k, (r, c) in enumerate(v["agents"]):
                vis[i, k] = r * width + c
        acts = core.actions(pos, goal, vis, nvis)
        return {rid: command_of(int(a)) for rid, a in zip(ids, acts, strict=True) if a != 0}
