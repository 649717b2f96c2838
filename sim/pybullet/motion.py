"""Motion primitives and their executor: drive, attach (constraint), release, deliver.

A task step becomes one :class:`Script` per commanded robot; :class:`Executor` runs all scripts of a
step in parallel, tick by tick at the physics rate, until every script has finished or the step's time
is up. ``kinematic``: robots turn then drive straight at their top speed, poses set directly, carried
boxes follow their robot. ``dynamic``: wheel motors (or rotor forces) from the pure controllers in
:mod:`fleetmind.robots.controllers`, carried boxes held by a fixed constraint. Robot-robot contacts are logged.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from fleetmind.robots.controllers import (
    QuadParams,
    QuadState,
    UnicycleGains,
    quad_attitude_control,
    quad_mix,
    quad_position_control,
    quad_wrench,
    unicycle_control,
    wheel_speeds,
    wrap_angle,
)
from fleetmind.sim.pybullet._arm import EE_LINK, Arms
from fleetmind.sim.pybullet.world import PhysicsWorld

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Drive:
    """Drive the robot base to ``(x, y)``; then turn to face ``face`` if given."""

    x: float
    y: float
    face: tuple[float, float] | None = None


@dataclass(frozen=True)
class Attach:
    """Take box ``key`` (it must be within reach of the robot's front)."""

    key: str


@dataclass(frozen=True)
class Release:
    """Put the carried box down (kinematic: at ``at`` when given, else below its carry point)."""

    at: tuple[float, float] | None = None


@dataclass(frozen=True)
class Deliver:
    """The carried box disappears into its target."""


Primitive = Drive | Attach | Release | Deliver


@dataclass
class Script:
    robot: str
    steps: list[Primitive]
    index: int = 0
    failed: str | None = None
    phase: int = 0  # inside a Drive: 0 turn to the goal, 1 drive, 2 turn to face

    @property
    def done(self) -> bool:
        return self.failed is not None or self.index >= len(self.steps)


@dataclass
class Outcome:
    """What a batch of scripts did: failures per robot, new robot-robot contacts, simulated seconds."""

    failed: dict[str, str] = field(default_factory=dict)
    contacts: list[tuple[float, str, str]] = field(default_factory=list)
    seconds: float = 0.0


class Executor:
    """Runs scripts on a :class:`PhysicsWorld`; keeps who carries what across steps."""

    def __init__(self, world: PhysicsWorld, gains: UnicycleGains | None = None, contact_every: int = 4) -> None:
        self.world = world
        self.gains = gains or UnicycleGains()
        self.contact_every = contact_every
        self.carrying: dict[str, str] = {}  # robot -> box key
        self.constraints: dict[str, int] = {}
        self.hold: dict[str, tuple[float, float]] = {}  # quadrotor hover targets
        self.integral: dict[str, np.ndarray] = {}
        self.quad = QuadParams()
        self.on_tick: Callable[[], None] | None = None
        self._touching: set[tuple[str, str]] = set()
        self._cmd: dict[str, tuple[float, float]] = {}
        self.arms = Arms(world)

    def reset(self) -> None:
        self.carrying, self.constraints, self.hold, self.integral = {}, {}, {}, {}
        self._touching = set()
        for name, body in self.world.robots.items():
            x, y, _, _ = self.world.pose(body)
            self.hold[name] = (x, y)
            self.integral[name] = np.zeros(3)
        if self.world.body.static:
            self.arms.reset()

    # ------------------------------------------------------------------------------------------ main loop
    def run(self, scripts: list[Script], timeout: float) -> Outcome:
        out = Outcome()
        t0 = self.world.t
        tick = 0
        while True:
            active = [s for s in scripts if not s.done]
            if not active and (self.world.kinematic or tick > 0):
                break
            if self.world.t - t0 >= timeout:
                for s in active:
                    s.failed = "blocked"
                break
            for s in active:
                self._advance(s)
            if not self.world.kinematic:
                self._actuate({s.robot for s in scripts if not s.done and isinstance(s.steps[s.index], Drive)})
            self._follow()
            self.world.step()
            tick += 1
            if tick % self.contact_every == 0:
                self._contacts(out)
            if self.on_tick is not None:
                self.on_tick()
        if not self.world.kinematic:
            self._settle()
        out.failed = {s.robot: s.failed for s in scripts if s.failed is not None}
        out.seconds = self.world.t - t0
        return out

    def _contacts(self, out: Outcome) -> None:
        now = self.world.robot_contacts()
        for a, b in sorted(now - self._touching):
            out.contacts.append((self.world.t, a, b))
        self._touching = now

    def _settle(self, seconds: float = 0.2) -> None:
        """Dynamic mode: let released boxes come to rest with every robot braking / hovering."""
        for _ in range(int(seconds / self.world.dt)):
            self._actuate(set())
            self.world.step()
            if self.on_tick is not None:  # simulated time passes here too (recorded frames, published poses)
                self.on_tick()

    # ------------------------------------------------------------------------------------------ primitives
    def _advance(self, s: Script) -> None:
        step = s.steps[s.index]
        if isinstance(step, Drive):
            done = self._drive_kinematic(s, step) if self.world.kinematic else self._drive_dynamic(s, step)
            if done:
                s.index += 1
                s.phase = 0
        elif isinstance(step, Attach):
            s.failed = self._attach(s.robot, step.key)
            s.index += 1
        elif isinstance(step, Release):
            self._release(s.robot, step.at)
            s.index += 1
        else:
            key = self.carrying.pop(s.robot, None)
            if key is not None:
                self._unconstrain(s.robot)
                self.world.remove_item(key)
            s.index += 1

    def carry_point(self, robot: str) -> tuple[float, float, float]:
        x, y, z, yaw = self.world.pose(self.world.robots[robot])
        r = self.world.body.reach
        if self.world.body.static:
            gx, gy, gz = self.arms.grasp_point(robot)
            return gx, gy, gz - 0.07
        if self.world.body.flying:
            return x, y, z - 0.08
        return x + r * math.cos(yaw), y + r * math.sin(yaw), -1.0

    def _attach(self, robot: str, key: str) -> str | None:
        if key not in self.world.items:
            return "missing"
        if key in self.carrying.values():
            return "conflict"
        bx, by, bz, _ = self.world.item_pose(key)
        cx, cy, _ = self.carry_point(robot)
        tolerance = 0.05 if self.world.kinematic else 0.15
        if math.hypot(bx - cx, by - cy) > tolerance:
            log.debug("%s cannot reach %s: %.3f m off", robot, key, math.hypot(bx - cx, by - cy))
            return "out_of_reach"
        self.carrying[robot] = key
        if not self.world.kinematic:
            p, c = self.world.p, self.world.cid
            body = self.world.robots[robot]
            _, _, z, _ = self.world.pose(body)
            half = bz  # the box rests on the ground: its centre height is its half side
            offset = [0, 0, -0.1 - half] if self.world.body.flying else [self.world.body.reach, 0, half + 0.01 - z]
            link = -1
            if self.world.body.static:  # held under the grasp point, whose z axis points down
                link, offset = EE_LINK, [0, 0, 0.07]
            self.constraints[robot] = p.createConstraint(
                body, link, self.world.items[key], -1, p.JOINT_FIXED, [0, 0, 0], offset, [0, 0, 0], physicsClientId=c
            )
            p.changeConstraint(self.constraints[robot], maxForce=60.0, physicsClientId=c)
            for link in range(-1, p.getNumJoints(body, physicsClientId=c)):  # carrier and load never collide
                p.setCollisionFilterPair(body, self.world.items[key], link, -1, 0, physicsClientId=c)
        return None

    def _unconstrain(self, robot: str) -> None:
        cid = self.constraints.pop(robot, None)
        if cid is not None:
            self.world.p.removeConstraint(cid, physicsClientId=self.world.cid)

    def _release(self, robot: str, at: tuple[float, float] | None) -> None:
        key = self.carrying.pop(robot, None)
        if key is None:
            return
        self._unconstrain(robot)
        if self.world.kinematic:
            x, y, _ = self.carry_point(robot)
            if at is not None:
                x, y = at
            _, _, z, _ = self.world.item_pose(key)
            half = self._half(key)
            self.world.set_pose(self.world.items[key], x, y, half, 0.0)

    def _half(self, key: str) -> float:
        p = self.world.p
        aabb = p.getAABB(self.world.items[key], physicsClientId=self.world.cid)
        return (aabb[1][2] - aabb[0][2]) / 2

    def _follow(self) -> None:
        """Kinematic mode: carried boxes ride at their robot's carry point."""
        if not self.world.kinematic:
            return
        for robot, key in self.carrying.items():
            x, y, z = self.carry_point(robot)
            _, _, _, yaw = self.world.pose(self.world.robots[robot])
            half = self._half(key)
            self.world.set_pose(self.world.items[key], x, y, half + 0.02 if z < 0 else z, yaw)

    # ------------------------------------------------------------------------------------------ kinematic
    def _drive_kinematic(self, s: Script, d: Drive) -> bool:
        w = self.world
        if w.body.static:
            return self.arms.move(s.robot, d.x, d.y)
        body = w.robots[s.robot]
        x, y, z, yaw = w.pose(body)
        g = self.gains
        if w.body.flying:  # holonomic at cruise height
            dist = math.hypot(d.x - x, d.y - y)
            step = g.max_v * 2 * w.dt
            if dist <= step:
                w.set_pose(body, d.x, d.y, z, yaw)
                return True
            w.set_pose(body, x + (d.x - x) * step / dist, y + (d.y - y) * step / dist, z, yaw)
            return False
        if s.phase == 0:
            if math.hypot(d.x - x, d.y - y) < 1e-6:
                s.phase = 2
                return self._drive_kinematic(s, d)
            if self._turn_to(body, (x, y, z, yaw), math.atan2(d.y - y, d.x - x)):
                s.phase = 1
            return False
        if s.phase == 1:
            dist = math.hypot(d.x - x, d.y - y)
            step = g.max_v * w.dt
            if dist <= step:
                w.set_pose(body, d.x, d.y, z, yaw)
                s.phase = 2
            else:
                w.set_pose(body, x + (d.x - x) * step / dist, y + (d.y - y) * step / dist, z, yaw)
            return False
        if d.face is None:
            return True
        return self._turn_to(body, (x, y, z, yaw), math.atan2(d.face[1] - y, d.face[0] - x))

    def _turn_to(self, body: int, pose: tuple[float, float, float, float], heading: float) -> bool:
        x, y, z, yaw = pose
        err = wrap_angle(heading - yaw)
        step = self.gains.max_w * self.world.dt
        if abs(err) <= step:
            self.world.set_pose(body, x, y, z, heading)
            return True
        self.world.set_pose(body, x, y, z, yaw + math.copysign(step, err))
        return False

    # ------------------------------------------------------------------------------------------ dynamic
    def _drive_dynamic(self, s: Script, d: Drive) -> bool:
        w = self.world
        if w.body.static:
            return self.arms.move(s.robot, d.x, d.y)
        x, y, _, yaw = w.pose(w.robots[s.robot])
        if w.body.flying:
            self.hold[s.robot] = (d.x, d.y)
            vel = w.p.getBaseVelocity(w.robots[s.robot], physicsClientId=w.cid)[0]
            return math.hypot(d.x - x, d.y - y) < 0.05 and math.hypot(*vel) < 0.1
        if s.phase < 2:
            v, om, arrived = unicycle_control((x, y, yaw), (d.x, d.y), self.gains)
            if arrived:
                s.phase = 2
                v, om = 0.0, 0.0
            self._cmd[s.robot] = (v, om)
            return False
        if d.face is None:
            self._cmd[s.robot] = (0.0, 0.0)
            return True
        err = wrap_angle(math.atan2(d.face[1] - y, d.face[0] - x) - yaw)
        if abs(err) < 0.03:
            self._cmd[s.robot] = (0.0, 0.0)
            return True
        om = max(-self.gains.max_w, min(self.gains.max_w, self.gains.k_w * err))
        self._cmd[s.robot] = (0.0, om)
        return False

    def _actuate(self, driving: set[str]) -> None:
        """Dynamic mode: wheel motor targets for ground robots, rotor forces for every quadrotor."""
        w = self.world
        p, c = w.p, w.cid
        if w.body.static:
            self.arms.hold()
            return
        if w.body.flying:
            for name, body in w.robots.items():
                self._rotor_forces(name, body)
            return
        for name, body in w.robots.items():
            v, om = self._cmd.get(name, (0.0, 0.0)) if name in driving else (0.0, 0.0)
            left, right = wheel_speeds(v, om, w.body.track, w.body.wheel_radius)
            joints = (*w.left_joints, *w.right_joints)
            targets = [left] * len(w.left_joints) + [right] * len(w.right_joints)
            p.setJointMotorControlArray(
                body,
                joints,
                p.VELOCITY_CONTROL,
                targetVelocities=targets,
                forces=[20.0] * len(joints),
                physicsClientId=c,
            )
        self._cmd = {}

    def _rotor_forces(self, name: str, body: int) -> None:
        w = self.world
        p, c = w.p, w.cid
        pos, orn = p.getBasePositionAndOrientation(body, physicsClientId=c)
        lin, ang = p.getBaseVelocity(body, physicsClientId=c)
        rot = np.array(p.getMatrixFromQuaternion(orn)).reshape(3, 3)
        state = QuadState(np.array(pos), np.array(lin), np.array(p.getEulerFromQuaternion(orn)), rot.T @ np.array(ang))
        hx, hy = self.hold.get(name, (pos[0], pos[1]))
        target = np.array([hx, hy, w.body.z])
        extra = 0.0
        key = self.carrying.get(name)
        if key is not None:
            extra = w.mass(key)
        loaded = QuadParams(mass=self.quad.mass + extra)
        thrust, rpy, self.integral[name] = quad_position_control(
            state, target, 0.0, self.integral.get(name, np.zeros(3)), w.dt, loaded
        )
        params = self.quad  # rotor limits are the drone's own
        forces = quad_mix(thrust, quad_attitude_control(state, rpy, params), params)
        L = params.arm / math.sqrt(2.0)
        for i, (fx, fy) in enumerate(((L, -L), (-L, -L), (-L, L), (L, L))):
            p.applyExternalForce(body, -1, [0, 0, float(forces[i])], [fx, fy, 0], p.LINK_FRAME, physicsClientId=c)
        _, torques = quad_wrench(forces, params)
        p.applyExternalTorque(body, -1, [0, 0, float(torques[2])], p.LINK_FRAME, physicsClientId=c)
