"""MAPF world semantics (POGEMA 1.4): maps, soft collisions by hand-worked cases, lifelong goals, metrics."""

from __future__ import annotations

import numpy as np
import pytest
from fleetmind.robots.commands import GridStep, Wait
from fleetmind.robots.conformance import check_fleet
from fleetmind.robots.ids import robot_id
from fleetmind.sim.grid.mapf import MapfFleet
from fleetmind.tasks.mapf_lifelong._kernels import components, soft_resolve
from fleetmind.tasks.mapf_lifelong.maps import (
    load_movingai,
    map_names,
    maze_map,
    named_map,
    parse_string_map,
    random_map,
    warehouse_map,
)
from fleetmind.tasks.mapf_lifelong.metrics import AvgThroughput, MetricSet, SumOfCostsAndMakespan, one_shot_metrics
from fleetmind.tasks.mapf_lifelong.validate import check_paths
from fleetmind.tasks.mapf_lifelong.world import MapfWorld

WAIT, UP, DOWN, LEFT, RIGHT = range(5)


def resolve(text: str, agents: list[tuple[int, int]], actions: list[int]) -> list[tuple[int, int]]:
    grid = parse_string_map(text)
    pos = np.array(agents, dtype=np.int64)
    done = soft_resolve(pos[:, 0].copy(), pos[:, 1].copy(), np.array(actions, dtype=np.int64), grid.obstacles)
    moves = np.array([(0, 0), (-1, 0), (1, 0), (0, -1), (0, 1)])
    return [tuple(map(int, p)) for p in pos + moves[done]]


def test_maps_load_and_generate():
    assert {"wfi_warehouse", "den520d", "pico_s00_od20_na32", "room-64-64-8"} <= set(map_names())
    wh = named_map("wfi_warehouse")
    assert wh.shape == (33, 46)
    gen = warehouse_map()
    assert np.array_equal(gen.obstacles, wh.obstacles)
    assert np.array_equal(gen.starts, wh.starts) and np.array_equal(gen.targets, wh.targets)
    assert named_map("pico_s00_od20_na32").shape == (20, 20) and named_map("den520d").shape == (64, 64)
    a, b = random_map(20, 20, 0.2, seed=3), random_map(20, 20, 0.2, seed=3)
    assert np.array_equal(a.obstacles, b.obstacles) and 0.1 < a.obstacles.mean() < 0.3
    maze = maze_map(21, 21, seed=1, extra_openings=0.0)
    assert components(maze.obstacles).max() == 0, "a maze is one connected component"
    s = parse_string_map(".#.\n...\n")
    assert s.obstacles.tolist() == [[False, True, False], [False, False, False]]
    with pytest.raises(ValueError, match="unknown characters"):
        parse_string_map(".x.")
    with pytest.raises(KeyError, match="unknown map"):
        named_map("nope")


def test_movingai_loader(tmp_path):
    f = tmp_path / "tiny.map"
    f.write_text("type octile\nheight 2\nwidth 4\nmap\n.@T.\nGS.W\n")
    m = load_movingai(f)
    assert m.name == "tiny" and m.obstacles.tolist() == [[False, True, True, False], [False, False, False, True]]


def test_soft_swap_is_blocked():
    assert resolve("....", [(0, 1), (0, 2)], [RIGHT, LEFT]) == [(0, 1), (0, 2)]


def test_soft_following_into_a_vacated_cell_is_allowed():
    assert resolve("....", [(0, 0), (0, 1), (0, 2)], [RIGHT, RIGHT, RIGHT]) == [(0, 1), (0, 2), (0, 3)]
    # a rotation of four agents in a 2x2 block: every target is vacated, no swap
    got = resolve("..\n..", [(0, 0), (0, 1), (1, 1), (1, 0)], [RIGHT, DOWN, LEFT, UP])
    assert got == [(0, 1), (1, 1), (1, 0), (0, 0)]


def test_soft_vertex_conflict_reverts_in_cascade():
    # 0 and 1 both want (0, 2). POGEMA checks agents from the highest index down: 1 reverts first, then 0 is
    # alone on (0, 2) and goes; 2 follows 0 into the vacated (0, 1).
    got = resolve(".....", [(0, 1), (0, 3), (0, 0)], [RIGHT, LEFT, RIGHT])
    assert got == [(0, 2), (0, 3), (0, 1)]
    # 2 follows 1 into (0, 3); 1 loses (0, 2) to 0 and goes back home, so 2 is reverted too (the cascade)
    got = resolve(".....", [(0, 1), (0, 3), (0, 4)], [RIGHT, LEFT, LEFT])
    assert got == [(0, 2), (0, 3), (0, 4)]


def test_soft_obstacles_and_borders_revert_and_cascade():
    got = resolve("..#", [(0, 1), (0, 0)], [RIGHT, RIGHT])
    assert got == [(0, 1), (0, 0)]
    assert resolve("..", [(0, 0)], [UP]) == [(0, 0)]


