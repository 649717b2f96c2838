"""The pure controllers on their own: simple numpy plants, step responses, overshoot bounds."""

from __future__ import annotations

import math

import numpy as np
import pytest
from fleetmind.robots.controllers import (
    GRAVITY,
    QuadParams,
    QuadState,
    UnicycleGains,
    pure_pursuit,
    quad_attitude_control,
    quad_mix,
    quad_position_control,
    quad_wrench,
    unicycle_control,
    wheel_speeds,
    wrap_angle,
)

DT = 1.0 / 240.0


def _unicycle(pose, v, w, dt=DT):
    x, y, yaw = pose
    return (x + v * math.cos(yaw) * dt, y + v * math.sin(yaw) * dt, wrap_angle(yaw + w * dt))


@pytest.mark.parametrize(
    ("goal", "yaw0"), [((1.0, 0.0), 0.0), ((0.0, 1.5), 0.0), ((-1.0, -1.0), 1.0), ((2.0, 0.3), 3.0)]
)
def test_unicycle_reaches_the_goal_without_overshoot(goal, yaw0):
    gains = UnicycleGains()
    pose = (0.0, 0.0, yaw0)
    dist0 = math.hypot(*goal)
    along = []  # progress along the start-goal line
    for k in range(int(30 / DT)):  # noqa: B007 - k is the arrival time below
        v, w, arrived = unicycle_control(pose, goal, gains)
        if arrived:
            break
        assert abs(v) <= gains.max_v + 1e-12 and abs(w) <= gains.max_w + 1e-12
        pose = _unicycle(pose, v, w)
        along.append((pose[0] * goal[0] + pose[1] * goal[1]) / dist0)
    else:
        raise AssertionError("did not arrive in 30 s")
    assert math.hypot(pose[0] - goal[0], pose[1] - goal[1]) <= gains.tolerance
    assert max(along) <= dist0 + 0.01, "overshot the goal by more than 1 cm"
    # it cannot be faster than the speed limit allows, and is not much slower
    assert dist0 / gains.max_v <= k * DT <= dist0 / gains.max_v + 8.0


def test_pure_pursuit_follows_an_l_shaped_path():
    path = np.array([[0.0, 0.0], [1.0, 0.0], [2.0, 0.0], [2.0, 1.0], [2.0, 2.0]])
    pose = (0.0, 0.0, 0.0)
    worst = 0.0
    for _ in range(int(40 / DT)):
        v, w, arrived = pure_pursuit(pose, path, lookahead=0.3)
        if arrived:
            break
        pose = _unicycle(pose, v, w)
        # distance to the path (two straight legs)
        d1 = abs(pose[1]) if pose[0] <= 2.0 else math.hypot(pose[0] - 2.0, pose[1])
        d2 = abs(pose[0] - 2.0) if pose[1] >= 0.0 else math.hypot(pose[0] - 2.0, pose[1])
        worst = max(worst, min(d1, d2))
    assert arrived and math.hypot(pose[0] - 2.0, pose[1] - 2.0) <= 0.02
    assert worst < 0.2, f"cut the corner by {worst:.3f} m"


def test_wheel_speeds_golden():
    assert wheel_speeds(0.4, 0.0, 0.18, 0.04) == pytest.approx((10.0, 10.0))
    assert wheel_speeds(0.0, 1.0, 0.18, 0.04) == pytest.approx((-2.25, 2.25))


def test_mixer_round_trip_and_hover():
    params = QuadParams()
    hover = quad_mix(params.mass * GRAVITY, np.zeros(3), params)
    assert hover == pytest.approx(np.full(4, params.mass * GRAVITY / 4))
    torques = np.array([1e-5, -2e-5, 3e-7])
    thrust, back = quad_wrench(quad_mix(0.3, torques, params), params)
    assert thrust == pytest.approx(0.3) and back == pytest.approx(torques, rel=1e-6)


PARAMS = QuadParams()


def _simulate_quad(target, seconds=6.0, params=PARAMS):
    """Rigid-body quadrotor (small-angle rotation, body rates = Euler rates), forces from the mixer."""
    pos, vel, rpy, omega = np.zeros(3), np.zeros(3), np.zeros(3), np.zeros(3)
    integral = np.zeros(3)
    trace = []
    for _ in range(int(seconds / DT)):
        state = QuadState(pos.copy(), vel.copy(), rpy.copy(), omega.copy())
        thrust, want, integral = quad_position_control(state, target, 0.0, integral, DT, params)
        forces = quad_mix(thrust, quad_attitude_control(state, want, params), params)
        total, torques = quad_wrench(forces, params)
        r, p, y = rpy
        z_body = np.array(
            [
                math.cos(y) * math.sin(p) * math.cos(r) + math.sin(y) * math.sin(r),
                math.sin(y) * math.sin(p) * math.cos(r) - math.cos(y) * math.sin(r),
                math.cos(p) * math.cos(r),
            ]
        )
        acc = total / params.mass * z_body - np.array([0.0, 0.0, GRAVITY])
        vel = vel + acc * DT
        pos = pos + vel * DT
        omega = omega + torques / np.array(params.inertia) * DT
        rpy = rpy + omega * DT
        trace.append(pos.copy())
    return np.array(trace)


def test_quadrotor_altitude_step_response():
    trace = _simulate_quad(np.array([0.0, 0.0, 1.0]))
    z = trace[:, 2]
    rise = np.argmax(z >= 0.9) * DT
    assert 0.3 < rise < 2.5, f"10-90% rise took {rise:.2f} s"
    assert z.max() <= 1.10, f"overshoot {100 * (z.max() - 1):.1f}% > 10%"
    assert abs(z[-1] - 1.0) < 0.02


def test_quadrotor_lateral_step_response():
    trace = _simulate_quad(np.array([1.0, -0.5, 0.5]), seconds=10.0)
    assert np.linalg.norm(trace[-1] - [1.0, -0.5, 0.5]) < 0.05
    assert trace[:, 0].max() <= 1.25, f"x overshoot {trace[:, 0].max() - 1:.2f} m"
    assert trace[:, 1].min() >= -0.5 - 0.15
