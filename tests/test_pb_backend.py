"""The PyBullet backend: Fleet conformance in dynamic mode (kinematic mode runs in tests/test_conformance.py), the
oracle solves every grid task as on the grid, physics can veto an action, MAPF motion logs contacts, sensors. Kinematic
mode and small sizes keep it fast."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from fleetmind.planners.oracle import make_oracle
from fleetmind.planners.registry import make_planner
from fleetmind.robots.commands import Command, EnterTrack, Lift, MoveBoxToCell, MoveBoxToCorner
from fleetmind.robots.conformance import check_fleet
from fleetmind.robots.ids import GridCell, GridCorner, RobotId
from fleetmind.sim.grid.fleet import GridFleet
from fleetmind.sim.grid.mapf import MapfFleet
from fleetmind.sim.pybullet import PyBulletSettings, make_pybullet_fleet
from fleetmind.sim.pybullet.config import CameraSettings
from fleetmind.sim.pybullet.layout import cell_xy
from fleetmind.tasks.boxlift.rules import BoxLift
from fleetmind.tasks.boxnet1.rules import BoxNet1
from fleetmind.tasks.boxnet2.rules import BoxNet2
from fleetmind.tasks.grid import GridTask
from fleetmind.tasks.mapf_lifelong.maps import random_map
from fleetmind.tasks.warehouse.rules import Warehouse

from fleetmind.app.runner import run_episode

TASKS: list[Any] = [
    pytest.param("boxnet1", lambda: BoxNet1(2, 2), MoveBoxToCell("red", GridCell(-1, 0)), id="boxnet1-2x2"),
    pytest.param("boxnet2", lambda: BoxNet2(2, 2), MoveBoxToCorner("red", GridCorner(-1, 0)), id="boxnet2-2x2"),
    pytest.param("warehouse", lambda: Warehouse(4), EnterTrack(99), id="warehouse-4"),
    pytest.param("boxlift", lambda: BoxLift(4, 10), Lift(999), id="boxlift-4x10"),
]


def _fleet(task: str, make: Callable[[], GridTask], **settings: Any):
    return make_pybullet_fleet(GridFleet(make()), task, PyBulletSettings(**settings))


@pytest.mark.parametrize(("task", "make", "illegal"), TASKS)
def test_oracle_succeeds_in_pybullet_as_on_the_grid(task: str, make: Callable[[], GridTask], illegal: Command):
    for seed in (0, 1):
        grid = run_episode(GridFleet(make()), make_oracle(task), seed)
        fleet = _fleet(task, make)
        try:
            physical = run_episode(fleet, make_oracle(task), seed)
        finally:
            fleet.close()
        assert grid.success and physical.success, (task, seed, physical)
        assert physical.steps == grid.steps  # kinematic mode vetoes nothing the grid allows
        assert physical.extra["sim_time"] > 0


def test_boxnet1_motion_moves_the_box_into_the_next_cell() -> None:
    task = BoxNet1(2, 2)
    fleet = make_pybullet_fleet(GridFleet(task), "boxnet1", PyBulletSettings())
    fleet.reset(0)
    task.set_state({GridCell(0, 0): ["red"]}, {GridCell(1, 1): ["red"]})
    fleet.rebuild()
    result = fleet.step({RobotId("robot_0"): MoveBoxToCell("red", GridCell(0, 1))})
    (key,) = [k for k, m in fleet.adapter.meta.items() if m.mass > 0]
    x, y, z, _ = fleet.world.item_pose(key)
    assert 1.0 < x < 2.0 and 0.0 < y < 1.0 and z == pytest.approx(0.05)  # on the floor of cell (0, 1)
    assert task.boxes[GridCell(0, 1)]["red"] == 1 and not result.done
    rx, ry, _, _ = fleet.world.pose(fleet.world.robots["robot_0"])
    assert (rx, ry) == pytest.approx(cell_xy(0, 0, 1.0))  # back home
    # the drive took time: out to the box, to the border and back at 0.5 m/s plus turns
    assert 2.0 < result.metrics["sim_time"] < 10.0
    fleet.close()


def test_physics_vetoes_a_lift_the_rule_would_allow() -> None:
    """A box whose physical mass exceeds the team's force stays down although the task's weight says
    it lifts: the command becomes a wait, the planner hears ``too_heavy`` and last_lifts says so."""
    task = BoxLift(2, 1)
    fleet = make_pybullet_fleet(GridFleet(task), "boxlift", PyBulletSettings())
    fleet.reset(0)
    team = {r: Lift(0) for r in task.robot_ids}
    p = fleet.world.p
    p.changeDynamics(fleet.world.items["box_0"], -1, mass=1000.0, physicsClientId=fleet.world.cid)
    result = fleet.step(team)
    assert task.volume, "the logical box must still be there"
    assert {e.kind for e in result.events if e.robot in team} >= {"too_heavy"}
    assert result.observation.world["last_lifts"] == [{"box": 0, "lifters": list(team), "lifted": False}]
    p.changeDynamics(fleet.world.items["box_0"], -1, mass=task.weight[0], physicsClientId=fleet.world.cid)
    result = fleet.step(team)
    assert result.success and "box_0" not in fleet.world.items
    fleet.close()


def test_mapf_robots_follow_paths_and_contacts_are_logged() -> None:
    def make() -> MapfFleet:
        return MapfFleet(random_map(10, 10, 0.1, 0), 8, 12)

    fleet = make_pybullet_fleet(make(), "mapf_lifelong", PyBulletSettings())
    record = run_episode(fleet, make_planner("pibt", "mapf_lifelong", {}), 0)
    grid = run_episode(make(), make_planner("pibt", "mapf_lifelong", {}), 0)
    assert record.success and record.extra["avg_throughput"] == grid.extra["avg_throughput"]
    positions = fleet.inner.observe().world["positions"]
    for i, rid in enumerate(fleet.robot_ids):
        x, y, _, _ = fleet.world.pose(fleet.world.robots[rid])
        assert (x, y) == pytest.approx(cell_xy(*positions[i], 1.0))
    # two robots driven into each other are reported as a contact
    assert not fleet.world.robot_contacts()  # every robot on its own cell
    a, b = fleet.world.robots["robot_0"], fleet.world.robots["robot_1"]
    ax, ay, az, _ = fleet.world.pose(a)
    fleet.world.set_pose(b, ax + 0.05, ay, az, 0.0)
    assert ("robot_0", "robot_1") in fleet.world.robot_contacts()
    fleet.close()


def test_odometry_noise_and_camera() -> None:
    make = lambda: BoxNet1(2, 2)  # noqa: E731
    exact = _fleet("boxnet1", make).reset(0)
    noisy = _fleet("boxnet1", make, odometry_noise=0.05).reset(0)
    again = _fleet("boxnet1", make, odometry_noise=0.05).reset(0)
    errors = []
    for rid, ro in exact.robots.items():
        assert ro.data["odometry"][:2] == pytest.approx(cell_xy(*ro.data["cell"], 1.0))
        errors.append(np.subtract(noisy.robots[rid].data["odometry"], ro.data["odometry"]))
        assert noisy.robots[rid].data["odometry"] == again.robots[rid].data["odometry"]  # seeded
    spread = float(np.abs(errors).max())
    assert 0.0 < spread < 0.3
    fleet = _fleet("boxnet1", make, camera=CameraSettings(width=32, height=24))
    fleet.reset(0)
    image = fleet.images[RobotId("robot_0")]
    assert image.shape == (24, 32, 3) and image.dtype == np.uint8 and image.std() > 0
    fleet.close()


def test_dynamic_mode_drives_wheels_and_carries_a_box() -> None:
    """Dynamic mode: the move is carried out by wheel motors and a constraint, and takes longer."""
    task = BoxNet1(2, 2)
    fleet = make_pybullet_fleet(GridFleet(task), "boxnet1", PyBulletSettings(mode="dynamic"))
    obs = fleet.reset(2)
    plan = make_oracle("boxnet1").plan(obs)
    robot, command = next((r, c) for r, c in sorted(plan.items()) if isinstance(c, MoveBoxToCell))
    before = sum(1 for _ in fleet.world.items)
    result = fleet.step({robot: command})
    assert not [e for e in result.events if e.kind == "physics_failure"], result.events
    assert task.boxes[command.cell][command.colour] >= 1
    keys_in_dest = [
        k
        for k, m in fleet.adapter.meta.items()
        if m.mass > 0
        and m.colour == command.colour
        and k in fleet.world.items
        and (math.floor(fleet.world.item_pose(k)[1]), math.floor(fleet.world.item_pose(k)[0]))
        == (command.cell.row, command.cell.col)
    ]
    assert keys_in_dest and sum(1 for _ in fleet.world.items) == before
    wheel = fleet.world.p.getJointState(
        fleet.world.robots[robot], fleet.world.left_joints[0], physicsClientId=fleet.world.cid
    )[0]
    assert abs(wheel) > 1.0  # the wheels turned
    fleet.close()


def test_a_swap_the_grid_allows_is_a_logged_contact_in_3d() -> None:
    """Two warehouse robots swapping cells on a track pass through each other on the grid; in 3D they
    meet head-on, and the contact comes back as events (the logical step still happens)."""
    from fleetmind.tasks.warehouse.rules import AT_TARGET, TrackPos

    task = Warehouse(4)
    fleet = make_pybullet_fleet(GridFleet(task), "warehouse", PyBulletSettings())
    fleet.reset(0)
    ids = task.robot_ids
    task.set_state({(0.5, 4)}, {ids[0]: TrackPos(0, 1), ids[1]: TrackPos(0, 2), ids[2]: AT_TARGET, ids[3]: AT_TARGET})
    fleet.rebuild()
    from fleetmind.robots.commands import TrackMove

    result = fleet.step({ids[0]: TrackMove("right"), ids[1]: TrackMove("left")})
    contacts = [e for e in result.events if e.kind == "contact"]
    assert {e.robot for e in contacts} == {ids[0], ids[1]} and result.metrics["contacts"] == 1
    assert task.pos[ids[0]] == TrackPos(0, 2) and not result.done
    fleet.close()


def test_quadrotors_fly_a_boxnet_step_on_rotor_thrust() -> None:
    fleet = _fleet("boxnet1", lambda: BoxNet1(2, 2), mode="dynamic", robot="quadrotor")
    obs = fleet.reset(0)
    result = fleet.step(make_oracle("boxnet1").plan(obs))
    assert not [e for e in result.events if e.kind == "physics_failure"], result.events
    assert result.metrics["boxes_left"] == 11  # as on the grid after the oracle's first step
    for rid, body in fleet.world.robots.items():
        x, y, z, _ = fleet.world.pose(body)
        home = fleet.adapter.homes[rid]
        assert abs(z - 0.5) < 0.05 and math.hypot(x - home[0], y - home[1]) < 0.06  # hovering at home
    fleet.close()


@pytest.mark.parametrize(
    ("task", "make", "robot"),
    [("boxnet1", lambda: BoxNet1(2, 2), "diff_drive"), ("warehouse", lambda: Warehouse(4), "quadrotor")],
)
def test_dynamic_mode_conforms(task: str, make: Callable[[], GridTask], robot: str) -> None:
    """One sampled legal step only: a dynamic step is seconds of physics (~2.5 s of CPU for a random BoxNet1 step);
    the 50-step legal run of the PyBullet backend is kinematic, in tests/test_conformance.py."""
    check_fleet(lambda: _fleet(task, make, mode="dynamic", robot=robot), legal_steps=1)


def test_panda_arms_serve_boxnet_and_refuse_to_drive() -> None:
    """pybullet_data's Panda as a fixed BoxNet robot: its grasp point carries the box, its base stays."""
    fleet = _fleet("boxnet1", lambda: BoxNet1(2, 2), robot="panda")
    obs = fleet.reset(0)
    result = fleet.step(make_oracle("boxnet1").plan(obs))
    assert result.metrics["boxes_left"] == 11 and not [e for e in result.events if e.kind == "physics_failure"]
    for rid, body in fleet.world.robots.items():
        x, y, z, _ = fleet.world.pose(body)
        assert (x, y) == pytest.approx(fleet.adapter.homes[rid][:2]) and z < 0.1  # bolted to the floor
    fleet.close()
    with pytest.raises(
        ValueError, match="robot kind 'panda' is a fixed arm: it serves boxnet1 and boxnet2, not warehouse"
    ):
        _fleet("warehouse", lambda: Warehouse(4), robot="panda")


