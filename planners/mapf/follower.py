"""Follower-style decentralized lifelong planner (after Skrynnik et al., AAAI 2024 "Learn to Follow").

Each agent decides alone, from its own observation: its cell, its goal, the static map, and the agents it
sees within its radius now (plus its own memory of what it saw). It plans with A* on a cost map: unit steps + a
static centrality penalty + a dynamic congestion cost (how often it saw agents in each cell, reset when its goal
changes) + a lane cost (moves against the lane of their row or column cost ``w_dir`` more, so opposite flows in
wide corridors take alternate lanes) + a penalty on cells where it sees an agent now: ``w_block`` (ramped by how
long the agent itself has been stuck) if that agent stood there last step too, plus ``w_run`` per step it has
seen that cell occupied running (capped at ``run_cap``), so jams it watches grow into walls it routes around. The
dynamic part only counts inside a window of ``window`` cells around the agent: the search stops at the first
cell outside it (or the goal), whose remaining cost is the exact static cost-to-go (Dijkstra from the goal,
cached per goal), which bounds every search to the window.

Local conflict rule instead of the paper's learned policy (the head-on protocol): an agent whose next cell
holds an agent it saw standing there (after its own move failed), or that is already yielding, assumes a
head-on meeting and decides who gives way by a rule both agents compute alike from their own views: if exactly
one of the two has a free neighbour cell, that one gives way; otherwise the one closer to a passing place (a
cell with three or more free neighbours, away from the other agent, from the static map) gives way; on a tie
moves down or right give way to moves up or left. The one giving way backs off along the corridor to the passing
place, then steps to a free side cell, and goes on giving way while its next cell stays occupied. An agent with
the right of way that stays stuck ``fallback_after`` steps steps aside with probability ``escape_p`` (its own
seeded stream). No agent reads another agent's plan, goal, id or the global state. Default weights were tuned
on den520d and room-64-64-8 (256 agents) and wfi_warehouse (192 agents), seeds 0-1.
"""

from __future__ import annotations

import numpy as np
from fleetmind.planners.mapf._common import DistanceCache, MapPlanner, splitmix, static_centrality
from fleetmind.planners.mapf._follower_kernels import follower_paths, still_runs
from fleetmind.planners.mapf._kernels import neighbour_table
from fleetmind.robots.commands import Command
from fleetmind.robots.fleet import Observation
from fleetmind.robots.ids import RobotId
from fleetmind.tasks.mapf_lifelong._kernels import visible_agents
from fleetmind.tasks.mapf_lifelong.actions import command_of

OPPOSITE = (0, 2, 1, 4, 3)
UNREACHABLE = 99  # retreat distance of a dead end


