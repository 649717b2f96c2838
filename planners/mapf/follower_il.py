"""``follower_il``: a decentralized lifelong MAPF policy learned by imitation of the centralized ``pibt_flow``.

Each agent decides alone from its own observation (POGEMA semantics, radius 5): the static map, its own goal (its
cost-to-go row on the static map, with ``pibt_flow``'s centrality costs), the cells where it sees other agents now,
and its own memory (last cell, last move, what it saw one step earlier, steps its moves failed, steps since its goal
came). No agent reads another agent's plan, goal or id. Per agent and move, :func:`il_features` makes 17 hand-made
local features plus 5 state features; one of them is the move the agent's own hand-written Follower
(:class:`FollowerCore`, fed the same view) proposes, so the policy is used beside the hand-written rules. A small MLP
(:class:`IlPolicy`, one hidden ReLU layer shared by the five moves) scores each move, and the agent samples its move
from the softmax of the scores at ``temperature`` with its own seeded stream (``splitmix`` of seed, agent index,
step), which breaks ties between agents that see the same picture.

``defer`` (on by default) uses the learned move beside the hand-written rules, not instead of them: an agent takes
its learned move only where its Follower has no way forward (the Follower would wait, or walk into an agent it
sees) and the learned move leads to a cell it sees free; everywhere else it takes the Follower's move. Measured
(argmax, 256 steps): alone, a policy of an earlier run pushed head-on into agents as ``pibt_flow``'s chain moves
taught it (4 validation-random maps, 64 agents: 0.41 goals per step, 92 % of moves reverted); overriding the
Follower wherever the learned cell is free gave 2.72 there but 3.90 on wfi_warehouse at 192 agents (seeds 0-1),
below the Follower alone (4.44); this rule gave 2.76 and 4.36 (same earlier weights; the shipped weights' benchmark
figures are in the README). Weights are trained by ``benchmarks/train_follower_il.py`` (behaviour cloning with
DAgger-style correction) and shipped as ``weights/<name>.npz`` next to this module.
"""

from __future__ import annotations

import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from fleetmind.planners.mapf._common import DistanceCache, splitmix, static_centrality
from fleetmind.planners.mapf._il_kernels import NUM_MOVE_FEATURES, NUM_STATE_FEATURES, il_features
from fleetmind.planners.mapf._kernels import neighbour_table
from fleetmind.planners.mapf.follower import FollowerCore, FollowerPlanner
from fleetmind.robots.errors import BadInputError

WEIGHTS = Path(__file__).resolve().parent / "weights"
# the weights of each agent's own Follower inside ``follower_il`` (FollowerCore's defaults elsewhere): less pull away
# from cells it has seen crowded and from agents it sees standing. On 16 validation-random + 16 validation-mazes maps
# (64 agents) and wfi_warehouse 192 agents seeds 0-1, against FollowerCore's defaults: +2.2 %, +3.6 %, +5.2 %.
FOLLOWER_WEIGHTS: dict[str, float] = {"w_dyn": 6.0, "w_run": 3.0, "w_block": 3.0}
NUM_INPUTS = NUM_MOVE_FEATURES + NUM_STATE_FEATURES


