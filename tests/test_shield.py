"""The shield as the runner's pipeline stage, for every task.

Properties (hypothesis): random joint plans, drawn from the robots' legal commands on random states, go through
``run_episode`` (plan -> shield -> ``Fleet.step``); a spy wrapped around the fleet re-checks every step it gets
with its own conflict rules, written from the step's outcome (who ended where, what the world reported), not from
the shield's code. Golden cases: each rule by hand, the paper's swap behind ``paper_swaps`` (grid world only), the
failure ``"shield"`` of a planner that cannot replan, ``shield_rejections`` in every record, and MAPF replanning
that executes exactly what POGEMA's soft-collision world would have.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pytest
from fleetmind.planners.mapf import FollowerPlanner, PibtPlanner
from fleetmind.planners.shield import check_plan
from fleetmind.robots.commands import (
    Command,
    EnterTarget,
    EnterTrack,
    GridStep,
    Lift,
    MoveBoxToCell,
    MoveBoxToCorner,
    PickBox,
    TrackMove,
    Wait,
)
from fleetmind.robots.fleet import Observation, StepResult
from fleetmind.robots.ids import GridCell, GridCorner, RobotId
from fleetmind.robots.planner import Planner, PlanningFailed
from fleetmind.sim.grid.fleet import GridFleet
from fleetmind.sim.grid.mapf import MapfFleet
from fleetmind.tasks.boxlift.rules import BoxLift
from fleetmind.tasks.boxnet1.rules import BoxNet1
from fleetmind.tasks.boxnet2.rules import BoxNet2
from fleetmind.tasks.mapf_lifelong.actions import STEPS
from fleetmind.tasks.mapf_lifelong.maps import parse_string_map
from fleetmind.tasks.mapf_lifelong.shield import settle
from fleetmind.tasks.warehouse.rules import TrackPos, Warehouse
from hypothesis import given, settings
from hypothesis import strategies as st

from fleetmind.app.runner import MAX_REPLANS, run_episode, shield_physical
from fleetmind.app.scenario import ScenarioError, parse_scenario

R = [RobotId(f"robot_{k}") for k in range(10)]
TIGHT_MAP = "......\n.#..#.\n......\n..##..\n......"
"""A small crowded map: 10 agents on 26 free cells meet all the time."""


# ----------------------------------------------------------------------------------------------- the spy
def _warehouse_conflicts(before: Observation, commands: Mapping[RobotId, Command], result: StepResult) -> list[str]:
    """Robots that ended on one cell, picked one box, or traded places (also through column 0 and the target)."""
    old, new = before.world["robots"], result.observation.world["robots"]
    out = [e.detail for e in result.events if e.kind in ("collision", "conflict")]
    for a in old:
        for b in old:
            if a >= b or old[a] is None and old[b] is None:
                continue
            pa, pb = _cell(old[a]), _cell(old[b])
            qa, qb = _cell(new[a]), _cell(new[b])
            if pa is not None and pb is not None and (qa, qb) == (pb, pa):
                out.append(f"{a} and {b} swapped on a track")
            for x, y, px, qy in ((a, b, pa, qb), (b, a, pb, qa)):
                if px is not None and px[1] == 0 and _cell(new[x]) is None and old[y] is None and qy == px:
                    out.append(f"{x} left {px} for the target while {y} came in")
    return out


def _cell(p: Sequence[Any] | None) -> tuple[int, int] | None:
    return None if p is None else (int(p[0]), int(p[1]))


def _paper_conflicts(before: Observation, commands: Mapping[RobotId, Command], result: StepResult) -> list[str]:
    """The paper's rules: end-of-step cells and picks only."""
    return [e.detail for e in result.events if e.kind in ("collision", "conflict")]


def _boxnet2_conflicts(before: Observation, commands: Mapping[RobotId, Command], result: StepResult) -> list[str]:
    """Two boxes on one corner after the step, or one box moved by two robots."""
    corners = [tuple(k) for k in result.observation.world["boxes"].values()]
    out = [f"two boxes on {k}" for k in set(corners) if corners.count(k) > 1]
    return out + [e.detail for e in result.events if e.kind == "conflict"]


