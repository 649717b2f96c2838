"""The swarm worlds behind gymnasium and PettingZoo: their own API checkers, short rollouts of every world, action
scaling and truncation."""

from __future__ import annotations

import math
import os

import numpy as np
import pytest

gymnasium = pytest.importorskip("gymnasium")
pytest.importorskip("pettingzoo")
pytestmark = pytest.mark.skipif(os.environ.get("NUMBA_DISABLE_JIT") == "1", reason="env runs need the JIT")


def test_gymnasium_env_passes_the_checker_and_scales_actions():
    from fleetmind.sim.swarm.envs import SwarmGymEnv
    from gymnasium.utils.env_checker import check_env

    env = SwarmGymEnv("vicsek", agents=12, max_steps=5, box=4.0, coupling=0.0, max_turn=0.5)
    check_env(env, skip_render_check=True)
    obs, info = env.reset(seed=3)
    assert obs.shape == (12, 8) and env.action_space.shape == (12, 1)
    theta = env.world.theta.copy()
    obs, reward, terminated, truncated, info = env.step(np.ones((12, 1), np.float32))
    turned = (env.world.theta - theta + math.pi) % (2 * math.pi) - math.pi
    assert turned == pytest.approx(np.full(12, 0.5))  # +1 = max_turn for dt = 1, no coupling
    assert reward == info["order"] and not terminated and not truncated
    for _ in range(4):
        *_, truncated, _ = env.step(env.action_space.sample())
    assert truncated


@pytest.mark.parametrize(
    ("world", "kwargs", "k"),
    [
        ("vicsek", {"observation": "rbf"}, 1),
        ("kuramoto", {}, 1),
        ("aggregation", {"observation": "rbf", "obs_noise": 0.1}, 2),
        ("formation", {"shape": "line"}, 2),
    ],
)
def test_every_world_rolls_out_through_gymnasium_make(world, kwargs, k):
    from fleetmind.sim.swarm.envs import register_envs

    ids = register_envs()
    env = gymnasium.make(f"fleetmind/{world.capitalize()}-v0", agents=9, max_steps=3, box=5.0, **kwargs)
    assert f"fleetmind/{world.capitalize()}-v0" in ids
    obs, _ = env.reset(seed=0)
    total = 0.0
    for _ in range(3):
        obs, reward, _, truncated, info = env.step(env.action_space.sample())
        total += reward
        assert env.observation_space.contains(obs) and np.isfinite(reward)
    assert truncated and env.action_space.shape == (9, k)
    if world in ("aggregation", "formation"):
        assert reward < 0  # minus a distance
    else:
        assert 0 <= reward <= 1


def test_pettingzoo_parallel_env_passes_its_api_test():
    from fleetmind.sim.swarm.envs import SwarmParallelEnv
    from pettingzoo.test import parallel_api_test

    env = SwarmParallelEnv("kuramoto", agents=6, max_steps=8, box=3.0, observation="rbf")
    parallel_api_test(env, num_cycles=20)
    obs, _ = env.reset(seed=1)
    assert set(obs) == {f"agent_{i}" for i in range(6)} and obs["agent_0"].shape == (8,)
    obs, rewards, terms, truncs, infos = env.step({a: np.zeros(1, np.float32) for a in env.agents})
    assert len(set(rewards.values())) == 1 and rewards["agent_0"] == pytest.approx(infos["agent_0"]["order"])


def test_bad_environment_settings_are_refused_in_one_line():
    from fleetmind.sim.swarm.envs import SwarmGymEnv

    for make, needle in [
        (lambda: SwarmGymEnv("boids"), "world='boids'"),
        (lambda: SwarmGymEnv("vicsek", max_steps=0), "max_steps=0"),
        (lambda: SwarmGymEnv("vicsek", agents=0), "agents=0"),
    ]:
        with pytest.raises(ValueError) as err:
            make()
        assert needle in str(err.value) and "\n" not in str(err.value)
