"""LaCAM*'s costs as the literature names them, its refinement stage, zero agents, MovingAI ``.map``/``.scen`` files
and the one-shot benchmark's ``--scen`` mode."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from fleetmind.planners.mapf import lacam_star, lifelong_core, solution_costs
from fleetmind.planners.mapf._kernels import neighbour_table
from fleetmind.planners.mapf._refine_kernels import lns_refine, st_astar
from fleetmind.planners.mapf.lacam_refiner import Refiner as _Refiner
from fleetmind.tasks.mapf_lifelong._kernels import bfs_distances, components
from fleetmind.tasks.mapf_lifelong.maps import GridMap, load_movingai, parse_string_map, random_map
from fleetmind.tasks.mapf_lifelong.scen import (
    Scenario,
    check_scenario,
    load_scen,
    random_scenario,
    write_movingai,
    write_scen,
)
from fleetmind.tasks.mapf_lifelong.validate import check_paths
from naive import refine_planners as naive

ROOT = Path(__file__).resolve().parents[1]


def _random_32_32_20(seed: int) -> GridMap:
    grid = random_map(32, 32, 0.2, seed=1000 + seed)
    label = components(grid.obstacles)
    return GridMap(grid.name, label != np.bincount(label[label >= 0]).argmax())


def test_sum_of_costs_and_sum_of_loss_on_a_hand_worked_plan():
    # agent 0: goal 5, reaches it at t=1, leaves at t=2, is back at t=3 for good; agent 1 starts on its goal 9 and
    # stays; agent 2: goal 2, arrives at t=3
    cells = np.array([[4, 9, 0], [5, 9, 1], [6, 9, 1], [5, 9, 2]])
    goal = np.array([5, 9, 2])
    soc, loss, makespan = solution_costs(cells, goal)
    assert soc == 3 + 0 + 3  # the last arrival counts, not the first
    assert loss == 3 + 0 + 3  # agent 0 is off its goal in steps 0->1, 1->2 and 2->3
    assert makespan == 3
    cells = np.array([[5, 0], [5, 1], [4, 2], [5, 2]])  # agent 0 waits on its goal (0->1), leaves and returns
    soc, loss, _ = solution_costs(cells, np.array([5, 2]))
    assert (soc, loss) == (3 + 2, 2 + 2)  # the wait on the goal (0->1) is free in the sum of loss only
    assert solution_costs(np.zeros((1, 0), dtype=np.int64), np.zeros(0, dtype=np.int64)) == (0, 0, 0)


@pytest.mark.parametrize(
    "options", [{"anytime": False}, {"anytime": True}, {"refine": False}, {"swap": False}], ids=str
)
def test_zero_agents_give_the_empty_solution(options):
    grid = parse_string_map("...\n.#.")
    none = np.zeros((0, 2), dtype=np.int64)
    result = lacam_star(grid.obstacles, none, none, time_limit=1.0, **options)
    assert result.paths is not None and result.paths.shape == (1, 0, 2)
    assert check_paths(result.paths, grid.obstacles, none, none) == []
    assert (result.sum_of_costs, result.sum_of_loss, result.makespan, result.lower_bound) == (0, 0, 0, 0)
    assert result.first_sum_of_costs == 0 and result.optimal


@pytest.mark.parametrize(
    ("starts", "goals", "message"),
    [
        ([[-1, 0]], [[0, 0]], r"^starts: agent 0 at \(-1, 0\) lies outside the 2x3 map; give free cells"),  # segfaulted
        ([[0, 0], [2, 9]], [[0, 1], [0, 2]], r"^starts: agent 1 at \(2, 9\) lies outside the 2x3 map"),  # IndexError
        ([[1, 1]], [[0, 0]], r"^starts: agent 0 at \(1, 1\) is on an obstacle"),  # was "no solution"
        ([[0, 0], [0, 0]], [[1, 0], [1, 2]], r"^starts: agents 0 and 1 share the cell \(0, 0\)"),  # was "solved"
        ([[0, 0], [1, 0]], [[0, 2], [0, 2]], r"^goals: agents 0 and 1 share the cell \(0, 2\)"),
        ([[0, 0], [1, 0]], [[0, 2]], r"^goals: 1 goals for 2 starts; give one goal per agent"),
        ([[0.0, 0.0]], [[0, 2]], r"^starts: \(N, 2\) integer \(row, col\) cells, got shape \(1, 2\) of float64"),
    ],
)
def test_a_bad_instance_is_refused_in_one_line_naming_the_agent(starts, goals, message):
    from fleetmind.robots.errors import BadInputError

    grid = parse_string_map("...\n.#.")
    with pytest.raises(BadInputError, match=message):
        lacam_star(grid.obstacles, np.array(starts), np.array(goals), time_limit=1.0)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"time_limit": -1.0}, r"^time_limit: a finite number of seconds > 0, got -1.0$"),  # read as "no solution"
        ({"time_limit": float("nan")}, r"^time_limit: a finite number of seconds > 0, got nan$"),
        ({"time_limit": float("inf")}, r"^time_limit: a finite number of seconds > 0, got inf$"),  # never ended
        ({"seed": -1}, r"^seed: an integer >= 0, got -1$"),  # failed deep inside numpy
        ({"node_limit": 0}, r"^node_limit: an integer >= 1, got 0$"),
        ({"group": 0}, r"^group: an integer >= 1, got 0$"),
        ({"tries": 0}, r"^tries: an integer >= 1, got 0$"),
    ],
)
def test_bad_search_options_are_refused_in_one_line(options, message):
    from fleetmind.robots.errors import BadInputError

    grid = parse_string_map("...\n.#.")
    with pytest.raises(BadInputError, match=message):
        lacam_star(grid.obstacles, np.array([[0, 0]]), np.array([[0, 2]]), **{"time_limit": 1.0, **options})


@pytest.mark.parametrize("planner", ["follower", "pibt", "pibt_flow", "pibt_lns"])
def test_zero_agents_every_lifelong_planner_plans_nothing(planner):
    grid = parse_string_map("...\n.#.")
    core = lifelong_core(planner, grid.obstacles, 0, 0)
    none = np.zeros(0, dtype=np.int64)
    args = (none, none, np.zeros((0, 0), dtype=np.int64), none) if planner == "follower" else (none, none)
    assert core.actions(*args).shape == (0,)


def test_zero_agents_refinement_kernel_keeps_nothing():
    nbr = neighbour_table(np.zeros((2, 2), dtype=bool))
    paths = np.zeros((0, 3), dtype=np.int64)
    res = np.full((3, 4), -1, dtype=np.int32)
    scratch = (np.empty(12, np.int32), np.zeros(12, np.int32), np.empty(12, np.int32), np.empty(9, np.int32))
    none = np.zeros(0, dtype=np.int64)
    assert lns_refine(
        paths, none, res, none, np.zeros((0, 4), np.int64), nbr, np.arange(4), np.ones(3), 5, 4, 0, 7, *scratch
    ) == (0, 7)


def test_space_time_astar_waits_for_a_goal_held_late():
    """3x3 open map: agent 1 stands on agent 0's goal (the centre, 4) until t=6, then steps to 5 and rests there;
    agent 0, two steps away in the corner (0), can rest on its goal from t=7 only, and with a limit of 6 not at
    all (the heuristic max(distance, 7 - t) cuts that search at once). Its twin agrees."""
    open_map = np.zeros((3, 3), dtype=bool)
    nbr = neighbour_table(open_map)
    horizon = 12
    res = np.full((horizon + 1, 9), -1, dtype=np.int32)
    res[:7, 4] = 1
    res[7:, 5] = 1
    d = bfs_distances(open_map, 1, 1).ravel().astype(np.int64)
    states = (horizon + 1) * 9
    scratch = np.empty(states, np.int32), np.zeros(states, np.int32), np.empty(states, np.int32)
    head = np.empty(horizon + 9 + 2, np.int32)
    path = np.full(horizon + 1, -7, dtype=np.int64)
    got = st_astar(0, 0, 4, d, res, nbr, 20, path, scratch[0], scratch[1], 1, scratch[2], head)
    assert got == 7 == naive.st_astar_cost(0, 0, 4, d, res, nbr, 20)
    assert (path[7:] == 4).all() and (path[:7] != 4).all() and path[0] == 0 and path[6] != 5
    path[:] = -7
    assert st_astar(0, 0, 4, d, res, nbr, 6, path, scratch[0], scratch[1], 2, scratch[2], head) == -1
    assert naive.st_astar_cost(0, 0, 4, d, res, nbr, 6) == -1 and (path == -7).all()


def test_lacam_star_reports_every_cost_of_the_paths_it_returns():
    grid = _random_32_32_20(2)
    scen = random_scenario(grid, 60, seed=2)
    # the limit is wall time: compile the search first (a fresh clone's numba cache is cold), then give the timed
    # call room on a loaded machine; what is checked is the costs, not the speed
    warm = lacam_star(grid.obstacles, scen.starts, scen.goals, time_limit=120.0, seed=2, anytime=False)
    assert warm.paths is not None
    result = lacam_star(grid.obstacles, scen.starts, scen.goals, time_limit=5.0, seed=2)
    assert result.paths is not None
    assert check_paths(result.paths, grid.obstacles, scen.starts, scen.goals) == []
    cells = result.paths[..., 0] * 32 + result.paths[..., 1]
    goal = scen.goals[:, 0] * 32 + scen.goals[:, 1]
    assert (result.sum_of_costs, result.sum_of_loss, result.makespan) == solution_costs(cells, goal)
    assert result.makespan == len(result.paths) - 1
    assert result.lower_bound == int(scen.optimal.sum())  # the scenario's 4-connected distances
    assert result.lower_bound <= result.sum_of_loss <= result.sum_of_costs <= result.first_sum_of_costs


def test_refinement_lowers_the_sum_of_costs_of_the_first_solution():
    """The LNS stage alone, a fixed number of neighbourhoods (no clock): on a random-32-32-20-like instance at 150
    agents it takes the first solution's sum of costs down by more than 10% and keeps the paths valid."""
    grid = _random_32_32_20(0)
    scen = random_scenario(grid, 150, seed=0)
    first = lacam_star(grid.obstacles, scen.starts, scen.goals, time_limit=60.0, seed=0, anytime=False)
    assert first.paths is not None and first.sum_of_costs == first.first_sum_of_costs
    cells = first.paths[..., 0] * 32 + first.paths[..., 1]
    goal = scen.goals[:, 0] * 32 + scen.goals[:, 1]
    dist = np.stack([bfs_distances(grid.obstacles, r, c).ravel() for r, c in scen.goals]).astype(np.int64)
    refiner = _Refiner(cells, goal, dist, neighbour_table(grid.obstacles), seed=0, group=4)
    for batch in range(40):
        kept, refiner.tick = lns_refine(
            refiner.paths, refiner.arrival, refiner.res, goal, dist, refiner.nbr, refiner.hubs, refiner.weights,
            50, 4, batch, refiner.tick, refiner.parent, refiner.stamp, refiner.link, refiner.head,
        )  # fmt: skip
        refiner.kept += kept
    refined = refiner.cells()
    paths = np.stack(np.divmod(refined, 32), axis=2)
    assert check_paths(paths, grid.obstacles, scen.starts, scen.goals) == []
    soc = solution_costs(refined, goal)[0]
    assert soc == refiner.sum_of_costs
    assert first.lower_bound <= soc <= 0.9 * first.sum_of_costs, (soc, first.sum_of_costs, first.lower_bound)
    assert refiner.kept > 20, refiner.kept