def visible_lists(
    pos_rc: np.ndarray, width: int, radius: int, height: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Each agent's view: ``pos_rc`` ``(N, 2)`` -> cells of the agents it sees ``(N, V) int64`` (-1 padded)
    and their counts ``(N,) int64`` (Chebyshev distance <= ``radius``, itself excluded)."""
    pos_rc = np.asarray(pos_rc, dtype=np.int64)
    h = int(pos_rc[:, 0].max()) + 1 if height is None else height
    return visible_agents(np.ascontiguousarray(pos_rc[:, 0]), np.ascontiguousarray(pos_rc[:, 1]), h, width, radius)


def lane_costs(blocked: np.ndarray, w_dir: float) -> np.ndarray:
    """``(C, 5) float64`` extra cost of each move: ``w_dir`` against the lane (up in odd columns, down in even
    ones, left in odd rows, right in even rows), 0 along it."""
    h, w = blocked.shape
    r, c = np.divmod(np.arange(h * w), w)
    out = np.zeros((h * w, 5))
    out[:, 1] = np.where(c % 2 == 1, w_dir, 0.0)
    out[:, 2] = np.where(c % 2 == 0, w_dir, 0.0)
    out[:, 3] = np.where(r % 2 == 1, w_dir, 0.0)
    out[:, 4] = np.where(r % 2 == 0, w_dir, 0.0)
    return out


def retreat_table(nbr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Static map facts of the head-on rule: for each cell u and move k (``(C, 5) int64`` each), how many steps
    an agent at u must back away from ``nbr[u, k]`` to reach a passing place (a cell with three or more free
    neighbours; 0 if u is one, ``UNREACHABLE`` behind a dead end), and the first move of that retreat."""
    c_total = nbr.shape[0]
    deg = (nbr[:, 1:] >= 0).sum(axis=1)
    dist = np.zeros((c_total, 5), dtype=np.int64)
    move = np.zeros((c_total, 5), dtype=np.int64)
    for u in np.flatnonzero((nbr[:, 0] >= 0) & (deg < 3)):
        for k in range(1, 5):
            if nbr[u, k] < 0:
                continue
            prev, cur, steps, first = int(nbr[u, k]), int(u), 0, 0
            while deg[cur] < 3 and steps < UNREACHABLE:
                ways = [kk for kk in range(1, 5) if nbr[cur, kk] >= 0 and nbr[cur, kk] != prev]
                if not ways:  # a dead end
                    steps = UNREACHABLE
                    break
                if steps == 0:
                    first = ways[0]
                prev, cur, steps = cur, int(nbr[cur, ways[0]]), steps + 1
            dist[u, k], move[u, k] = steps, first
    return dist, move


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
        w_dir: float = 1.0,
        w_run: float = 6.0,
        run_cap: int = 64,
        window: int = 12,
        h_weight: float = 1.0,
        fallback_after: int = 4,
        escape_p: float = 0.5,
    ) -> None:
        self.blocked = np.ascontiguousarray(blocked, dtype=np.bool_)
        self.nbr = neighbour_table(self.blocked)
        self.num_cells = self.nbr.shape[0]
        self.num_agents = num_agents
        self.static = static_centrality(self.blocked, seed=0)
        # the heuristic: exact cost-to-go on the static part of the cost map (unit steps + centrality)
        self.cache = DistanceCache(self.blocked, capacity=num_agents + 64, cell_cost=1.0 + w_static * self.static)
        self.move_cost = lane_costs(self.blocked, w_dir)
        self.retreat, self.retreat_move = retreat_table(self.nbr)
        self.w_static, self.w_dyn, self.w_block, self.w_moving = w_static, w_dyn, w_block, w_moving
        self.stuck_ramp, self.w_run, self.run_cap = stuck_ramp, w_run, run_cap
        self.window, self.h_weight = window, h_weight
        self.fallback_after, self.escape_p = fallback_after, escape_p
        self.paths = np.zeros((num_agents, window + 2 if window > 0 else 2), dtype=np.int64)
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
        self.last_run = np.zeros((n, 1), dtype=np.int64)
        self.yielding = np.zeros(n, dtype=np.bool_)

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
        # run: for how many steps running the agent has seen each occupied cell occupied (>= 2: standing still)
        run = still_runs(vis, nvis, self.last_vis, self.last_nvis, self.last_run, self.num_cells)
        still = run >= 2
        vis_cost = np.where(still, self.w_block * (1.0 + self.stuck_ramp * self.stuck)[:, None], self.w_moving)
        vis_cost += self.w_run * np.minimum(run - 1, self.run_cap)
        self.last_vis, self.last_nvis, self.last_run = vis.copy(), nvis.copy(), run
        hrow = self.cache.rows(goal)
        follower_paths(
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
            self.move_cost,
            self.w_static,
            self.w_dyn,
            self.h_weight,
            self.blocked.shape[1],
            self.window,
            self.paths,
        )
        nxt = np.where(self.paths[:, 0] > 0, self.paths[:, 1], pos)
        acts = np.argmax(self.nbr[pos] == nxt[:, None], axis=1).astype(np.int64)
        self._head_on(pos, acts, nxt, vis, nvis, still, hrow)
        self.last_goal = goal.copy()
        self.last_pos = pos.copy()
        self.last_action = acts.copy()
        self.t += 1
        return acts

    def _head_on(self, pos, acts, nxt, vis, nvis, still, hrow) -> None:
        """The head-on protocol (module doc), per agent and from its own view only; rewrites ``acts``."""
        hit = (vis == nxt[:, None]) & (acts != 0)[:, None]
        blocked_next = hit.any(axis=1)
        self.yielding &= blocked_next
        engaged = blocked_next & (self.yielding | ((self.stuck >= 1) & (hit & still).any(axis=1)))
        cand = np.flatnonzero(engaged)
        if len(cand) == 0:
            return
        u01 = splitmix(self.seed, cand, self.t)
        for i, x in zip(cand, u01, strict=True):
            u, d, v = int(pos[i]), int(acts[i]), int(nxt[i])
            taken = set(vis[i, : nvis[i]].tolist())
            mine, theirs = self._free_around(u, v, taken), self._free_around(v, u, taken)
            if (mine > 0) != (theirs > 0):
                give_way = theirs == 0
            else:
                r_me, r_them = self.retreat[u, d], self.retreat[v, OPPOSITE[d]]
                give_way = bool(r_me < r_them) if r_me != r_them else d in (2, 4)
            if not give_way:
                self.yielding[i] = False
                if self.stuck[i] >= self.fallback_after and x < self.escape_p:
                    acts[i] = self._side_step(u, d, v, taken, hrow[i])
                continue
            if 0 < self.retreat[u, d] < UNREACHABLE:
                k = int(self.retreat_move[u, d])
                acts[i] = k if int(self.nbr[u, k]) not in taken else 0
            else:
                acts[i] = self._side_step(u, d, v, taken, hrow[i])
            self.yielding[i] = True

    def _free_around(self, cell: int, other: int, taken: set[int]) -> int:
        """Free neighbour cells of ``cell`` besides ``other``, as the agent sees them."""
        return sum(1 for k in range(1, 5) if (v := int(self.nbr[cell, k])) >= 0 and v != other and v not in taken)

    def _side_step(self, u: int, d: int, v: int, taken: set[int], row: int) -> int:
        """A move off the line of ``d`` to a free cell (sideways first, then back; the closer to the goal on
        ties); 0 if every neighbour is taken."""
        h = self.cache.pool[row]
        best, best_score = 0, -np.inf
        for k in range(1, 5):
            c = int(self.nbr[u, k])
            if c < 0 or c == v or c in taken:
                continue
            side = (k in (1, 2)) != (d in (1, 2))
            score = (2000.0 if side else 1000.0) - float(h[c])
            if score > best_score:
                best, best_score = k, score
        return best


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