def _boxnet1_conflicts(before: Observation, commands: Mapping[RobotId, Command], result: StepResult) -> list[str]:
    """Boxes are conserved: each cell loses at most the boxes it held (counted before and after the step)."""
    boxes = before.world["boxes"]
    total_before = len(boxes)
    delivered = sum(1 for e in result.events if e.kind == "delivered")
    out = [] if len(result.observation.world["boxes"]) == total_before - delivered else ["boxes appeared or vanished"]
    return out


def _boxlift_conflicts(before: Observation, commands: Mapping[RobotId, Command], result: StepResult) -> list[str]:
    """A lifter in two teams, or a lift of a box that was already gone."""
    lifts = result.observation.world["last_lifts"]
    seen = [r for lift in lifts for r in lift["lifters"]]
    out = [f"{r} lifted twice" for r in set(seen) if seen.count(r) > 1]
    return out + [f"box_{lift['box']} was gone" for lift in lifts if str(lift["box"]) not in before.world["boxes"]]


def _mapf_conflicts(before: Observation, commands: Mapping[RobotId, Command], result: StepResult) -> list[str]:
    """Every agent whose move stays on the map and off obstacles must arrive (the soft world reverts only moves
    in conflict); and no two agents share a cell or trade cells."""
    blocked = parse_string_map(before.world["grid"]).obstacles
    h, w = blocked.shape
    old = [tuple(p) for p in before.world["positions"]]
    new = [tuple(p) for p in result.observation.world["positions"]]
    delta = {"up": (-1, 0), "down": (1, 0), "left": (0, -1), "right": (0, 1)}
    out = []
    for k, rid in enumerate(before.robot_ids):
        cmd = commands.get(rid)
        if not isinstance(cmd, GridStep):
            continue
        r, c = old[k][0] + delta[cmd.direction][0], old[k][1] + delta[cmd.direction][1]
        if 0 <= r < h and 0 <= c < w and not blocked[r, c] and new[k] != (r, c):
            out.append(f"{rid}'s move {cmd.direction} was reverted: it was in conflict")
    out += ["two agents in one cell"] if len(set(new)) < len(new) else []
    moved = {(o, n) for o, n in zip(old, new, strict=True) if o != n}
    out += ["two agents traded cells" for o, n in moved if (n, o) in moved]
    return out


Conflicts = Callable[[Observation, Mapping[RobotId, Command], StepResult], list[str]]


class Spy:
    """A Fleet that forwards to ``inner`` and re-checks every step it receives with ``conflicts``; ``setup`` lays
    out a state by hand after each reset."""

    def __init__(self, inner: Any, conflicts: Conflicts, setup: Callable[[], None] | None = None) -> None:
        self.inner, self.conflicts, self.setup = inner, conflicts, setup
        self.found: list[str] = []
        self.steps = 0
        self.obs: Observation | None = None

    @property
    def robot_ids(self) -> tuple[RobotId, ...]:
        return self.inner.robot_ids

    def reset(self, seed: int) -> Observation:
        self.obs = self.inner.reset(seed)
        if self.setup is not None:
            self.setup()
            self.obs = self.inner.observe()
        return self.obs

    def step(self, commands: Mapping[RobotId, Command]) -> StepResult:
        assert self.obs is not None
        result = self.inner.step(commands)
        self.found += self.conflicts(self.obs, commands, result)
        self.steps += 1
        self.obs = result.observation
        return result

    def close(self) -> None:
        self.inner.close()