def test_scen_files_round_trip_and_read_x_as_the_column(tmp_path):
    grid = _random_32_32_20(1)
    scen = random_scenario(grid, 50, seed=4, map_file="r.map")
    write_movingai(tmp_path / "r.map", grid)
    write_scen(tmp_path / "r.scen", scen)
    back, grid_back = load_scen(tmp_path / "r.scen"), load_movingai(tmp_path / "r.map")
    assert np.array_equal(grid_back.obstacles, grid.obstacles)
    assert back.map_file == "r.map" and (back.width, back.height) == (32, 32)
    assert np.array_equal(back.starts, scen.starts) and np.array_equal(back.goals, scen.goals)
    assert np.allclose(back.optimal, scen.optimal) and len(np.unique(back.starts @ [32, 1])) == 50
    check_scenario(back, grid_back)
    assert back.first(10).starts.shape == (10, 2)
    text = "version 1\n0\tm.map\t4\t3\t1\t2\t3\t0\t4.00000000\n"  # start x=1 y=2, goal x=3 y=0
    (tmp_path / "m.scen").write_text(text)
    one = load_scen(tmp_path / "m.scen")
    assert one.starts.tolist() == [[2, 1]] and one.goals.tolist() == [[0, 3]] and one.optimal.tolist() == [4.0]
    (tmp_path / "bad.scen").write_text("0\tm.map\t4\t3\t1\t2\t3\t0\t4\n")
    with pytest.raises(ValueError, match="first line must be 'version 1'"):
        load_scen(tmp_path / "bad.scen")
    (tmp_path / "short.scen").write_text("version 1\n0\tm.map\t4\t3\t1\t2\n")
    with pytest.raises(ValueError, match=r"short.scen:2: expected 9 fields"):
        load_scen(tmp_path / "short.scen")
    walled = Scenario("m.map", 4, 3, np.array([[1, 1]]), np.array([[0, 0]]), np.array([2.0]))
    with pytest.raises(ValueError, match=r"agent 0's start \(x=1, y=1\) is off the map or blocked"):
        check_scenario(walled, parse_string_map("....\n.#..\n...."))
    with pytest.raises(ValueError, match="agents: the scenario has 50 agents, asked for 51"):
        scen.first(51)


