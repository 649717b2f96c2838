"""Fixed arms (pybullet_data's Franka Panda) as BoxNet robots: the grasp point moves, the base stays.

A "drive" of a static robot moves its grasp point over the floor at ``HAND_Z``; inverse kinematics gives
the joint angles, set directly (kinematic) or tracked by the joint position motors (dynamic).
"""

from __future__ import annotations

import math

from fleetmind.sim.pybullet.world import PhysicsWorld

ARM_JOINTS: tuple[int, ...] = tuple(range(7))
EE_LINK = 11  # panda_grasptarget
REST: tuple[float, ...] = (0.0, -0.2, 0.0, -2.2, 0.0, 2.0, 0.8)
HAND_Z = 0.13  # grasp point height at a box: just above a 0.1 m box
TRAVEL_Z = 0.3  # grasp point height in between: above the other boxes, with a carried box below
SPEED = 0.5  # m/s of the grasp point
MIN_RADIUS = 0.3  # the grasp point stays this far from the base (closer is out of the arm's reach)
LOWER = [-2.9, -1.76, -2.9, -3.07, -2.9, -0.02, -2.9]
UPPER = [2.9, 1.76, 2.9, -0.07, 2.9, 3.75, 2.9]
RANGES = [u - lo for u, lo in zip(UPPER, LOWER, strict=True)]


class Arms:
    """Grasp-point targets and inverse kinematics for every static robot of a world."""

    def __init__(self, world: PhysicsWorld) -> None:
        self.world = world
        self.hand: dict[str, tuple[float, float, float]] = {}
        self.rest: dict[str, tuple[float, float, float]] = {}

    def reset(self) -> None:
        p, c = self.world.p, self.world.cid
        for name, body in self.world.robots.items():
            for j, q in zip(ARM_JOINTS, REST, strict=True):
                p.resetJointState(body, j, q, physicsClientId=c)
            x, y, _, yaw = self.world.pose(body)
            self.rest[name] = (x + 0.35 * math.cos(yaw), y + 0.35 * math.sin(yaw), HAND_Z)
            self.hand[name] = self.rest[name]
            self._solve(name, self.rest[name], kinematic=True)

    def grasp_point(self, robot: str) -> tuple[float, float, float]:
        p, c = self.world.p, self.world.cid
        pos = p.getLinkState(self.world.robots[robot], EE_LINK, physicsClientId=c)[4]
        return pos[0], pos[1], pos[2]

    def _solve(self, robot: str, target: tuple[float, float, float], kinematic: bool) -> None:
        p, c = self.world.p, self.world.cid
        body = self.world.robots[robot]
        down = p.getQuaternionFromEuler([math.pi, 0.0, 0.0])
        q = p.calculateInverseKinematics(
            body,
            EE_LINK,
            target,
            down,
            lowerLimits=LOWER,
            upperLimits=UPPER,
            jointRanges=RANGES,
            restPoses=REST,
            maxNumIterations=30,
            physicsClientId=c,
        )  # null-space IK keeps the arm near its rest pose
        if kinematic:
            for j in ARM_JOINTS:
                p.resetJointState(body, j, q[j], physicsClientId=c)
        else:
            p.setJointMotorControlArray(
                body, ARM_JOINTS, p.POSITION_CONTROL, targetPositions=q[:7], forces=[200.0] * 7, physicsClientId=c
            )

    def move(self, robot: str, x: float, y: float) -> bool:
        """Move the grasp point one tick towards ``(x, y)`` (the base position means: back to rest)."""
        bx, by, _, _ = self.world.pose(self.world.robots[robot])
        r = math.hypot(x - bx, y - by)
        if r < 0.2:
            x, y, _ = self.rest[robot]
        elif r < MIN_RADIUS:
            x, y = bx + (x - bx) * MIN_RADIUS / r, by + (y - by) * MIN_RADIUS / r
        hx, hy, hz = self.hand[robot]
        dist = math.hypot(x - hx, y - hy)
        step = SPEED * self.world.dt
        # lift to TRAVEL_Z first, cross over the other boxes, come down to HAND_Z over the target
        want_z = HAND_Z if dist <= step else TRAVEL_Z
        if abs(hz - want_z) > 1e-9:
            nz = hz + max(-step, min(step, want_z - hz))
            self.hand[robot] = (hx, hy, nz)
        elif dist <= step:
            self.hand[robot] = (x, y, HAND_Z)
        else:
            self.hand[robot] = (hx + (x - hx) * step / dist, hy + (y - hy) * step / dist, TRAVEL_Z)
        self._solve(robot, self.hand[robot], self.world.kinematic)
        hx, hy, hz = self.hand[robot]
        if math.hypot(x - hx, y - hy) > 1e-9 or abs(hz - HAND_Z) > 1e-9:
            return False
        if self.world.kinematic:
            return True
        gx, gy, _ = self.grasp_point(robot)
        return math.hypot(gx - x, gy - y) < 0.06

    def hold(self) -> None:
        """Dynamic mode: keep every arm tracking its current grasp-point target."""
        for robot, target in self.hand.items():
            self._solve(robot, target, kinematic=False)