# -------------------------------------------------------------------------------------------- planners
class RandomPlanner(Planner):
    """Per robot a uniform choice among its legal commands and waiting; gives up after ``steps`` steps. Refused
    plans are replanned when ``replans`` (the robots the violations name wait; if they name none, a random half),
    else the episode ends."""

    name = "random"

    def __init__(self, seed: int, steps: int, replans: bool) -> None:
        self.rng = random.Random(seed)
        self.steps, self.replans = steps, replans
        self.refused = 0

    def plan(self, observation: Observation) -> dict[RobotId, Command]:
        if observation.step >= self.steps:
            raise PlanningFailed("enough")
        return {r: self.rng.choice((Wait(), *ro.legal)) for r, ro in observation.robots.items()}

    def replan(
        self, observation: Observation, plan: Mapping[RobotId, Command], violations: Sequence[str]
    ) -> dict[RobotId, Command] | None:
        self.refused += 1
        if not self.replans:
            return None
        named = set(re.findall(r"robot_\d+", " ".join(violations)))
        fixed = {r: c for r, c in plan.items() if r not in named}
        return fixed if len(fixed) < len(plan) else {r: c for r, c in plan.items() if self.rng.random() < 0.5}


class Scripted(Planner):
    """Plays ``plans`` in order (then waits); ``fix`` (if given) is its replan."""

    name = "scripted"

    def __init__(self, plans: list[dict[RobotId, Command]], fix: dict[RobotId, Command] | None = None) -> None:
        self.plans, self.fix = list(plans), fix
        self.seen: list[list[str]] = []

    def plan(self, observation: Observation) -> dict[RobotId, Command]:
        return self.plans.pop(0) if self.plans else {}

    def replan(
        self, observation: Observation, plan: Mapping[RobotId, Command], violations: Sequence[str]
    ) -> dict[RobotId, Command] | None:
        self.seen.append(list(violations))
        return self.fix


# -------------------------------------------------------------------------------------------- properties
TASKS: dict[str, tuple[Callable[[], Any], Conflicts, bool]] = {
    "boxnet1-2x4": (lambda: GridFleet(BoxNet1(2, 4)), _boxnet1_conflicts, True),
    "boxnet2-2x2": (lambda: GridFleet(BoxNet2(2, 2)), _boxnet2_conflicts, True),
    "boxnet2-2x4": (lambda: GridFleet(BoxNet2(2, 4)), _boxnet2_conflicts, True),
    "warehouse-4": (lambda: GridFleet(Warehouse(4)), _warehouse_conflicts, True),
    "warehouse-8": (lambda: GridFleet(Warehouse(8)), _warehouse_conflicts, True),
    "warehouse-6-paper": (lambda: GridFleet(Warehouse(6)), _paper_conflicts, False),
    "boxlift-4x10": (lambda: GridFleet(BoxLift(4, 10)), _boxlift_conflicts, True),
    "mapf-10": (lambda: MapfFleet(parse_string_map(TIGHT_MAP), 10, episode_steps=40), _mapf_conflicts, True),
}


@pytest.mark.parametrize("case", list(TASKS))
@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), steps=st.integers(1, 40), replans=st.booleans())
def test_random_plans_never_reach_the_fleet_with_a_conflict(case: str, seed: int, steps: int, replans: bool) -> None:
    make, conflicts, physical = TASKS[case]
    spy = Spy(make(), conflicts)
    planner = RandomPlanner(seed, steps, replans)
    record = run_episode(spy, planner, seed, physical=physical)
    assert spy.found == [], spy.found
    assert spy.steps == record.steps  # a refused plan that was not replanned never reached the fleet
    # every refusal went back to the planner, except the last one of a step that used up its replans
    gave_up = record.failure_reason == "shield" and replans
    assert record.extra["shield_rejections"] == planner.refused + gave_up
    if gave_up:
        assert planner.refused >= MAX_REPLANS


@pytest.mark.parametrize("case", ["boxnet2-2x4", "warehouse-8", "mapf-10"])
def test_the_spy_sees_conflicts_when_nothing_shields_the_fleet(case: str) -> None:
    """Without the shield stage the same random plans do reach the fleet with conflicts: the spy can fail."""
    make, conflicts, _ = TASKS[case]
    found = 0
    for seed in range(5):
        spy = Spy(make(), conflicts)
        planner = RandomPlanner(seed, 40, replans=False)
        obs = spy.reset(seed)
        while obs.step < 40:
            result = spy.step(planner.plan(obs))
            obs = result.observation
            if result.done:
                break
        found += len(spy.found)
    assert found > 0


