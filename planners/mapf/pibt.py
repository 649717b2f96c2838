"""PIBT for lifelong MAPF: centralized, one conflict-free step at a time (Okumura et al., AIJ 2022), with LaCAM3's
swap for head-on meetings in corridors, guided by a static centrality cost (the cost-to-go it follows makes busy
central corridors dearer, in the spirit of guidance graphs for lifelong MAPF); ``w_static=0`` gives plain PIBT.

``pibt_flow`` adds traffic-flow guidance (in the spirit of Chen et al., AAAI 2024): each agent keeps an A* path
over the next ``flow_window`` moves, planned on costs that grow with the number of agents planning to move the
opposite way, so opposing streams settle into separate lanes and corridors; PIBT then tries each agent's next
path cell first. It costs a few A* searches per step and lifts throughput most where traffic meets head-on
(wfi_warehouse at 192 agents: about 5.9 instead of 4.8 goals per step).

``pibt_lns`` looks a few steps ahead (in the spirit of windowed PIBT-LNS, Jiang et al. 2024): each step it rolls
``pibt_flow``'s moves out with PIBT into a joint plan for the next ``lns_window`` steps (or keeps the last plan
shifted by a step when that is cheaper), improves the plan by large neighbourhood search (``lns_iters`` times:
re-plan a late agent and its ``lns_group`` - 1 nearest neighbours with space-time A* around everybody else, keep
it if their summed window cost drops), and moves by the plan's first step. Agents wait at a corridor's mouth instead
of entering it head-on: on dense 20x20 random maps at 64 agents about 3.8 instead of 3.4 goals per step.

:class:`PibtCore` works on arrays (benchmarks call it directly); :class:`PibtPlanner` adapts it to the
Planner interface, reading the global ``world`` view of a :class:`fleetmind.sim.grid.mapf.MapfFleet` observation.
"""

from __future__ import annotations

import numpy as np
from fleetmind.planners.mapf._common import DistanceCache, MapPlanner, static_centrality
from fleetmind.planners.mapf._kernels import flow_replan, neighbour_table, pibt_preferences, pibt_step
from fleetmind.planners.mapf._lns_kernels import lns_improve, window_cost
from fleetmind.robots.commands import Command
from fleetmind.robots.fleet import Observation
from fleetmind.robots.ids import RobotId
from fleetmind.tasks.mapf_lifelong.actions import command_of


