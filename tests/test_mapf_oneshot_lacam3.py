"""The LaCAM3 side of ``benchmarks/mapf_oneshot.py --lacam3``: its output file parser, the independent check of the
solution it holds and the costs, on tiny hand-written output files (no LaCAM3 binary needed)."""

from __future__ import annotations

import benchmark_script
import numpy as np
import pytest
from fleetmind.tasks.mapf_lifelong.maps import parse_string_map

lacam3 = benchmark_script.load("_lacam3")

# a ring of 8 cells around one obstacle:   . . .   /   . # .   /   . . .
GRID = parse_string_map("...\n.#.\n...")
HEADER = """agents=2
map_file=ring.map
solver=planner
solved=1
soc=99
soc_lb=4
makespan=6
makespan_lb=2
sum_of_loss=99
sum_of_loss_lb=4
comp_time=1003
seed=0
checkpoints=-1,
comp_time_initial_solution=12
cost_initial_solution=10
search_iteration=5
num_high_level_node=9
num_low_level_node=20
starts=(0,0),(2,0),
goals=(2,0),(0,0),
solution=
"""
# (x, y) = (col, row). Agent 0 takes the top row to (0,2), arrives at t=2, waits, steps back to (0,1) at t=4 and
# returns at t=5; agent 1 goes round the bottom from (0,2) to (0,0), arriving at t=6. SoC 5 + 6, sum of loss
# 4 + 6 (agent 0's wait on its goal, 2->3, is free in the loss only), makespan 6.
SOLUTION = """0:(0,0),(2,0),
1:(1,0),(2,1),
2:(2,0),(2,2),
3:(2,0),(1,2),
4:(1,0),(0,2),
5:(2,0),(0,1),
6:(2,0),(0,0),
"""


def _instance():
    starts = np.array([[0, 0], [0, 2]])
    goals = np.array([[0, 2], [0, 0]])
    return starts, goals


def test_parser_reads_fields_starts_goals_and_the_solution_as_row_col():
    parsed = lacam3.parse_output(HEADER + SOLUTION)
    assert parsed["fields"]["comp_time_initial_solution"] == "12"
    assert parsed["fields"]["soc"] == "99"
    starts, goals = _instance()
    assert np.array_equal(parsed["starts"], starts)
    assert np.array_equal(parsed["goals"], goals)
    paths = parsed["paths"]
    assert paths.shape == (7, 2, 2)
    assert paths[1].tolist() == [[0, 1], [1, 2]]  # (x=2, y=1) -> row 1, col 2


def test_a_valid_solution_is_costed_by_our_rules_not_by_the_numbers_it_reports():
    starts, goals = _instance()
    row = lacam3.evaluate(lacam3.parse_output(HEADER + SOLUTION), GRID.obstacles, starts, goals)
    assert row["solved"], row["problems"]
    assert row["sum_of_costs"] == 5 + 6  # the file says 99: ours are computed from the paths
    assert row["sum_of_loss"] == 4 + 6
    assert row["makespan"] == 6
    assert row["reported_soc"] == 99
    assert row["first_solution_s"] == pytest.approx(0.012)
    assert row["first_sum_of_loss"] == 10
    assert row["seconds"] == pytest.approx(1.003)


@pytest.mark.parametrize(
    ("bad", "problem"),
    [
        ("1:(1,0),(1,0),\n", "vertex conflict"),  # both in row 0, col 1
        ("1:(2,0),(2,1),\n", "jumps"),  # agent 0: (0,0) -> (0,2), two cells in one step
        ("1:(1,0),(2,1),\n2:(1,1),(2,2),\n", "obstacle"),  # (x=1, y=1) is the wall
    ],
)
def test_invalid_solutions_are_caught_by_our_own_checker(bad, problem):
    starts, goals = _instance()
    text = HEADER + "0:(0,0),(2,0),\n" + bad
    row = lacam3.evaluate(lacam3.parse_output(text), GRID.obstacles, starts, goals)
    assert not row["solved"]
    assert any(problem in p for p in row["problems"]), row["problems"]


def test_swap_of_two_neighbours_is_an_edge_conflict():
    grid = parse_string_map("..")
    text = "solved=1\nsolution=\n0:(0,0),(1,0),\n1:(1,0),(0,0),\n"
    row = lacam3.evaluate(
        lacam3.parse_output(text), grid.obstacles, np.array([[0, 0], [0, 1]]), np.array([[0, 1], [0, 0]])
    )
    assert not row["solved"]
    assert any("edge swap" in p for p in row["problems"])


def test_wrong_goals_and_missing_solutions_are_not_counted():
    starts, goals = _instance()
    row = lacam3.evaluate(lacam3.parse_output(HEADER + SOLUTION.rsplit("6:", 1)[0]), GRID.obstacles, starts, goals)
    assert not row["solved"] and any("goals" in p for p in row["problems"])
    empty = lacam3.parse_output(HEADER.replace("solved=1", "solved=0"))
    assert lacam3.evaluate(empty, GRID.obstacles, starts, goals)["problems"] == ["no solution in the output"]
    with pytest.raises(ValueError, match="time step 1"):
        lacam3.parse_output(HEADER + "0:(0,0),(2,0),\n7:(0,0),(2,0),\n")


def test_benchmark_without_the_binary_says_how_to_build_it_and_runs_ours(tmp_path, capsys):
    from fleetmind.tasks.mapf_lifelong.scen import random_scenario, write_movingai, write_scen

    bench = benchmark_script.load("mapf_oneshot")
    grid = parse_string_map("....\n.#..\n....")
    write_movingai(tmp_path / "m.map", grid)
    write_scen(tmp_path / "s.scen", random_scenario(grid, 3, seed=0, map_file="m.map"))
    argv = ["--scen", str(tmp_path / "s.scen"), "--limit", "0.5", "--lacam3", str(tmp_path / "missing")]
    assert bench.main(argv + ["--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "github.com/Kei18/lacam3" in out
    assert "3 agents | SoC" in out  # ours still ran


def test_scen_mode_names_the_missing_scen_or_map_file_in_one_line(tmp_path, capsys):
    bench = benchmark_script.load("mapf_oneshot")
    (tmp_path / "s.scen").write_text("version 1\n0\tgone.map\t4\t3\t1\t2\t3\t0\t4\n")
    scen, gone, missing_map = tmp_path / "s.scen", tmp_path / "gone.map", tmp_path / "m.map"
    cases = [
        (["--scen", str(tmp_path / "no.scen")], f"--scen {tmp_path / 'no.scen'}: no such file; give .scen files"),
        (["--scen", str(tmp_path)], f"--scen {tmp_path}: a folder; give .scen files"),
        (["--scen", str(scen)], f"s.scen names the map 'gone.map', not found at {gone}; use --map"),
        (["--scen", str(scen), "--map", str(missing_map)], f"--map {missing_map}: no such file"),
    ]
    for argv, expected in cases:
        assert bench.main(argv + ["--out", str(tmp_path / "out")]) == 2
        assert capsys.readouterr().err.strip() == f"mapf_oneshot: error: {expected}"
    assert not (tmp_path / "out").exists()  # refused before anything was written