def test_dynamic_lift_rises_only_when_the_team_force_beats_the_weight() -> None:
    task = BoxLift(2, 1)
    fleet = make_pybullet_fleet(GridFleet(task), "boxlift", PyBulletSettings(mode="dynamic"))
    fleet.reset(0)
    r0, r1 = task.robot_ids
    task.set_state({r0: 2.0, r1: 1.5}, {0: (3.0, 3.5)})
    fleet.rebuild()
    world, p = fleet.world, fleet.world.p
    assert world.mass("box_0") == pytest.approx(3.5)
    half = fleet.adapter.meta["box_0"].size[2] / 2
    result = fleet.step({r0: Lift(0)})  # 2.0 x g x 1.005 N against 3.5 kg: stays down (the rule agrees)
    assert task.volume and world.item_pose("box_0")[2] == pytest.approx(half, abs=0.01)
    assert [e.kind for e in result.events if e.robot == r0] == ["too_heavy"]
    p.changeDynamics(world.items["box_0"], -1, mass=3.6, physicsClientId=world.cid)
    result = fleet.step({r0: Lift(0), r1: Lift(0)})  # heavier in physics than in the task: vetoed
    assert task.volume and any(e.kind == "too_heavy" and "did not rise" in e.detail for e in result.events)
    p.changeDynamics(world.items["box_0"], -1, mass=3.5, physicsClientId=world.cid)
    result = fleet.step({r0: Lift(0), r1: Lift(0)})  # 3.5 x g x 1.005 N against 3.5 kg: it rises
    assert result.success and "box_0" not in world.items
    fleet.close()