class PibtCore:
    """Lifelong PIBT with static guidance. Priorities grow by one each step an agent has not reached its goal
    and drop back to a small seeded tie-breaker when it gets a new goal or rests on it. Candidate moves: nearest
    to the goal first; among equally near cells a seeded random order that favours cells nobody occupies now.
    ``w_flow > 0`` adds traffic-flow guidance (``pibt_flow``), ``lns_iters > 0`` the windowed LNS (``pibt_lns``);
    see the module doc."""

    def __init__(
        self,
        blocked: np.ndarray,
        num_agents: int,
        seed: int = 0,
        w_static: float = 2.0,
        swap: bool = True,
        w_occupied: float = 0.5,
        w_flow: float = 0.0,
        w_load: float = 0.1,
        flow_window: int = 32,
        replan_wait: int = 3,
        flow_budget: int | None = None,
        lns_iters: int = 0,
        lns_window: int = 4,
        lns_group: int = 12,
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
        self.w_flow, self.w_load, self.flow_window = w_flow, w_load, flow_window
        self.replan_wait = replan_wait
        # most flow paths re-planned per step (the rest wait their turn in a queue, oldest request first)
        self.flow_budget = flow_budget if flow_budget is not None else default_flow_budget(num_agents)
        self.lns_iters, self.lns_window, self.lns_group = lns_iters, lns_window, lns_group
        self.reset(seed)

    def reset(self, seed: int) -> None:
        n = self.num_agents
        self.rng = np.random.default_rng(seed)
        self.eps = self.rng.random(n) * 1e-3
        self.priority = self.eps.copy()
        self.last_goal = np.full(n, -1, dtype=np.int64)
        self.seed, self.steps = seed, 0
        self.plan: np.ndarray | None = None  # LNS: the joint window plan of the last step
        if self.w_flow > 0:  # traffic-flow guidance: each agent's planned moves over the next window
            self.flow = np.zeros((self.num_cells, 5), dtype=np.int64)
            self.paths = np.zeros((n, self.flow_window + 1), dtype=np.int64)
            self.head = np.zeros(n, dtype=np.int64)
            self.length = np.zeros(n, dtype=np.int64)  # 0: no plan yet
            self.plan_goal = np.full(n, -1, dtype=np.int64)
            self.intended = np.full(n, -1, dtype=np.int64)  # the cell each agent was steered to last step
            self.waited = np.zeros(n, dtype=np.int64)
            self.pending = np.zeros(n, dtype=np.int64)  # steps each agent has been waiting for a re-plan

    def preferences(self, pos: np.ndarray, goal: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(N, 5) int64`` each agent's action slots, most preferred first, and its cost-to-go row."""
        rows = self.cache.rows(goal)
        # nearest to the goal first; among equally near cells a seeded random order favouring free cells
        noise = self.rng.random((len(pos), 5)) * 0.975
        if self.w_flow > 0:  # the next cell of the agent's flow-aware path comes first
            nxt = self.follow_plans(pos, goal, rows)[:, None]
            noise[(self.nbr[pos] == nxt) & (nxt >= 0)] -= 1e6
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
        slots = pibt_step(pos, order, self.nbr, priority_order, self.num_cells, goal, self.cache.pool, rows, self.swap)
        self.steps += 1
        if self.lns_iters <= 0:
            return slots
        plan = self.window_plan(pos, goal, rows, slots)
        return np.argmax(self.nbr[pos] == plan[1][:, None], axis=1).astype(np.int64)

    def window_plan(self, pos: np.ndarray, goal: np.ndarray, rows: np.ndarray, slots: np.ndarray) -> np.ndarray:
        """LNS (``lns_iters > 0``, in the spirit of windowed PIBT-LNS): a joint plan for the next ``lns_window``
        steps, started from this step's PIBT moves rolled out with PIBT (or from the last plan shifted by one step,
        when that is cheaper), then improved by :func:`lns_improve`. Returns the ``(H + 1, N)`` plan; row 1 is what
        the agents do now."""
        horizon, n = self.lns_window, self.num_agents
        pool = self.cache.pool
        plan = np.empty((horizon + 1, n), dtype=np.int64)
        plan[0] = pos
        cells, priority, arrived = pos, self.priority.copy(), pos == goal
        for t in range(horizon):
            if t > 0:
                noise = self.rng.random((n, 5)) * 0.975
                order = pibt_preferences(cells, self.nbr, pool, rows, noise, self.w_occupied)
                ranked = np.argsort(-priority, kind="stable").astype(np.int64)
                slots = pibt_step(cells, order, self.nbr, ranked, self.num_cells, goal, pool, rows, self.swap)
            cells = self.nbr[cells, slots]
            plan[t + 1] = cells
            arrived |= cells == goal
            priority = np.where(arrived, self.eps, priority + 1.0)
        if self.plan is not None and np.array_equal(self.plan[1], pos):  # warm start: last step's plan, shifted
            shifted = np.concatenate([self.plan[1:], self.plan[-1:]])
            if window_costs(shifted, goal, pool, rows).sum() < window_costs(plan, goal, pool, rows).sum():
                plan = shifted
        seed = (self.seed * 1_000_003 + self.steps) % (2**31)
        lns_improve(plan, goal, pool, rows, self.nbr, self.blocked.shape[1], self.lns_iters, self.lns_group, seed)
        self.plan = plan
        return plan

    def follow_plans(self, pos: np.ndarray, goal: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """Traffic-flow guidance (``w_flow > 0``): advance each agent along its planned path, re-plan those that
        got a new goal, left their path, waited ``replan_wait`` steps or ran out of window; returns ``(N,) int64``
        the next planned cell of each agent (its own cell when it plans to stay, -1 when it has no usable path).

        At most ``flow_budget`` agents re-plan per step: the requests wait in a queue, longest waiting first (ties:
        agents without a usable path before agents whose path is only blocked, then a rotating agent index). A
        blocked path keeps guiding until its turn; an agent without a usable path follows plain PIBT meanwhile."""
        n = self.num_agents
        idx = np.arange(n)
        nxt = self.paths[idx, np.minimum(self.head + 1, self.flow_window)]
        moved = (self.length > self.head + 1) & (pos == nxt) & (pos != self.paths[idx, self.head])
        u = self.paths[moved, self.head[moved]]  # planned moves done leave the flow
        np.subtract.at(self.flow, (u, np.argmax(self.nbr[u] == pos[moved, None], axis=1)), 1)
        self.head[moved] += 1
        self.waited = np.where((self.intended >= 0) & (self.intended != pos), self.waited + 1, 0)
        invalid = (
            (goal != self.plan_goal)
            | (self.length == 0)
            | (pos != self.paths[idx, self.head])
            | ((self.head >= self.length - 1) & (pos != goal))
        )
        want = invalid | (self.waited >= self.replan_wait)
        self.pending = np.where(want, self.pending + 1, 0)
        agents = np.flatnonzero(want).astype(np.int64)
        if len(agents) > self.flow_budget:
            turn = (agents - self.steps * self.flow_budget) % n  # a rotating index: nobody always goes last
            first = np.lexsort((turn, ~invalid[agents], -self.pending[agents]))[: self.flow_budget]
            agents = np.sort(agents[first])
        if len(agents):
            flow_replan(
                agents,
                pos,
                goal,
                self.cache.pool,
                rows,
                self.cache.entry_cost,
                self.flow,
                self.nbr,
                self.w_flow,
                self.w_load,
                self.paths,
                self.head,
                self.length,
            )
            self.plan_goal[agents] = goal[agents]
            self.waited[agents] = 0
            self.pending[agents] = 0
        nxt = np.where(self.length > self.head + 1, self.paths[idx, np.minimum(self.head + 1, self.flow_window)], pos)
        nxt[invalid & (self.pending > 0)] = -1  # still waiting for a path: plain PIBT this step
        self.intended = nxt
        return nxt


def default_flow_budget(num_agents: int) -> int:
    """``pibt_flow``'s re-plans per step when not given: every request up to 320 agents (the POGEMA sets, at most 256),
    then 320, and 160 beyond 4,096. Every agent's first path ends its window on the same step, so unbounded fleets
    re-plan all at once there: 4,000 agents on the 140x500 warehouse took 4,993 ms on step 32 (median 234 ms); 320
    spreads that wave (slowest step 852 ms in `mapf_lifelong.py --only large`, throughput 5.00 against 5.03; the
    README has the other budgets). At 10,000 agents one flow A* costs about 4.4 ms CPU (measured with 2,500 paths
    planned): 160 keep the A* work near 0.7 s per step; the other requests wait their turn."""
    return min(num_agents, 320) if num_agents <= 4096 else 160


class PibtPlanner(MapPlanner):
    """The ``pibt`` planner: central PIBT over the fleet's global positions and goals."""

    name = "pibt"
    w_flow = 0.0
    lns_iters = 0

    def make_core(self, blocked: np.ndarray, num_agents: int, seed: int) -> PibtCore:
        return PibtCore(blocked, num_agents, seed, w_flow=self.w_flow, lns_iters=self.lns_iters)

    def plan(self, observation: Observation) -> dict[RobotId, Command]:
        world = observation.world
        ids = observation.robot_ids
        core: PibtCore = self.core_for(observation)
        width = int(world["shape"][1])
        pos = np.array(world["positions"], dtype=np.int64)
        goal = np.array(world["goals"], dtype=np.int64)
        acts = core.actions(pos[:, 0] * width + pos[:, 1], goal[:, 0] * width + goal[:, 1])
        return {rid: command_of(int(a)) for rid, a in zip(ids, acts, strict=True) if a != 0}


class PibtFlowPlanner(PibtPlanner):
    """The ``pibt_flow`` planner: :class:`PibtPlanner` with traffic-flow guidance (opposing flows cost more)."""

    name = "pibt_flow"
    w_flow = 1.0


class PibtLnsPlanner(PibtPlanner):
    """The ``pibt_lns`` planner: ``pibt_flow`` whose moves come from a 4-step joint plan improved by LNS."""

    name = "pibt_lns"
    w_flow = 1.0
    lns_iters = 300


def window_costs(plan: np.ndarray, goal: np.ndarray, pool: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """``(N,) float64`` each agent's window cost in ``plan`` (``(H + 1, N)``): see :func:`window_cost`."""
    return np.array([window_cost(plan[:, i], goal[i], pool[rows[i]]) for i in range(plan.shape[1])])
