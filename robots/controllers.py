"""Pure controllers: functions of state in, actuator commands out (no simulator inside).

As in gym-pybullet-drones, the controllers know nothing of PyBullet; ``fleetmind.sim.pybullet`` reads the state
from physics, calls these functions and applies the result (wheel speeds, rotor forces). Tests drive them
with small numpy models of the same plants.

Ground robots: :func:`unicycle_control` (go to a point) and :func:`pure_pursuit` (follow a polyline),
both returning body velocities ``(v, w)``; :func:`wheel_speeds` turns those into wheel angular speeds.
Quadrotors: a cascaded controller, :func:`quad_position_control` (position PID -> collective thrust and
desired roll/pitch/yaw) then :func:`quad_attitude_control` (attitude PD -> body torques), then
:func:`quad_mix` (thrust + torques -> four rotor forces, X configuration).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

GRAVITY = 9.81


def wrap_angle(a: float) -> float:
    """Angle in ``[-pi, pi)``."""
    return (a + math.pi) % (2.0 * math.pi) - math.pi


@dataclass(frozen=True)
class UnicycleGains:
    """Gains and limits of the ground-robot controllers (m/s, rad/s, metres, radians)."""

    k_v: float = 1.5
    k_w: float = 4.0
    max_v: float = 0.5
    max_w: float = 3.0
    turn_in_place: float = 0.6  # heading error above which the robot turns on the spot
    tolerance: float = 0.02  # distance counted as arrived


def unicycle_control(
    pose: tuple[float, float, float], target: tuple[float, float], gains: UnicycleGains = UnicycleGains()
) -> tuple[float, float, bool]:
    """Go-to-point for a unicycle: ``(v, w, arrived)``.

    The speed is proportional to the distance (capped at ``max_v``) and scaled by ``cos`` of the heading
    error, so the robot slows to a stop at the target instead of overshooting; it turns on the spot
    while the heading error exceeds ``turn_in_place``.
    """
    x, y, yaw = pose
    dx, dy = target[0] - x, target[1] - y
    dist = math.hypot(dx, dy)
    if dist <= gains.tolerance:
        return 0.0, 0.0, True
    alpha = wrap_angle(math.atan2(dy, dx) - yaw)
    w = max(-gains.max_w, min(gains.max_w, gains.k_w * alpha))
    if abs(alpha) > gains.turn_in_place:
        return 0.0, w, False
    v = min(gains.max_v, gains.k_v * dist) * math.cos(alpha)
    return v, w, False


def pure_pursuit(
    pose: tuple[float, float, float],
    path: np.ndarray,
    lookahead: float = 0.3,
    gains: UnicycleGains = UnicycleGains(),
) -> tuple[float, float, bool]:
    """Pure pursuit along a polyline ``path`` ``(N, 2) float64``: ``(v, w, arrived)``.

    The goal point is the first path point at least ``lookahead`` away beyond the closest point; near
    the end it becomes the last point and the law falls back to :func:`unicycle_control`, which stops
    without overshoot.
    """
    pts = densify(np.asarray(path, dtype=np.float64).reshape(-1, 2), lookahead / 10.0)
    here = np.array(pose[:2])
    d = np.hypot(*(pts - here).T)
    start = int(np.argmin(d))
    ahead = np.flatnonzero(d[start:] >= lookahead)
    if ahead.size == 0 or start + int(ahead[0]) == len(pts) - 1:
        return unicycle_control(pose, (float(pts[-1, 0]), float(pts[-1, 1])), gains)
    gx, gy = pts[start + int(ahead[0])]
    alpha = wrap_angle(math.atan2(gy - pose[1], gx - pose[0]) - pose[2])
    if abs(alpha) > gains.turn_in_place:
        return 0.0, max(-gains.max_w, min(gains.max_w, gains.k_w * alpha)), False
    v = gains.max_v
    curvature = 2.0 * math.sin(alpha) / max(lookahead, 1e-6)
    w = max(-gains.max_w, min(gains.max_w, v * curvature))
    return v, w, False


def densify(path: np.ndarray, spacing: float) -> np.ndarray:
    """Points every ``spacing`` metres along a polyline ``(N, 2)`` (its vertices kept), ``(M, 2) float64``."""
    out = [path[:1]]
    for a, b in zip(path[:-1], path[1:], strict=True):
        n = max(1, int(math.ceil(float(np.hypot(*(b - a))) / spacing)))
        out.append(a + (b - a) * (np.arange(1, n + 1)[:, None] / n))
    return np.concatenate(out)


def wheel_speeds(v: float, w: float, track: float, radius: float) -> tuple[float, float]:
    """Body velocity -> (left, right) wheel angular speeds in rad/s for a differential drive."""
    return (v - w * track / 2.0) / radius, (v + w * track / 2.0) / radius


# ---------------------------------------------------------------------------------------------- quadrotor


@dataclass(frozen=True)
class QuadParams:
    """Quadrotor constants (Crazyflie 2.x by default): kg, m, N/rpm^2, N m/rpm^2, kg m^2."""

    mass: float = 0.027
    arm: float = 0.0397
    kf: float = 3.16e-10
    km: float = 7.94e-12
    inertia: tuple[float, float, float] = (1.4e-5, 1.4e-5, 2.17e-5)
    thrust2weight: float = 2.25

    @property
    def max_rotor_force(self) -> float:
        return self.thrust2weight * self.mass * GRAVITY / 4.0


@dataclass(frozen=True)
class QuadGains:
    """Cascaded controller gains: position PID (per axis x, y, z) and attitude PD (roll, pitch, yaw)."""

    pos_p: tuple[float, float, float] = (1.5, 1.5, 4.0)
    pos_i: tuple[float, float, float] = (0.05, 0.05, 0.1)
    pos_d: tuple[float, float, float] = (2.2, 2.2, 4.0)
    att_p: tuple[float, float, float] = (120.0, 120.0, 20.0)
    att_d: tuple[float, float, float] = (22.0, 22.0, 6.0)
    max_tilt: float = 0.4  # rad
    max_integral: float = 0.5


@dataclass(frozen=True)
class QuadState:
    """Position, velocity (world frame), roll/pitch/yaw and body rates: each ``(3,) float64``."""

    pos: np.ndarray
    vel: np.ndarray
    rpy: np.ndarray
    omega: np.ndarray = field(default_factory=lambda: np.zeros(3))


def quad_position_control(
    state: QuadState,
    target: np.ndarray,
    target_yaw: float,
    integral: np.ndarray,
    dt: float,
    params: QuadParams = QuadParams(),
    gains: QuadGains = QuadGains(),
) -> tuple[float, np.ndarray, np.ndarray]:
    """Outer loop: ``(collective thrust N, desired rpy (3,), new integral (3,))``.

    Desired acceleration = PID on the position error; thrust is its projection on the body z axis plus
    gravity; roll and pitch follow from the horizontal acceleration in the yaw frame (small angles),
    clipped to ``max_tilt``.
    """
    err = np.asarray(target, dtype=np.float64) - state.pos
    integral = np.clip(integral + err * dt, -gains.max_integral, gains.max_integral)
    acc = np.array(gains.pos_p) * err + np.array(gains.pos_i) * integral - np.array(gains.pos_d) * state.vel
    yaw = float(state.rpy[2])
    c, s = math.cos(yaw), math.sin(yaw)
    ax_b = c * acc[0] + s * acc[1]
    ay_b = -s * acc[0] + c * acc[1]
    pitch = float(np.clip(math.atan2(ax_b, GRAVITY + acc[2]), -gains.max_tilt, gains.max_tilt))
    roll = float(np.clip(math.atan2(-ay_b, GRAVITY + acc[2]), -gains.max_tilt, gains.max_tilt))
    tilt = max(math.cos(state.rpy[0]) * math.cos(state.rpy[1]), 0.5)
    thrust = params.mass * (GRAVITY + acc[2]) / tilt
    thrust = float(np.clip(thrust, 0.0, 4.0 * params.max_rotor_force))
    return thrust, np.array([roll, pitch, target_yaw]), integral


def quad_attitude_control(
    state: QuadState, desired_rpy: np.ndarray, params: QuadParams = QuadParams(), gains: QuadGains = QuadGains()
) -> np.ndarray:
    """Inner loop: body torques ``(3,) float64`` (N m) from an attitude PD (yaw error wrapped)."""
    err = np.asarray(desired_rpy, dtype=np.float64) - state.rpy
    err[2] = wrap_angle(float(err[2]))
    alpha = np.array(gains.att_p) * err - np.array(gains.att_d) * state.omega
    return np.array(params.inertia) * alpha


def quad_mix(thrust: float, torques: np.ndarray, params: QuadParams = QuadParams()) -> np.ndarray:
    """Collective thrust + body torques -> four rotor forces ``(4,) float64`` in N, each clipped to
    ``[0, max_rotor_force]``.

    Rotors (X configuration, as in the URDF): 0 front-right (+x, -y), 1 back-right, 2 back-left,
    3 front-left; 0 and 2 spin one way, 1 and 3 the other (yaw torque = km/kf * (f1 + f3 - f0 - f2)).
    """
    L = params.arm / math.sqrt(2.0)
    gamma = params.km / params.kf
    # rows: thrust, roll torque (about x), pitch torque (about y), yaw torque (about z)
    A = np.array(
        [
            [1.0, 1.0, 1.0, 1.0],
            [-L, -L, L, L],  # roll: rotors at +y (2, 3) push up -> positive roll
            [-L, L, L, -L],  # pitch: rotors at -x (1, 2) push up -> positive pitch (nose down)
            [-gamma, gamma, -gamma, gamma],
        ]
    )
    forces = np.linalg.solve(A, np.array([thrust, *torques]))
    return np.clip(forces, 0.0, params.max_rotor_force)


def quad_wrench(forces: np.ndarray, params: QuadParams = QuadParams()) -> tuple[float, np.ndarray]:
    """Inverse of :func:`quad_mix` without clipping: ``(thrust, torques (3,))`` of four rotor forces."""
    L = params.arm / math.sqrt(2.0)
    gamma = params.km / params.kf
    f = np.asarray(forces, dtype=np.float64)
    thrust = float(f.sum())
    torques = np.array(
        [L * (-f[0] - f[1] + f[2] + f[3]), L * (-f[0] + f[1] + f[2] - f[3]), gamma * (-f[0] + f[1] - f[2] + f[3])]
    )
    return thrust, torques
