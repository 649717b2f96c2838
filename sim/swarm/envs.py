"""The swarm worlds as ``gymnasium`` environments (the whole swarm, one joint step) and PettingZoo ``ParallelEnv``s
(one agent each, its own partial observation), so users can train with Stable-Baselines3, RLlib or anything else
that speaks those APIs. fleetmind's own training stays numpy; gymnasium and pettingzoo are optional (``pip install
fleetmind[gym]``): this module is imported only when asked for, and says how to install them when they are missing.

Spaces: an agent observes its world's observation row (``obs_dim`` floats: histogram or RBF embedding of its
neighbours) and acts in ``[-1, 1]`` (1 value, or 2 for the positional worlds), scaled to the world's bound (turn
rate ``max_turn``, frequency adjustment ``max_dfreq``, velocity ``vmax`` per axis). Reward, shared by all agents:
the order parameter (Vicsek, Kuramoto), or minus the centroid distance (aggregation) / shape distance (formation)
in units of the neighbour radius. An episode is truncated after ``max_steps`` steps; it never terminates.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from fleetmind.sim.swarm.formation import FormationWorld
from fleetmind.sim.swarm.world import AggregationWorld, KuramotoWorld, VicsekWorld

try:
    import gymnasium
    from gymnasium import spaces
    from pettingzoo import ParallelEnv
except ImportError as exc:  # pragma: no cover - depends on the install
    raise ImportError(
        f"the swarm environments need gymnasium and pettingzoo ({exc}): pip install 'fleetmind[gym]'"
    ) from None

WORLDS: dict[str, Callable[..., Any]] = {
    "vicsek": VicsekWorld,
    "kuramoto": KuramotoWorld,
    "aggregation": AggregationWorld,
    "formation": FormationWorld,
}
"""World name -> world class; keyword arguments of the environments go to the class."""


def _make_world(world: str, agents: int, kwargs: dict[str, Any]) -> Any:
    if world not in WORLDS:
        raise ValueError(f"world={world!r} is unknown: use one of {', '.join(WORLDS)}")
    return WORLDS[world](agents, **kwargs)


def _action_shape(world: Any) -> tuple[int, ...]:
    return (2,) if isinstance(world, AggregationWorld) else (1,)


def _bound(world: Any) -> float:
    if isinstance(world, VicsekWorld):
        return world.max_turn
    if isinstance(world, KuramotoWorld):
        return world.max_dfreq
    return world.vmax


def _reward(world: Any, order: float) -> float:
    if isinstance(world, AggregationWorld):
        return -order / world.radius
    return order


def _world_actions(world: Any, actions: np.ndarray) -> np.ndarray:
    """``(N, k)`` actions in [-1, 1] -> the world's ``(N,)`` or ``(N, 2)`` commands."""
    a = np.clip(np.asarray(actions, dtype=float), -1.0, 1.0) * _bound(world)
    return a.reshape(world.n, 2) if _action_shape(world) == (2,) else a.reshape(world.n)


class SwarmGymEnv(gymnasium.Env):
    """The whole swarm as one gymnasium environment: observation ``(N, obs_dim)``, action ``(N, k)``."""

    metadata = {"render_modes": []}

    def __init__(self, world: str = "vicsek", agents: int = 50, max_steps: int = 200, **kwargs: Any):
        if isinstance(max_steps, bool) or not isinstance(max_steps, int) or max_steps < 1:
            raise ValueError(f"max_steps={max_steps!r} must be a whole number >= 1")
        self.world = _make_world(world, agents, kwargs)
        self.max_steps = max_steps
        n, k = self.world.n, _action_shape(self.world)[0]
        self.observation_space = spaces.Box(0.0, 1.0, (n, self.world.obs_dim), np.float64)
        self.action_space = spaces.Box(-1.0, 1.0, (n, k), np.float32)
        self._steps = 0

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        first = self.world.reset(int(self.np_random.integers(2**31)) if seed is None else seed)
        self._steps = 0
        return self._clip(first.observation), {"order": first.order}

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict]:
        out = self.world.step(_world_actions(self.world, action))
        self._steps += 1
        return (
            self._clip(out.observation),
            _reward(self.world, out.order),
            False,
            self._steps >= self.max_steps,
            {"order": out.order},
        )

    @staticmethod
    def _clip(obs: np.ndarray) -> np.ndarray:
        return np.clip(obs, 0.0, 1.0)  # the embedding's rounding may leave 1 + 1e-16


class SwarmParallelEnv(ParallelEnv):
    """One PettingZoo agent per swarm agent (``agent_0`` ...): its own observation row and action, a shared
    reward. All agents act every step; all are truncated together after ``max_steps``."""

    metadata = {"name": "fleetmind_swarm_v0", "render_modes": []}

    def __init__(self, world: str = "vicsek", agents: int = 50, max_steps: int = 200, **kwargs: Any):
        self._gym = SwarmGymEnv(world, agents, max_steps, **kwargs)
        self.world = self._gym.world
        self.possible_agents = [f"agent_{i}" for i in range(self.world.n)]
        self.agents: list[str] = []
        k = _action_shape(self.world)[0]
        self._obs_space = spaces.Box(0.0, 1.0, (self.world.obs_dim,), np.float64)
        self._act_space = spaces.Box(-1.0, 1.0, (k,), np.float32)

    def observation_space(self, agent: str) -> spaces.Box:
        return self._obs_space

    def action_space(self, agent: str) -> spaces.Box:
        return self._act_space

    def reset(self, seed: int | None = None, options: dict | None = None) -> tuple[dict, dict]:
        obs, info = self._gym.reset(seed=seed)
        self.agents = list(self.possible_agents)
        return {a: obs[i] for i, a in enumerate(self.agents)}, {a: dict(info) for a in self.agents}

    def step(self, actions: dict[str, np.ndarray]) -> tuple[dict, dict, dict, dict, dict]:
        joint = np.zeros(self._gym.action_space.shape)
        for i, a in enumerate(self.possible_agents):
            if a in actions:
                joint[i] = actions[a]
        obs, reward, _, truncated, info = self._gym.step(joint)
        agents = self.agents
        if truncated:
            self.agents = []
        return (
            {a: obs[i] for i, a in enumerate(agents)},
            {a: reward for a in agents},
            {a: False for a in agents},
            {a: truncated for a in agents},
            {a: dict(info) for a in agents},
        )


def register_envs() -> list[str]:
    """Register ``fleetmind/Vicsek-v0``, ``fleetmind/Kuramoto-v0``, ``fleetmind/Aggregation-v0`` and
    ``fleetmind/Formation-v0`` with gymnasium (``gymnasium.make(id, agents=..., ...)``); returns the ids."""
    ids = []
    for name in WORLDS:
        env_id = f"fleetmind/{name.capitalize()}-v0"
        if env_id not in gymnasium.registry:
            gymnasium.register(env_id, entry_point=SwarmGymEnv, kwargs={"world": name})
        ids.append(env_id)
    return ids
