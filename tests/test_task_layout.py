"""Each task's metric layout (``Task.scene``, tasks/<name>/layout.py) by hand-worked numbers, and the PyBullet
backend's choices by plug-in type: every registered task has a layout and a motion adapter, a default robot kind."""

from __future__ import annotations

import math

import pytest
from fleetmind.robots.scene import BOX_SIDE, COLOUR_RGBA, GREY
from fleetmind.sim.pybullet.config import PyBulletSettings
from fleetmind.sim.pybullet.fleet import ADAPTERS, adapter_for
from fleetmind.sim.pybullet.layout import scene_of
from fleetmind.tasks import TASKS, Task, get_task
from fleetmind.tasks.boxlift.layout import box_side, box_xy, lane_y, lifter_home
from fleetmind.tasks.boxnet1.layout import pad_xy, ring_slot
from fleetmind.tasks.boxnet2.layout import corner_xy
from fleetmind.tasks.warehouse.layout import parking_xy, track_xy


def test_boxnet1_layout_by_hand():
    world = {
        "task": "boxnet1",
        "robots": {"robot_0": [0, 0], "robot_1": [0, 1]},
        "boxes": [[0, 1, "red"], [0, 1, "red"]],
        "targets": [[0, 0, "blue"], [0, 0, "blue"]],
    }
    scene = get_task("boxnet1").scene(world, cell=2.0, z=0.1, t=3.0)
    assert scene.t == 3.0 and scene.robots == {"robot_0": (1.0, 1.0, 0.1, 0.0), "robot_1": (3.0, 1.0, 0.1, 0.0)}
    first, second = scene.boxes
    assert first.key == "box_red_0_1_0" and first.pos == pytest.approx((3.0 + 0.76, 1.0, BOX_SIDE / 2))
    a = 2 * math.pi / 16  # the second box of a cell takes the next of the 16 ring slots
    assert second.pos[:2] == pytest.approx((3.0 + 0.76 * math.cos(a), 1.0 + 0.76 * math.sin(a)))
    assert first.rgba == COLOUR_RGBA["red"] and first.mass > 0
    (pad,) = scene.targets  # two blue targets in one cell: one pad that takes two boxes
    assert pad.key == "target_blue_0_0" and pad.count == 2 and pad.mass == 0
    assert pad.pos[:2] == pytest.approx((1.0, 1.44))  # blue is first on the inner ring, at +90 degrees
    assert ring_slot(0, 0, 0, 1.0) == pytest.approx((0.88, 0.5)) and pad_xy(0, 0, "blue", 1.0) == pytest.approx(
        (0.5, 0.72)
    )


def test_boxnet2_warehouse_boxlift_mapf_layouts_by_hand():
    world = {"task": "boxnet2", "robots": {"robot_0": [1, 1]}, "boxes": {"green": [1, 2]}, "targets": [[1, 1, "green"]]}
    scene = scene_of(world, cell=1.5)
    assert scene.boxes[0].pos[:2] == pytest.approx((3.0, 1.5)) == corner_xy(1, 2, 1.5)
    assert scene.targets[0].pos[:2] == pytest.approx((2.25, 2.25)) == scene.robots["robot_0"][:2]

    world = {
        "task": "warehouse",
        "tracks": 4,
        "robots": {"robot_0": None, "robot_1": [1, 2, True]},
        "boxes": [[0.5, 3]],
    }
    scene = scene_of(world)
    assert scene.robots["robot_0"][:2] == (0.5, 1.0) == parking_xy(0, 2, 4, 1.0)
    assert scene.robots["robot_1"][:2] == (3.5, 1.5) == track_xy(1, 2, 1.0)
    assert [(b.key, b.pos[:2]) for b in scene.boxes] == [("box_0.5_3", (4.5, 1.0)), ("carried_robot_1", (3.67, 1.5))]
    assert scene.targets[0].size[:2] == (1.0, 4.0)

    world = {"task": "boxlift", "lifters": {"robot_0": 2.0, "robot_1": 1.0}, "boxes": {"0": 8.0, "1": 1.0}}
    scene = scene_of(world)
    assert box_side(8.0) == pytest.approx(0.5) and lifter_home(1, 2, 2, 1.0) == (3.0, 0.5)
    assert scene.robots["robot_1"] == pytest.approx((3.0, 0.5, 0.0, math.pi / 2))
    assert lane_y(2, 1.0) == pytest.approx(1.7) and box_xy(0, 2, 2, 1.0) == pytest.approx((1.0, 2.2))
    assert [(b.key, b.mass, b.size[0], b.rgba) for b in scene.boxes] == [
        ("box_0", 8.0, pytest.approx(0.5), GREY),
        ("box_1", 1.0, pytest.approx(0.25), GREY),
    ]

    world = {"task": "mapf_lifelong", "positions": [(0, 0), (2, 3)], "goals": [(1, 1), (0, 0)]}
    scene = scene_of(world, cell=2.0)
    assert scene.robots == {"robot_0": (1.0, 1.0, 0.0, 0.0), "robot_1": (7.0, 5.0, 0.0, 0.0)}
    assert [(g.key, g.pos[:2], g.size[0]) for g in scene.targets] == [
        ("goal_0", (3.0, 3.0), 0.6),
        ("goal_1", (1.0, 1.0), 0.6),
    ]


class _NoLayout(Task):
    name = "nolayout"
    title = "No layout"

    def size_label(self, config: object) -> str:
        return ""


def test_every_task_has_a_layout_an_adapter_and_a_robot_kind():
    assert {cls.name for cls in ADAPTERS} == set(TASKS)
    for name in TASKS:
        task = get_task(name)
        assert type(task).scene is not Task.scene, f"{name} has no metric layout"
        assert ADAPTERS[type(task)] is adapter_for(task)
    settings = PyBulletSettings()
    assert (
        settings.kind_for(get_task("boxlift")) == "lifter" and settings.kind_for(get_task("warehouse")) == "diff_drive"
    )
    assert PyBulletSettings(robot="husky").kind_for(get_task("boxlift")) == "husky"
    assert sorted(n for n in TASKS if get_task(n).static_robots) == ["boxnet1", "boxnet2"]
    with pytest.raises(ValueError, match="task 'nolayout' has no metric layout"):
        scene_of({"task": "nolayout"}, task=_NoLayout())
    with pytest.raises(ValueError, match=r"no motion for task 'nolayout'; known: boxnet1, boxnet2, warehouse"):
        adapter_for(_NoLayout())
