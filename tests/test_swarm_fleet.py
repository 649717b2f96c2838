"""The swarm's Fleet view: unicycle robots under velocity commands in the swarm world and in PyBullet (kinematic):
the arc and the box by hand, the same alignment law on both backends, refusals (the Fleet conformance suite runs
both in ``tests/test_conformance.py``: ``swarm-unicycle``, ``pybullet-kinematic-swarm``)."""

from __future__ import annotations

import math
import os

import numpy as np
import pytest
from fleetmind.robots.commands import Command, SetVelocity
from fleetmind.robots.errors import IllegalCommandError
from fleetmind.robots.fleet import Observation
from fleetmind.robots.ids import RobotId

pytestmark = pytest.mark.skipif(os.environ.get("NUMBA_DISABLE_JIT") == "1", reason="fleet runs need the JIT")


def test_unicycle_arc_and_box_by_hand():
    from fleetmind.sim.swarm.fleet import keep_in_box, unicycle_arc

    pose = np.array([[1.0, 1.0, 0.0], [1.0, 1.0, math.pi / 2]])
    out = unicycle_arc(pose, np.array([2.0, 1.0]), np.array([0.0, math.pi / 2]), 1.0)
    assert out[0] == pytest.approx([3.0, 1.0, 0.0])  # straight east 2 m
    # a quarter circle to the left, radius 2/pi, from north to west (pi, wrapped to -pi)
    assert out[1] == pytest.approx([1.0 - 2 / math.pi, 1.0 + 2 / math.pi, -math.pi], abs=1e-12)
    walls = keep_in_box(np.array([[4.3, 2.0, 0.2], [2.0, -0.5, -1.0]]), 4.0, periodic=False)
    assert walls == pytest.approx(np.array([[3.7, 2.0, math.pi - 0.2], [2.0, 0.5, 1.0]]))
    torus = keep_in_box(np.array([[4.3, -0.5, 3.0]]), 4.0, periodic=True)
    assert torus == pytest.approx(np.array([[0.3, 3.5, 3.0]]))


def align(obs: Observation, bins: int = 8, speed: float = 0.2, gain: float = 3.0) -> dict[RobotId, Command]:
    """Turn towards the circular mean of the observed relative headings (the histogram's bin centres)."""
    centres = -math.pi + (np.arange(bins) + 0.5) * 2 * math.pi / bins
    out: dict[RobotId, Command] = {}
    for rid, ro in obs.robots.items():
        h = np.asarray(ro.data["observation"])
        turn = math.atan2((h * np.sin(centres)).sum(), (h * np.cos(centres)).sum()) if h.sum() > 0 else 0.0
        out[rid] = SetVelocity(speed, round(max(-2.0, min(2.0, gain * turn)), 4))
    return out


def test_sixteen_robot_alignment_runs_the_same_in_the_swarm_world_and_in_pybullet():
    from fleetmind.sim.pybullet.swarm import PyBulletSwarmFleet
    from fleetmind.sim.swarm.fleet import SwarmFleet

    runs = []
    for fleet in (SwarmFleet(16, box=4.0, step_limit=60), PyBulletSwarmFleet(SwarmFleet(16, box=4.0, step_limit=60),
                                                                               physics_hz=30)):  # fmt: skip
        obs = fleet.reset(0)
        orders = [obs.world["order"]]
        while True:
            result = fleet.step(align(obs))
            obs = result.observation
            orders.append(obs.world["order"])
            if result.done:
                break
        runs.append((orders, obs, result))
        fleet.close()
    (plain, last, result), (bullet, last_pb, result_pb) = runs
    assert plain[0] < 0.4 and plain[-1] > 0.99 and result.success and len(plain) == 61
    assert plain == bullet and result_pb.success  # the same model under both
    for rid, ro in last_pb.robots.items():  # PyBullet's bodies are where the model says
        assert ro.data["odometry"] == pytest.approx(last.robots[rid].data["pose"], abs=2e-4)
    assert result_pb.metrics["sim_time"] == pytest.approx(6.0) and "contacts" in result_pb.metrics


def test_commands_beyond_the_limits_are_refused_and_bad_settings_in_one_line():
    from fleetmind.sim.swarm.fleet import SwarmFleet

    fleet = SwarmFleet(4, box=4.0)
    fleet.reset(1)
    with pytest.raises(IllegalCommandError, match="beyond the limits"):
        fleet.step({RobotId("robot_2"): SetVelocity(0.1, 2.5)})
    with pytest.raises(IllegalCommandError, match="beyond the limits"):
        fleet.step({RobotId("robot_2"): SetVelocity(float("nan"), 0.0)})
    for make, needle in [
        (lambda: SwarmFleet(0), "agents=0"),
        (lambda: SwarmFleet(4, step_limit=0), "step_limit=0"),
        (lambda: SwarmFleet(4, radius=-1.0), "radius=-1.0"),
    ]:
        with pytest.raises(ValueError) as err:
            make()
        assert needle in str(err.value) and "\n" not in str(err.value)