def test_benchmark_scen_mode_prints_every_cost_and_checks_the_solutions(tmp_path):
    grid = _random_32_32_20(3)
    write_movingai(tmp_path / "random-32-32-20.map", grid)
    for k in range(2):
        write_scen(tmp_path / f"s{k}.scen", random_scenario(grid, 40, seed=k, map_file="random-32-32-20.map"))
    command = [sys.executable, "benchmarks/mapf_oneshot.py", "--scen", str(tmp_path / "s0.scen")]
    command += [str(tmp_path / "s1.scen"), "--agents", "10", "30", "--limit", "0.5", "--out", str(tmp_path)]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    lines = [ln for ln in done.stdout.splitlines() if ln.startswith("s0 ") or ln.startswith("s1 ")]
    assert len(lines) == 4
    for key in ("SoC", "sum of loss", "makespan", "lower bound", "first solution", "final"):
        assert all(key in ln for ln in lines), key
    rows = json.loads((tmp_path / "mapf_oneshot.json").read_text())["instances"]
    assert [r["agents"] for r in rows] == [10, 10, 30, 30] and all(r["solved"] for r in rows)
    for r in rows:
        assert r["lower_bound"] <= r["sum_of_loss"] <= r["sum_of_costs"] <= r["first_sum_of_costs"]
        assert r["first_solution_s"] <= r["seconds"]
