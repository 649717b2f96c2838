"""Hypothesis properties of the four grid tasks over their paper sizes.

Random play draws, at every step, one command per robot uniformly among its legal commands plus
waiting, so every joint command the fleet sees is valid; the properties then check what must hold
after any such step.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fleetmind.robots.commands import COLOURS, Command, Wait
from fleetmind.robots.fleet import Observation, StepResult
from fleetmind.robots.ids import GridCorner, RobotId
from fleetmind.sim.grid.fleet import GridFleet
from fleetmind.tasks.boxlift.rules import BoxLift
from fleetmind.tasks.boxnet1.rules import BoxNet1
from fleetmind.tasks.boxnet2.rules import BoxNet2
from fleetmind.tasks.grid import GridTask
from fleetmind.tasks.warehouse.rules import AT_TARGET, Warehouse
from hypothesis import given, settings
from hypothesis import strategies as st

BOXNET_SIZES = ((2, 2), (2, 4), (4, 4), (4, 8))
WAREHOUSE_ROBOTS = (4, 6, 8, 10)
BOXLIFT_SIZES = ((4, 10), (6, 14), (8, 18), (10, 24))

Factory = Callable[[], GridTask]


def _params(name: str, sizes: tuple[Any, ...], make: Callable[..., GridTask]) -> list[Any]:
    out = []
    for size in sizes:
        args = size if isinstance(size, tuple) else (size,)
        out.append(pytest.param(lambda args=args: make(*args), id=f"{name}-{'x'.join(map(str, args))}"))
    return out


BOXNET1 = _params("boxnet1", BOXNET_SIZES, BoxNet1)
BOXNET2 = _params("boxnet2", BOXNET_SIZES, BoxNet2)
WAREHOUSE = _params("warehouse", WAREHOUSE_ROBOTS, Warehouse)
BOXLIFT = _params("boxlift", BOXLIFT_SIZES, BoxLift)
ALL_TASKS = BOXNET1 + BOXNET2 + WAREHOUSE + BOXLIFT

SEEDS = st.integers(min_value=0, max_value=2**32 - 1)
PLAY = settings(max_examples=40, deadline=None)


def random_joint(task: GridTask, rng: random.Random) -> dict[RobotId, Command]:
    """One command per robot, uniform among its legal commands and waiting."""
    return {rid: rng.choice((Wait(), *task.legal(rid))) for rid in task.robot_ids}


def play(fleet: GridFleet, rng: random.Random, steps: int) -> Iterator[tuple[dict[RobotId, Command], StepResult]]:
    """Random legal play until done or ``steps``; yields (commands, result) right after each step, so the
    caller can inspect ``fleet.task`` in the state that step produced."""
    for _ in range(steps):
        commands = random_joint(fleet.task, rng)
        result = fleet.step(commands)
        yield commands, result
        if result.done:
            return


def snapshot(obs: Observation) -> Any:
    return (
        obs.step,
        repr(dict(obs.world)),
        obs.text,
        {r: (repr(dict(o.data)), o.text, o.legal) for r, o in obs.robots.items()},
    )


def hidden(task: GridTask) -> Any:
    """State an observation does not show (BoxLift weights)."""
    return dict(task.weight) if isinstance(task, BoxLift) else None


def boxnet2_clash(task: BoxNet2) -> set[GridCorner]:
    return {k for k, n in Counter(task.boxes.values()).items() if n > 1}


def warehouse_clash(task: Warehouse) -> set[tuple[int, int]]:
    cells = Counter((p.track, p.col) for p in task.pos.values() if p is not AT_TARGET)
    return {cell for cell, n in cells.items() if n > 1}


# --------------------------------------------------------------------------------------------------------------
# Random legal play
# --------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("make", ALL_TASKS)
@PLAY
@given(seed=SEEDS, rng=st.randoms(use_true_random=False), steps=st.integers(1, 25))
def test_box_count_never_grows_under_random_legal_play(
    make: Factory, seed: int, rng: random.Random, steps: int
) -> None:
    task = make()
    fleet = GridFleet(task)
    fleet.reset(seed)
    left = task.metrics()["boxes_left"]
    assert left > 0 or isinstance(task, Warehouse)  # a warehouse may draw empty shelves
    for commands, result in play(fleet, rng, steps):
        now = result.metrics["boxes_left"]
        assert now <= left, f"boxes_left grew from {left} to {now} after {commands}"
        # only a delivery (a warehouse box counts until it reaches the target) or a lift removes a box
        if isinstance(task, BoxLift):  # every lifter of a box gets the event: count boxes
            delivered = sum(lift["lifted"] for lift in result.observation.world["last_lifts"])
        else:
            delivered = sum(1 for e in result.events if e.kind == "delivered")
        assert left - now == delivered
        left = now
        assert result.success == (left == 0 and result.failure_reason is None)
        assert result.done == (result.success or result.failure_reason is not None)
        if isinstance(task, BoxNet1):  # deliveries consume one box and one target of a colour
            boxes = Counter(col for c in task.boxes.values() for col in c.elements())
            targets = Counter(col for c in task.targets.values() for col in c.elements())
            assert boxes == targets
        if isinstance(task, (BoxNet1, BoxLift)):
            assert result.failure_reason in (None, "step_limit")  # these tasks have no collisions


@pytest.mark.parametrize("make", BOXNET2)
@PLAY
@given(seed=SEEDS, rng=st.randoms(use_true_random=False))
def test_boxnet2_collision_is_detected_exactly_when_two_boxes_share_a_corner(
    make: Factory, seed: int, rng: random.Random
) -> None:
    task = make()
    assert isinstance(task, BoxNet2)
    fleet = GridFleet(task)
    fleet.reset(seed)
    assert not boxnet2_clash(task)
    for _, result in play(fleet, rng, 40):
        clashes = boxnet2_clash(task)
        assert (result.failure_reason == "collision") == bool(clashes)
        if clashes:
            assert result.done and not result.success
            # exactly the robots whose cells touch a clashing corner are told
            told = {e.robot for e in result.events if e.kind == "collision"}
            touching = {task.grid.robot_at[c] for k in clashes for c in k.cells(task.grid.rows, task.grid.cols)}
            assert told == touching
        else:
            assert not any(e.kind == "collision" for e in result.events)
        # boxes stay on the lattice
        for k in task.boxes.values():
            assert 0 <= k.row <= task.grid.rows and 0 <= k.col <= task.grid.cols


@pytest.mark.parametrize("make", WAREHOUSE)
@PLAY
@given(seed=SEEDS, rng=st.randoms(use_true_random=False))
def test_warehouse_collision_is_detected_exactly_when_two_robots_share_a_track_cell(
    make: Factory, seed: int, rng: random.Random
) -> None:
    task = make()
    assert isinstance(task, Warehouse)
    fleet = GridFleet(task)
    fleet.reset(seed)
    assert not warehouse_clash(task)
    for _, result in play(fleet, rng, 40):
        clashes = warehouse_clash(task)
        assert (result.failure_reason == "collision") == bool(clashes)
        told = {e.robot for e in result.events if e.kind == "collision"}
        on_clash = {r for r, p in task.pos.items() if p is not AT_TARGET and (p.track, p.col) in clashes}
        assert told == on_clash
        if clashes:
            assert result.done and not result.success
        for p in task.pos.values():  # robots stay on the tracks
            assert p is AT_TARGET or (0 <= p.track < task.tracks and 0 <= p.col < task.cols)


@pytest.mark.parametrize(("make", "clash"), [(BOXNET2[0], boxnet2_clash), (WAREHOUSE[0], warehouse_clash)])
def test_random_play_does_reach_collisions(make: Any, clash: Callable[[Any], set[Any]]) -> None:
    """The collision properties are not vacuous: random play collides in many episodes."""
    make = make.values[0]
    collided = 0
    for seed in range(30):
        fleet = GridFleet(make())
        fleet.reset(seed)
        *_, (_, last) = play(fleet, random.Random(seed), 40)
        if last.failure_reason == "collision":
            assert clash(fleet.task)
            collided += 1
    assert collided >= 5


# --------------------------------------------------------------------------------------------------------------
# Seeds
# --------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("make", ALL_TASKS)
@settings(max_examples=20, deadline=None)
@given(seed=SEEDS, play_seed=st.integers(0, 2**16))
def test_same_seed_gives_the_same_world_and_the_same_episode(make: Factory, seed: int, play_seed: int) -> None:
    a, b = GridFleet(make()), GridFleet(make())
    assert snapshot(a.reset(seed)) == snapshot(b.reset(seed))
    assert hidden(a.task) == hidden(b.task)
    # a fleet reset twice is the same as a fresh one, whatever happened in between
    for _ in play(a, random.Random(play_seed), 5):
        pass
    assert snapshot(a.reset(seed)) == snapshot(b.reset(seed))
    rng = random.Random(play_seed)
    for _ in range(10):
        commands = random_joint(a.task, rng)
        ra, rb = a.step(commands), b.step(commands)
        assert snapshot(ra.observation) == snapshot(rb.observation)
        assert (ra.events, ra.done, ra.failure_reason, ra.metrics) == (
            rb.events,
            rb.done,
            rb.failure_reason,
            rb.metrics,
        )
        if ra.done:
            break


@pytest.mark.parametrize("make", ALL_TASKS)
def test_different_seeds_usually_give_different_worlds(make: Factory) -> None:
    fleet = GridFleet(make())
    worlds = {repr((snapshot(fleet.reset(seed)), hidden(fleet.task))) for seed in range(20)}
    assert len(worlds) >= 18


# --------------------------------------------------------------------------------------------------------------
# Generation
# --------------------------------------------------------------------------------------------------------------

GEN = settings(max_examples=50, deadline=None)


@pytest.mark.parametrize("make", BOXNET1)
@GEN
@given(seed=SEEDS)
def test_boxnet1_generation(make: Factory, seed: int) -> None:
    task = make()
    assert isinstance(task, BoxNet1)
    GridFleet(task).reset(seed)
    assert set(task.boxes) == set(task.targets) == set(task.grid.cells)
    boxes = Counter(col for c in task.boxes.values() for col in c.elements())
    targets = Counter(col for c in task.targets.values() for col in c.elements())
    assert set(boxes) == set(COLOURS)  # every colour has 1..3 boxes
    for colour in COLOURS:
        assert 1 <= boxes[colour] <= 3
        assert targets[colour] == boxes[colour]


@GEN
@given(seed=SEEDS, low=st.integers(1, 4), extra=st.integers(0, 2))
def test_boxnet1_generation_honours_boxes_per_colour(seed: int, low: int, extra: int) -> None:
    task = BoxNet1(2, 4, boxes_per_colour=(low, low + extra))
    GridFleet(task).reset(seed)
    boxes = Counter(col for c in task.boxes.values() for col in c.elements())
    assert all(low <= boxes[colour] <= low + extra for colour in COLOURS)


@pytest.mark.parametrize("make", BOXNET2)
@GEN
@given(seed=SEEDS)
def test_boxnet2_generation(make: Factory, seed: int) -> None:
    task = make()
    assert isinstance(task, BoxNet2)
    GridFleet(task).reset(seed)
    assert sorted(task.boxes) == sorted(COLOURS)  # one box per colour
    assert len(set(task.boxes.values())) == len(COLOURS)  # on distinct corners
    for k in task.boxes.values():
        assert 0 <= k.row <= task.grid.rows and 0 <= k.col <= task.grid.cols
    targets = Counter(col for c in task.targets.values() for col in c.elements())
    assert targets == Counter(COLOURS)


@pytest.mark.parametrize("make", WAREHOUSE)
@GEN
@given(seed=SEEDS)
def test_warehouse_generation(make: Factory, seed: int) -> None:
    task = make()
    assert isinstance(task, Warehouse)
    GridFleet(task).reset(seed)
    assert task.boxes <= set(task.slots)
    assert set(task.pos) == set(task.robot_ids)
    on_tracks = [p for p in task.pos.values() if p is not AT_TARGET]
    assert len({(p.track, p.col) for p in on_tracks}) == len(on_tracks)
    assert not any(p.carrying for p in on_tracks)


@pytest.mark.parametrize("make", BOXLIFT)
@GEN
@given(seed=SEEDS)
def test_boxlift_generation(make: Factory, seed: int) -> None:
    task = make()
    assert isinstance(task, BoxLift)
    GridFleet(task).reset(seed)
    volumes = {v / 2 for v in range(2, 21)}  # 1.0, 1.5, ..., 10.0
    assert sorted(task.volume) == list(range(task.n_boxes)) == sorted(task.weight)
    assert set(task.volume.values()) <= volumes
    assert set(task.capacity) == set(task.robot_ids)
    assert sum(task.capacity.values()) >= max(task.weight.values())
    for c in task.capacity.values():
        assert c >= 0.5 and (2 * c).is_integer()
    for w in task.weight.values():
        assert w >= 0.1 and abs(w * 10 - round(w * 10)) < 1e-9
    # the whole team can lift any single box
    fleet = GridFleet(task)
    fleet.reset(seed)
    heaviest = max(task.weight, key=task.weight.__getitem__)
    result = fleet.step({r: task.parse_action(r, f"lift(box_{heaviest})") for r in task.robot_ids})
    assert {e.kind for e in result.events} == {"lifted"}