# -------------------------------------------------------------------------------------------- golden: rules
def _warehouse(pos: dict[RobotId, TrackPos | None], boxes: set[tuple[float, int]] = frozenset()) -> Observation:
    task = Warehouse(4)
    fleet = GridFleet(task)
    fleet.reset(0)
    task.set_state(set(boxes), pos)
    return fleet.observe()


def test_warehouse_swap_on_a_track_is_refused_unless_the_paper_rules_are_asked_for() -> None:
    obs = _warehouse({R[0]: TrackPos(0, 1), R[1]: TrackPos(0, 2), R[2]: TrackPos(2, 4), R[3]: None})
    plan = {R[0]: TrackMove("right"), R[1]: TrackMove("left")}
    assert check_plan(obs, plan) == [
        "robot_0 and robot_1 would drive through each other between track_0 column_1 and track_0 column_2 "
        "(robots cannot swap places; one of them must wait or turn back)"
    ]
    assert check_plan(obs, plan, physical=False) == []
    # following into a cell that is being left is no swap
    assert check_plan(obs, {R[0]: TrackMove("right"), R[1]: TrackMove("right")}) == []


def test_warehouse_swap_through_column_0_and_the_target_is_refused() -> None:
    obs = _warehouse({R[0]: TrackPos(1, 0), R[1]: TrackPos(0, 2), R[2]: TrackPos(2, 4), R[3]: None})
    plan = {R[0]: EnterTarget(), R[3]: EnterTrack(1)}
    assert check_plan(obs, plan) == [
        "robot_0 and robot_3 would drive through each other between track_1 column_0 and the target "
        "(robots cannot swap places; one of them must wait or turn back)"
    ]
    assert check_plan(obs, plan, physical=False) == []
    assert check_plan(obs, {R[0]: TrackMove("right"), R[3]: EnterTrack(1)}) == []  # it follows robot_0 in


def test_warehouse_end_of_step_rules_hold_in_both_modes() -> None:
    obs = _warehouse({R[0]: TrackPos(0, 1), R[1]: TrackPos(0, 3), R[2]: TrackPos(1, 1), R[3]: None}, {(0.5, 1)})
    for physical in (True, False):
        assert check_plan(obs, {R[0]: TrackMove("right"), R[1]: TrackMove("left")}, physical) == [
            "robot_0 and robot_1 would collide on track_0 column_2"
        ]
        assert check_plan(obs, {R[0]: PickBox(0.5, 1), R[2]: PickBox(0.5, 1)}, physical) == [
            "box_0.5_1 is picked by robot_0 and robot_2 at once"
        ]


def test_boxnet2_rules() -> None:
    task = BoxNet2(2, 2)
    fleet = GridFleet(task)
    fleet.reset(0)
    task.set_state({"red": GridCorner(0, 0), "blue": GridCorner(1, 1)}, {GridCell(0, 0): ["red"]})
    obs = fleet.observe()
    assert check_plan(obs, {R[0]: MoveBoxToCorner("red", GridCorner(1, 1))}) == [
        "box_blue and box_red would collide at position[1.0, 1.0]"
    ]
    assert check_plan(obs, {R[0]: MoveBoxToCorner("red", GridCorner(0, 1))}) == []


def test_boxnet1_refuses_moving_a_box_that_is_not_there() -> None:
    task = BoxNet1(2, 2)
    fleet = GridFleet(task)
    fleet.reset(0)
    task.set_state({GridCell(0, 0): ["red"]}, {GridCell(1, 1): ["red"]})
    obs = fleet.observe()
    assert check_plan(obs, {R[0]: MoveBoxToCell("red", GridCell(0, 1))}) == []
    assert check_plan(obs, {R[1]: MoveBoxToCell("red", GridCell(1, 1))}) == [
        "1 box_red would leave square[0.5, 1.5], which holds 0"
    ]


