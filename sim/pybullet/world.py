"""A thin PyBullet world: one DIRECT client, robots from URDF, boxes and pads from primitives.

Everything PyBullet-specific about building and querying the scene lives here; motion lives in
``motion.py`` and task rules in the adapters.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from fleetmind.robots.errors import BadInputError
from fleetmind.robots.scene import Item
from fleetmind.sim.pybullet._quiet import import_pybullet, quiet_fds
from fleetmind.sim.pybullet.config import URDF_DIR

log = logging.getLogger(__name__)

ROBOT_GROUP, PASSIVE_GROUP = 1, 2


class URDFError(BadInputError):
    """A robot URDF that cannot be loaded (one line: the path and why); the command line exits 2."""


@dataclass(frozen=True)
class Body:
    """Geometry a controller needs: base height above ground, front reach (where a carried box sits),
    wheel track and radius, flying or not."""

    urdf: str
    z: float
    reach: float
    radius: float
    track: float = 0.18
    wheel_radius: float = 0.04
    flying: bool = False
    static: bool = False  # a fixed arm: its grasp point moves, not its base
    left: tuple[str, ...] = ("left_wheel_joint",)
    right: tuple[str, ...] = ("right_wheel_joint",)


def body_of(kind: str, data_path: str) -> Body:
    if kind == "diff_drive":
        return Body(str(URDF_DIR / "diff_drive.urdf"), 0.04, 0.17, 0.125)
    if kind == "lifter":
        return Body(str(URDF_DIR / "lifter.urdf"), 0.05, 0.25, 0.19, track=0.28, wheel_radius=0.05)
    if kind == "quadrotor":
        return Body(str(URDF_DIR / "quadrotor.urdf"), 0.5, 0.0, 0.06, flying=True)
    if kind == "husky":
        left, right = ("front_left_wheel", "rear_left_wheel"), ("front_right_wheel", "rear_right_wheel")
        return Body(str(Path(data_path) / "husky" / "husky.urdf"), 0.17, 0.6, 0.5, 0.555, 0.165, left=left, right=right)
    if kind == "panda":
        return Body(str(Path(data_path) / "franka_panda" / "panda.urdf"), 0.0, 0.0, 0.1, static=True)
    raise ValueError(f"unknown robot kind {kind!r}")


def yaw_quat(p: Any, yaw: float) -> tuple[float, float, float, float]:
    return (0.0, 0.0, math.sin(yaw / 2), math.cos(yaw / 2))


class PhysicsWorld:
    """One PyBullet DIRECT client. ``kinematic``: no gravity stepping, collisions only between robots."""

    def __init__(self, kinematic: bool, physics_hz: int, kind: str, urdf: str | None = None) -> None:
        self.p, data_path = import_pybullet()
        self.kinematic = kinematic
        self.dt = 1.0 / physics_hz
        self.body = body_of(kind, data_path)
        if urdf is not None:
            self.body = dataclasses.replace(self.body, urdf=urdf)
        self.data_path = data_path
        with quiet_fds():
            self.cid = self.p.connect(self.p.DIRECT)
        self.robots: dict[str, int] = {}
        self.items: dict[str, int] = {}
        self.left_joints: tuple[int, ...] = ()
        self.right_joints: tuple[int, ...] = ()
        self.t = 0.0

    # --------------------------------------------------------------------------------------------- building
    def reset(self) -> None:
        p, c = self.p, self.cid
        with quiet_fds():
            p.resetSimulation(physicsClientId=c)
            p.setGravity(0, 0, -9.81, physicsClientId=c)
            p.setTimeStep(self.dt, physicsClientId=c)
            plane = p.loadURDF(str(Path(self.data_path) / "plane.urdf"), physicsClientId=c)
        self._passive(plane)
        self.robots, self.items, self.t = {}, {}, 0.0

    def _passive(self, body: int) -> None:
        if self.kinematic:
            self.p.setCollisionFilterGroupMask(body, -1, PASSIVE_GROUP, 0, physicsClientId=self.cid)

    def add_robot(self, name: str, x: float, y: float, yaw: float, z: float | None = None) -> int:
        p, c = self.p, self.cid
        z = self.body.z if z is None else z
        try:
            with quiet_fds():
                body = p.loadURDF(
                    self.body.urdf,
                    [x, y, z],
                    yaw_quat(p, yaw),
                    useFixedBase=self.body.static,
                    physicsClientId=c,
                    flags=p.URDF_ENABLE_CACHED_GRAPHICS_SHAPES,
                )
        except p.error as exc:
            raise URDFError(f"cannot load robot URDF {self.body.urdf}: {exc}") from None
        self.robots[name] = body
        if not self.left_joints and not self.body.flying and not self.body.static:
            names = {
                p.getJointInfo(body, j, physicsClientId=c)[1].decode(): j
                for j in range(p.getNumJoints(body, physicsClientId=c))
            }
            self.left_joints = tuple(names[w] for w in self.body.left if w in names)
            self.right_joints = tuple(names[w] for w in self.body.right if w in names)
        if self.kinematic:
            for link in range(-1, p.getNumJoints(body, physicsClientId=c)):
                p.setCollisionFilterGroupMask(body, link, ROBOT_GROUP, ROBOT_GROUP, physicsClientId=c)
        elif not self.body.flying and not self.body.static:
            for link in range(p.getNumJoints(body, physicsClientId=c)):
                if link not in (*self.left_joints, *self.right_joints):  # the caster slides
                    p.changeDynamics(body, link, lateralFriction=0.0, physicsClientId=c)
        return body

    def add_item(self, item: Item, collide: bool = True) -> int:
        """A box (``mass > 0`` or ``collide``) or a flat visual-only pad."""
        p, c = self.p, self.cid
        half = [s / 2 for s in item.size]
        visual = p.createVisualShape(p.GEOM_BOX, halfExtents=half, rgbaColor=item.rgba, physicsClientId=c)
        shape = p.createCollisionShape(p.GEOM_BOX, halfExtents=half, physicsClientId=c) if collide else -1
        body = p.createMultiBody(item.mass if collide else 0.0, shape, visual, list(item.pos), physicsClientId=c)
        if collide:
            self._passive(body)
        self.items[item.key] = body
        return body

    def remove_item(self, key: str) -> None:
        body = self.items.pop(key, None)
        if body is not None:
            self.p.removeBody(body, physicsClientId=self.cid)

    # --------------------------------------------------------------------------------------------- poses
    def pose(self, body: int) -> tuple[float, float, float, float]:
        """(x, y, z, yaw) of a body's base."""
        pos, orn = self.p.getBasePositionAndOrientation(body, physicsClientId=self.cid)
        x, y, z, w = orn
        yaw = math.atan2(2 * (w * z + x * y), 1 - 2 * (y * y + z * z))
        return pos[0], pos[1], pos[2], yaw

    def set_pose(self, body: int, x: float, y: float, z: float, yaw: float) -> None:
        self.p.resetBasePositionAndOrientation(body, [x, y, z], yaw_quat(self.p, yaw), physicsClientId=self.cid)

    def item_pose(self, key: str) -> tuple[float, float, float, float]:
        return self.pose(self.items[key])

    def mass(self, key: str) -> float:
        return float(self.p.getDynamicsInfo(self.items[key], -1, physicsClientId=self.cid)[0])

    # --------------------------------------------------------------------------------------------- physics
    def step(self) -> None:
        if not self.kinematic:
            self.p.stepSimulation(physicsClientId=self.cid)
        self.t += self.dt

    def robot_contacts(self) -> set[tuple[str, str]]:
        """Pairs of robots whose collision shapes touch now (names sorted within each pair)."""
        p, c = self.p, self.cid
        if self.kinematic:
            p.performCollisionDetection(physicsClientId=c)
        name_of = {b: n for n, b in self.robots.items()}
        pairs = set()
        for pt in p.getContactPoints(physicsClientId=c):
            a, b = name_of.get(pt[1]), name_of.get(pt[2])
            if a is not None and b is not None and a != b:
                pairs.add((min(a, b), max(a, b)))
        return pairs

    def camera(self, name: str, width: int, height: int, fov: float) -> np.ndarray:
        """RGB image ``(H, W, 3) uint8`` from a robot's front (TinyRenderer, headless)."""
        p, c = self.p, self.cid
        x, y, z, yaw = self.pose(self.robots[name])
        eye = [x + 0.1 * math.cos(yaw), y + 0.1 * math.sin(yaw), z + 0.15]
        target = [x + math.cos(yaw), y + math.sin(yaw), z + 0.05]
        view = p.computeViewMatrix(eye, target, [0, 0, 1], physicsClientId=c)
        proj = p.computeProjectionMatrixFOV(fov, width / height, 0.02, 20.0, physicsClientId=c)
        _, _, rgba, _, _ = p.getCameraImage(width, height, view, proj, renderer=p.ER_TINY_RENDERER, physicsClientId=c)
        return np.asarray(rgba, dtype=np.uint8).reshape(height, width, 4)[:, :, :3].copy()

    def close(self) -> None:
        if self.cid is not None and self.cid >= 0:
            with contextlib.suppress(self.p.error):  # already gone
                self.p.disconnect(physicsClientId=self.cid)
            self.cid = -1
