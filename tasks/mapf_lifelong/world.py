"""The MAPF world core with POGEMA 1.4 semantics: positions, goals, soft collisions, lifelong goal refresh.

Pure arrays, no Fleet wrapping (:mod:`fleetmind.sim.grid.mapf.fleet` does that), so benchmarks and planners run it
directly. Lifelong (``on_target="restart"``): an agent on its goal gets a new goal drawn from its own seeded
generator, in its connected component (or from the map's goal cells). One-shot (``on_target="nothing"``):
agents keep their goals and stay in the world.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from fleetmind.robots.errors import BadInputError
from fleetmind.tasks.mapf_lifelong._kernels import DC, DR, components, soft_resolve
from fleetmind.tasks.mapf_lifelong.maps import GridMap

ACTIONS: tuple[str, ...] = ("wait", "up", "down", "left", "right")
OBS_RADIUS = 5


@dataclass
class MapfStep:
    """What one step did. ``on_goal``: ``(N,) bool`` agents on their goal after the move (before a lifelong
    goal refresh); ``executed``: ``(N,) int64`` actions after collision resolution."""

    on_goal: np.ndarray
    executed: np.ndarray


class MapfWorld:
    """N agents on a :class:`GridMap`. ``pos``/``goal``: ``(N, 2) int64`` (row, col)."""

    def __init__(
        self,
        grid: GridMap,
        num_agents: int,
        on_target: Literal["restart", "nothing"] = "restart",
        obs_radius: int = OBS_RADIUS,
    ) -> None:
        free = len(grid.free_cells)
        if num_agents < 1 or num_agents > free:
            raise BadInputError(
                f"agents: map {grid.name} has {free} free cells; cannot place {num_agents} agents (use fewer agents)"
            )
        self.grid = grid
        self.blocked = np.ascontiguousarray(grid.obstacles, dtype=np.bool_)
        # soft_resolve's one compiled type: contiguous rows/cols, a read-only map (as the shield's cached maps are)
        self._blocked_ro = self.blocked.view()
        self._blocked_ro.flags.writeable = False
        self.num_agents = num_agents
        self.on_target = on_target
        self.obs_radius = obs_radius
        self.label = components(self.blocked)
        h, w = grid.shape
        self.width = w
        self.pos = np.zeros((num_agents, 2), dtype=np.int64)
        self.goal = np.zeros((num_agents, 2), dtype=np.int64)
        self._rngs: list[np.random.Generator] = []
        self._by_component: dict[int, np.ndarray] = {}
        labels = self.label.ravel()
        targets = grid.targets.ravel() if grid.targets is not None else None
        for comp in np.unique(labels[labels >= 0]):
            cells = np.flatnonzero((labels == comp) & (targets if targets is not None else True))
            self._by_component[int(comp)] = cells

    def reset(self, seed: int) -> None:
        """Seeded starts (distinct; on ``@`` cells if the map has them) and goals (distinct, in the start's
        component, never the start itself); one generator per agent for later lifelong goals."""
        rng = np.random.default_rng(seed)
        starts_mask = ~self.blocked if self.grid.starts is None else (self.grid.starts & ~self.blocked)
        candidates = np.flatnonzero(starts_mask.ravel())
        if len(candidates) < self.num_agents:
            candidates = self.grid.free_cells
        starts = rng.choice(candidates, size=self.num_agents, replace=False)
        taken: set[int] = set()
        goals = np.empty(self.num_agents, dtype=np.int64)
        for i, s in enumerate(starts):
            pool = self._by_component[int(self.label.ravel()[s])]
            for _ in range(64):
                g = int(pool[rng.integers(len(pool))])
                if g != s and g not in taken:
                    break
            else:  # tiny component or crowded: any other cell will do
                g = int(pool[rng.integers(len(pool))])
            taken.add(g)
            goals[i] = g
        self.pos[:] = np.stack(np.divmod(starts, self.width), axis=1)
        self.goal[:] = np.stack(np.divmod(goals, self.width), axis=1)
        self._rngs = [np.random.default_rng(s) for s in rng.integers(np.iinfo(np.int32).max, size=self.num_agents)]

    def new_goal(self, agent: int) -> tuple[int, int]:
        """POGEMA's ``generate_new_target``: a random cell of the agent's component other than where it is."""
        r, c = self.pos[agent]
        here = int(r * self.width + c)
        pool = self._by_component[int(self.label[r, c])]
        rng = self._rngs[agent]
        for _ in range(64):
            g = int(pool[rng.integers(len(pool))])
            if g != here or len(pool) == 1:
                break
        return divmod(g, self.width)

    def step(self, actions: np.ndarray) -> MapfStep:
        """Apply ``(N,) int`` actions under the soft collision rules; in lifelong mode refresh reached goals."""
        acts = np.asarray(actions, dtype=np.int64)
        if acts.shape != (self.num_agents,) or acts.min(initial=0) < 0 or acts.max(initial=0) > 4:
            raise ValueError(f"actions must be ({self.num_agents},) ints in 0..4")
        rows, cols = np.ascontiguousarray(self.pos[:, 0]), np.ascontiguousarray(self.pos[:, 1])
        executed = soft_resolve(rows, cols, acts, self._blocked_ro)
        self.pos[:, 0] += DR[executed]
        self.pos[:, 1] += DC[executed]
        on_goal = np.all(self.pos == self.goal, axis=1)
        if self.on_target == "restart":
            for i in np.flatnonzero(on_goal):
                self.goal[i] = self.new_goal(int(i))
        return MapfStep(on_goal=on_goal, executed=executed)

    def cells(self, xy: np.ndarray) -> np.ndarray:
        """``(N, 2)`` (row, col) -> ``(N,) int64`` row-major cell indices."""
        return xy[:, 0] * self.width + xy[:, 1]