def test_boxlift_refuses_a_box_already_lifted() -> None:
    task = BoxLift(2, 2)
    fleet = GridFleet(task)
    fleet.reset(0)
    task.set_state({R[0]: 3.0, R[1]: 3.0}, {0: (2.0, 2.0)})
    obs = fleet.observe()
    assert check_plan(obs, {R[0]: Lift(0), R[1]: Lift(0)}) == []
    assert check_plan(obs, {R[0]: Lift(1)}) == ["robot_0 would lift box_1, which is already lifted (boxes left: 0)"]


def _mapf_obs(positions: list[tuple[int, int]], grid: str = "....\n.#..\n....") -> tuple[MapfFleet, Observation]:
    fleet = MapfFleet(parse_string_map(grid), len(positions), episode_steps=10)
    fleet.reset(0)
    fleet.world.pos[:] = np.array(positions)
    return fleet, fleet.observe()


def test_mapf_vertex_and_swap_conflicts() -> None:
    up, down, left, right = STEPS
    _, obs = _mapf_obs([(0, 0), (0, 2), (2, 0), (2, 1)])
    assert obs.world["task"] == "mapf_lifelong"
    assert check_plan(obs, {R[0]: right, R[1]: left}) == [
        "robot_0 and robot_1 would end in cell (0, 1) (vertex conflict)"
    ]
    assert check_plan(obs, {R[2]: right, R[3]: left}) == [
        "robot_2 and robot_3 would swap cells (2, 0) and (2, 1) (edge conflict)"
    ]
    assert check_plan(obs, {R[2]: right, R[3]: right}) == []  # following into a cell being left
    # robot_3 bumps into the obstacle at (1, 1) and stays, so robot_2 following it is a vertex conflict
    assert check_plan(obs, {R[2]: right, R[3]: up}) == [
        "robot_2 and robot_3 would end in cell (2, 1) (vertex conflict)"
    ]
    assert check_plan(obs, {R[0]: right}) == []
    # a rotation of four agents around a 2x2 block is no swap
    _, obs = _mapf_obs([(0, 2), (0, 3), (1, 3), (1, 2)])
    assert check_plan(obs, {R[0]: right, R[1]: down, R[2]: left, R[3]: up}) == []


def test_settle_waits_the_agents_in_conflict_in_cascade() -> None:
    blocked = parse_string_map("....\n....").obstacles
    pos = np.array([[0, 0], [0, 1], [0, 2], [1, 0]])
    # 0 and 1 swap; 2 follows 1 into (0, 1); 3 moves up into (0, 0), which 0 no longer leaves
    acts = np.array([4, 3, 3, 1])
    assert settle(pos, acts, blocked).tolist() == [0, 0, 0, 0]
    assert settle(pos, np.array([4, 4, 0, 4]), blocked).tolist() == [0, 0, 0, 4]  # 1 waits, 0 cannot follow


# -------------------------------------------------------------------------------------------- golden: runner
def test_a_planner_that_cannot_replan_ends_with_shield_and_nothing_executes() -> None:
    task = BoxNet2(2, 2)
    spy = Spy(
        GridFleet(task),
        _boxnet2_conflicts,
        lambda: task.set_state({"red": GridCorner(0, 0), "blue": GridCorner(2, 2)}, {GridCell(0, 0): ["red"]}),
    )
    collide = {R[0]: MoveBoxToCorner("red", GridCorner(1, 1)), R[3]: MoveBoxToCorner("blue", GridCorner(1, 1))}
    planner = Scripted([collide])
    trace: list[dict[str, Any]] = []
    record = run_episode(spy, planner, 0, trace)
    assert (record.success, record.failure_reason, record.steps) == (False, "shield", 0)
    assert record.extra["shield_rejections"] == 1
    assert spy.steps == 0 and planner.seen == [["box_blue and box_red would collide at position[1.0, 1.0]"]]
    assert trace[1]["shield"] == planner.seen[0] and trace[2]["planning_failed"].startswith("shield: ")