@dataclass
class IlPolicy:
    """Move scores ``relu(x @ w1 + b1) @ w2`` for ``x`` = a move's features next to the agent's state features
    (``(D,)``, D = 22); ``w1``: ``(D, H)``, ``b1``: ``(H,)``, ``w2``: ``(H,)``; ``temperature``: the softmax's."""

    w1: np.ndarray
    b1: np.ndarray
    w2: np.ndarray
    temperature: float = 0.3

    @staticmethod
    def inputs(moves: np.ndarray, state: np.ndarray) -> np.ndarray:
        """``(N, 5, F)`` move features and ``(N, S)`` state -> ``(N, 5, F + S)`` network inputs."""
        return np.concatenate([moves, np.broadcast_to(state[:, None, :], (*moves.shape[:2], state.shape[1]))], axis=2)

    def scores(self, x: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """``(N, 5, D)`` inputs, ``(N, 5) bool`` legal moves -> ``(N, 5)`` scores (-inf where illegal)."""
        s = np.maximum(x @ self.w1 + self.b1, 0.0) @ self.w2
        return np.where(mask, s, -np.inf)

    def save(self, path: Path) -> None:
        """Write the weights through a temporary file beside ``path`` and a rename: the training command's default
        ``path`` is the shipped ``weights/follower_il.npz``, which a crash mid-write must not leave half-written."""
        path = Path(path)
        tmp = path.with_name(f".{path.name}.tmp")
        try:
            with tmp.open("wb") as f:
                np.savez(f, w1=self.w1, b1=self.b1, w2=self.w2, temperature=np.float64(self.temperature))
            os.replace(tmp, path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise

    @classmethod
    def load(cls, name: str = "follower_il") -> IlPolicy:
        """Weights shipped as ``weights/<name>.npz`` (or a path to an ``.npz`` file)."""
        path = Path(name) if name.endswith(".npz") else WEIGHTS / f"{name}.npz"
        if not path.is_file():
            shipped = ", ".join(sorted(p.stem for p in WEIGHTS.glob("*.npz"))) or "none"
            raise BadInputError(f"policy weights: no file {path}; shipped policies: {shipped}")
        try:
            with np.load(path, allow_pickle=False) as data:
                w1, b1, w2 = data["w1"], data["b1"], data["w2"]
                temperature = float(data["temperature"])
        except (OSError, ValueError, KeyError, TypeError) as exc:  # not an .npz, or not this policy's arrays
            reason = exc if zipfile.is_zipfile(path) else "not an .npz archive"  # numpy would suggest unpickling it
            raise BadInputError(
                f"policy weights: {path} is not a follower_il weights file ({reason}); retrain it"
            ) from None
        if w1.shape[0] != NUM_INPUTS or b1.shape != (w1.shape[1],) or w2.shape != (w1.shape[1],):
            raise BadInputError(f"policy weights: {path} holds shapes {w1.shape}/{b1.shape}/{w2.shape}; retrain it")
        return cls(w1, b1, w2, temperature)


class IlCore:
    """Array form of ``follower_il``; every agent's move uses only its own inputs (module doc)."""

    def __init__(
        self,
        blocked: np.ndarray,
        num_agents: int,
        seed: int = 0,
        policy: IlPolicy | str = "follower_il",
        temperature: float | None = None,
        w_static: float = 2.0,
        defer: bool = True,
        follower_weights: dict[str, float] | None = None,
    ) -> None:
        self.blocked = np.ascontiguousarray(blocked, dtype=np.bool_)
        self.nbr = neighbour_table(self.blocked)
        self.num_agents = num_agents
        self.policy = IlPolicy.load(policy) if isinstance(policy, str) else policy
        self.temperature = self.policy.temperature if temperature is None else temperature
        self.defer = defer
        self.guide = np.zeros(num_agents, dtype=np.int64)
        cell_cost = 1.0 + w_static * static_centrality(self.blocked) if w_static > 0 else None
        self.cache = DistanceCache(self.blocked, capacity=num_agents + 64, cell_cost=cell_cost)
        # each agent's own hand-written Follower (same observation, same memory rules): its move is one feature
        weights = FOLLOWER_WEIGHTS if follower_weights is None else follower_weights
        self.follower = FollowerCore(self.blocked, num_agents, seed, **weights)  # type: ignore[arg-type]
        self.moves = np.zeros((num_agents, 5, NUM_MOVE_FEATURES))
        self.state = np.zeros((num_agents, NUM_STATE_FEATURES))
        self.reset(seed)

    def reset(self, seed: int) -> None:
        n = self.num_agents
        self.follower.reset(seed)
        self.seed, self.t = seed, 0
        self.last_pos = np.full(n, -1, dtype=np.int64)
        self.last_action = np.zeros(n, dtype=np.int64)
        self.last_goal = np.full(n, -1, dtype=np.int64)
        self.stuck = np.zeros(n, dtype=np.int64)
        self.age = np.zeros(n, dtype=np.int64)
        self.prev_cell = np.full(n, -1, dtype=np.int64)  # the cell each agent stood on before its current one
        self.last_vis = np.full((n, 1), -1, dtype=np.int64)  # what each agent saw one step earlier
        self.last_nvis = np.zeros(n, dtype=np.int64)

    def observe(self, pos: np.ndarray, goal: np.ndarray, vis: np.ndarray, nvis: np.ndarray) -> np.ndarray:
        """Update each agent's own memory and fill ``self.moves``/``self.state``; returns ``(N, 5) bool`` legal
        moves. ``pos``, ``goal``: ``(N,) int64`` cells; ``vis``: ``(N, V) int64`` cells each agent sees occupied
        (-1 padded), ``nvis``: ``(N,)`` counts."""
        pos = np.asarray(pos, dtype=np.int64)
        goal = np.asarray(goal, dtype=np.int64)
        moved = pos != self.last_pos
        self.prev_cell = np.where(moved, self.last_pos, self.prev_cell)
        tried = (self.last_action != 0) & ~moved
        self.stuck = np.where(tried, self.stuck + 1, np.where(moved, 0, self.stuck))
        self.age = np.where(goal != self.last_goal, 0, self.age + 1)
        rows = self.cache.rows(goal)
        vis = np.ascontiguousarray(vis, dtype=np.int64)
        nvis = np.asarray(nvis, dtype=np.int64)
        self.guide = guide = self.follower.actions(pos, goal, vis, nvis)
        il_features(
            pos,
            self.cache.pool,
            rows,
            self.nbr,
            vis,
            nvis,
            self.last_vis,
            self.last_nvis,
            self.prev_cell,
            self.last_action,
            self.stuck,
            self.age,
            guide,
            self.blocked.shape[1],
            self.moves,
            self.state,
        )
        self.last_pos, self.last_goal = pos.copy(), goal.copy()
        self.last_vis, self.last_nvis = vis.copy(), nvis.copy()
        return self.nbr[pos] >= 0

    def choose(self, mask: np.ndarray) -> np.ndarray:
        """Each agent's move from its own scores: sampled at ``temperature`` (argmax at 0) -> ``(N,) int64``."""
        s = self.policy.scores(IlPolicy.inputs(self.moves, self.state), mask)
        if self.temperature <= 0:
            acts = np.argmax(s, axis=1)
        else:
            z = (s - s.max(axis=1, keepdims=True)) / self.temperature
            p = np.exp(z)
            cdf = np.cumsum(p / p.sum(axis=1, keepdims=True), axis=1)
            u = splitmix(self.seed, np.arange(self.num_agents), self.t)
            acts = np.minimum((cdf < u[:, None]).sum(axis=1), 4)
            acts = np.where(mask[np.arange(self.num_agents), acts], acts, 0)
        if self.defer:  # the learned move only where the agent's own Follower has no way forward (module doc)
            rows = np.arange(self.num_agents)
            guide_stuck = (self.guide == 0) | (self.moves[rows, self.guide, 3] > 0)
            acts = np.where(guide_stuck & (self.moves[rows, acts, 3] == 0), acts, self.guide)
        return acts.astype(np.int64)

    def commit(self, acts: np.ndarray) -> None:
        """Remember ``acts`` (``(N,) int64``) as each agent's move of this step (its own and its Follower's memory)."""
        self.last_action = self.follower.last_action = np.asarray(acts, dtype=np.int64).copy()
        self.t += 1

    def actions(self, pos: np.ndarray, goal: np.ndarray, vis: np.ndarray, nvis: np.ndarray) -> np.ndarray:
        """``(N,) int64`` POGEMA actions, one per agent from its own view (inputs as in :meth:`observe`)."""
        mask = self.observe(pos, goal, vis, nvis)
        acts = self.choose(mask)
        self.commit(acts)
        return acts


class FollowerIlPlanner(FollowerPlanner):
    """The ``follower_il`` planner: decentralized; reads each robot's own observation (cell, goal, agents seen)
    and the static map only, as ``follower`` does (its ``plan``); moves from the imitation-learned policy shipped as
    ``weights/follower_il.npz``."""

    name = "follower_il"

    def make_core(self, blocked: np.ndarray, num_agents: int, seed: int) -> IlCore:  # type: ignore[override]
        return IlCore(blocked, num_agents, seed)