def test_soft_swap_blocks_followers_too():
    # 0 and 1 swap (blocked); 2 follows 1 into (0, 2) which 1 does not vacate after all
    got = resolve(".....", [(0, 1), (0, 2), (0, 3)], [RIGHT, LEFT, LEFT])
    assert got == [(0, 1), (0, 2), (0, 3)]


def test_lifelong_goals_are_seeded_and_refreshed_on_arrival():
    grid = parse_string_map("....\n....\n")
    w = MapfWorld(grid, 2, on_target="restart")
    w.reset(7)
    starts, goals = w.pos.copy(), w.goal.copy()
    w2 = MapfWorld(grid, 2)
    w2.reset(7)
    assert np.array_equal(starts, w2.pos) and np.array_equal(goals, w2.goal)
    assert not np.any(np.all(starts == goals, axis=1))
    # walk agent 0 to its goal along a BFS path; the others wait
    from fleetmind.tasks.mapf_lifelong._kernels import bfs_distances

    d = bfs_distances(grid.obstacles, *goals[0])
    reached = 0
    for _ in range(10):
        r, c = w.pos[0]
        acts = np.zeros(2, dtype=np.int64)
        for a, (dr, dc) in enumerate([(0, 0), (-1, 0), (1, 0), (0, -1), (0, 1)]):
            nr, nc = r + dr, c + dc
            if 0 <= nr < 2 and 0 <= nc < 4 and d[nr, nc] < d[r, c] and not np.all(w.pos[1] == (nr, nc)):
                acts[0] = a
        info = w.step(acts)
        if info.on_goal[0]:
            reached += 1
            break
    assert reached == 1
    assert np.array_equal(w.pos[0], goals[0]) and not np.array_equal(w.goal[0], goals[0]), "a new goal on arrival"


def test_metrics_compose_and_count():
    m = MetricSet(AvgThroughput(), SumOfCostsAndMakespan())
    m.reset(2, 4)
    assert m.update(1, np.array([True, False]), False) == {}
    m.update(2, np.array([True, False]), False)
    m.update(3, np.array([True, True]), False)
    out = m.update(4, np.array([True, True]), True)
    assert out == {"avg_throughput": (1 + 1 + 2 + 2) / 4, "SoC": 1 + 3, "makespan": 3}
    one = one_shot_metrics()
    one.reset(2, 3)
    one.update(1, np.array([False, True]), False)
    assert one.update(2, np.array([False, True]), True) == {"CSR": 0.0, "ISR": 0.5, "SoC": 2 + 1, "makespan": 2}


def test_check_paths_finds_each_kind_of_problem():
    blocked = parse_string_map("...\n.#.").obstacles
    good = np.array([[[0, 0], [0, 2]], [[0, 1], [1, 2]], [[0, 2], [1, 2]]])
    assert check_paths(good, blocked, good[0], good[-1]) == []  # following into a vacated cell is fine
    swap = np.array([[[0, 0], [0, 1]], [[0, 1], [0, 0]]])
    assert any("edge swap" in p for p in check_paths(swap, blocked))
    vertex = np.array([[[0, 0], [0, 2]], [[0, 1], [0, 1]]])
    assert any("vertex conflict" in p for p in check_paths(vertex, blocked))
    assert any("obstacle" in p for p in check_paths(np.array([[[1, 1]]]), blocked))
    assert any("jumps" in p for p in check_paths(np.array([[[0, 0]], [[0, 2]]]), blocked))
    assert any("goals" in p for p in check_paths(good, blocked, good[0], good[0]))


@pytest.mark.parametrize("on_target", ["restart", "nothing"])
def test_mapf_fleet_conforms(on_target):
    grid = named_map("pico_s00_od20_na32")
    check_fleet(lambda: MapfFleet(grid, 16, episode_steps=30, on_target=on_target), max_steps=40)
    check_fleet(lambda: MapfFleet(grid, 4, episode_steps=1, on_target=on_target), max_steps=1)


def test_mapf_fleet_commands_and_lifelong_metric():
    grid = parse_string_map("..\n..")
    fleet = MapfFleet(grid, 2, episode_steps=3)
    obs = fleet.reset(0)
    assert obs.robots[robot_id(0)].data["radius"] == 5
    r0 = obs.robots[robot_id(0)].data
    assert r0["agents"] == (obs.robots[robot_id(1)].data["cell"],)
    result = fleet.step({robot_id(0): GridStep("up"), robot_id(1): Wait()})
    assert result.metrics["steps"] == 1 and not result.done
    fleet.step({})
    final = fleet.step({})
    assert final.done and final.success and final.failure_reason is None
    assert final.metrics["avg_throughput"] == pytest.approx(final.metrics["goals_reached"] / 3)