def test_a_planner_that_replans_goes_on_and_its_rejections_are_counted() -> None:
    task = Warehouse(4)

    def setup() -> None:
        task.set_state({(0.5, 4)}, {R[0]: TrackPos(0, 1), R[1]: TrackPos(0, 2), R[2]: TrackPos(2, 4), R[3]: None})

    swap = {R[0]: TrackMove("right"), R[1]: TrackMove("left")}
    spy = Spy(GridFleet(task), _warehouse_conflicts, setup)
    planner = Scripted([swap, swap], fix={R[1]: TrackMove("right")})
    record = run_episode(spy, planner, 0)
    assert record.extra["shield_rejections"] == 2 and spy.found == []
    assert len(planner.seen) == 2 and "drive through each other" in planner.seen[0][0]
    assert "would collide on track_0 column_2" in planner.seen[1][0]  # robot_1 moved on, robot_0 would follow
    assert task.pos[R[1]] == TrackPos(0, 4)  # the replanned moves ran, twice
    # the paper's rules let the same swap through (grid world only)
    spy = Spy(GridFleet(task), _paper_conflicts, setup)
    planner = Scripted([swap])
    record = run_episode(spy, planner, 0, physical=False)
    assert record.extra["shield_rejections"] == 0 and planner.seen == []
    assert (task.pos[R[0]], task.pos[R[1]]) == (TrackPos(0, 2), TrackPos(0, 1))


def test_mapf_replanning_executes_what_the_soft_world_would_and_keeps_throughput() -> None:
    """The Follower's plans conflict often on a crowded map; replanned, the episode is step for step the one the
    soft-collision world plays without a shield (same positions, same throughput)."""
    grid = parse_string_map(TIGHT_MAP)
    raw = MapfFleet(grid, 10, episode_steps=30)
    planner = FollowerPlanner()
    obs = raw.reset(3)
    planner.reset(obs, 3)
    path = [obs.world["positions"]]
    while True:
        result = raw.step(planner.plan(obs))
        obs = result.observation
        path.append(obs.world["positions"])
        if result.done:
            break
    spy = Spy(MapfFleet(grid, 10, episode_steps=30), _mapf_conflicts)
    seen: list[Any] = []
    record = run_episode(spy, FollowerPlanner(), 3, on_step=lambda info: seen.append(info))
    assert spy.found == []
    assert record.extra["shield_rejections"] > 0
    assert [path[0]] + [i.result.observation.world["positions"] for i in seen] == path
    assert record.extra["avg_throughput"] == result.metrics["avg_throughput"]


def test_every_planner_family_reports_shield_rejections() -> None:
    pibt = run_episode(MapfFleet(parse_string_map(TIGHT_MAP), 6, episode_steps=10), PibtPlanner(), 0)
    from fleetmind.planners.oracle import make_oracle

    oracle = run_episode(GridFleet(Warehouse(4)), make_oracle("warehouse"), 0)
    assert isinstance(pibt.extra["shield_rejections"], int) and oracle.to_json()["shield_rejections"] == 0


# -------------------------------------------------------------------------------------------- scenarios
def _scenario(backend: str, paper: bool) -> dict[str, Any]:
    world = {"backend": backend, "task": "warehouse", "robots": 4, "paper_swaps": paper}
    return {"name": "wh", "world": world}


def test_paper_swaps_is_grid_only_and_decides_the_physical_rules() -> None:
    assert shield_physical(parse_scenario(_scenario("grid", False))) is True
    paper = parse_scenario(_scenario("grid", True))
    assert shield_physical(paper) is False
    assert shield_physical(parse_scenario(_scenario("pybullet", False))) is True
    with pytest.raises(ScenarioError) as err:
        parse_scenario(_scenario("pybullet", True), "wh.yaml")
    assert str(err.value) == (
        "wh.yaml: world.paper_swaps: the paper's looser rule is for the grid world only (robots with bodies cannot "
        "do it); remove paper_swaps or use backend: grid"
    )
    with pytest.raises(ScenarioError, match=r"^--backend: world.paper_swaps: "):
        paper.with_backend("pybullet")
