"""LaCAM*'s first-solution options taken from LaCAM3: space utilisation optimisation (``scatter``) and Monte-Carlo
successors (``tries``) keep the solutions valid and fully costed; SUO lowers the first solution's cost on a dense
warehouse instance."""

from __future__ import annotations

import numpy as np
import pytest
from fleetmind.planners.mapf import lacam as lacam_module
from fleetmind.planners.mapf import lacam_star, solution_costs
from fleetmind.tasks.mapf_lifelong.maps import named_map
from fleetmind.tasks.mapf_lifelong.scen import random_scenario
from fleetmind.tasks.mapf_lifelong.validate import check_paths


@pytest.fixture(scope="module")
def warehouse():
    grid = named_map("wfi_warehouse")
    return grid, random_scenario(grid, 150, seed=3)


@pytest.mark.parametrize("options", [{"scatter": True}, {"scatter": False}, {"tries": 3}], ids=str)
def test_first_solutions_are_valid_and_costed_with_every_option(warehouse, options):
    grid, scen = warehouse
    r = lacam_star(grid.obstacles, scen.starts, scen.goals, time_limit=60.0, seed=0, anytime=False, **options)
    assert r.paths is not None
    assert check_paths(r.paths, grid.obstacles, scen.starts, scen.goals) == []
    w = grid.obstacles.shape[1]
    cells = r.paths[..., 0] * w + r.paths[..., 1]
    goal = scen.goals[:, 0] * w + scen.goals[:, 1]
    assert (r.sum_of_costs, r.sum_of_loss, r.makespan) == solution_costs(cells, goal)
    assert r.first_sum_of_costs == r.sum_of_costs >= r.lower_bound


def test_suo_lowers_the_first_solutions_cost_on_a_dense_warehouse(warehouse):
    grid, scen = warehouse
    scen = random_scenario(grid, 500, seed=0)
    costs = {}
    for scatter in (False, True):
        runs = [
            lacam_star(
                grid.obstacles,
                scen.starts,
                scen.goals,
                time_limit=60.0,
                seed=s,
                anytime=False,
                scatter=scatter,
                fast_first=False,
            )
            for s in (0, 1)
        ]
        assert all(r.paths is not None for r in runs)
        costs[scatter] = np.mean([r.first_sum_of_costs for r in runs])
    assert costs[True] < 0.95 * costs[False], costs  # measured: about -18% on the --make-scen instances at 500


def test_the_fast_first_solution_is_the_unguided_searchs(warehouse):
    """``fast_first`` (the default): SUO's paths wait until after the first solution, which is therefore the one
    the search without SUO finds (same seed, same paths); the anytime phase starts from it and never ends worse."""
    grid, scen = warehouse
    plain = lacam_star(grid.obstacles, scen.starts, scen.goals, time_limit=60.0, seed=0, anytime=False, scatter=False)
    fast = lacam_star(grid.obstacles, scen.starts, scen.goals, time_limit=60.0, seed=0, anytime=False)
    assert plain.paths is not None and fast.paths is not None
    assert np.array_equal(fast.paths, plain.paths) and fast.first_sum_of_costs == plain.first_sum_of_costs
    anytime = lacam_star(grid.obstacles, scen.starts, scen.goals, time_limit=1.5, seed=0)
    assert anytime.paths is not None and check_paths(anytime.paths, grid.obstacles, scen.starts, scen.goals) == []
    assert anytime.lower_bound <= anytime.sum_of_costs <= anytime.first_sum_of_costs
    assert anytime.first_solution_s is not None and anytime.first_solution_s <= anytime.seconds


def test_a_race_returns_the_first_solution_of_whichever_search_finishes_first(warehouse, monkeypatch):
    """Widening the portfolio after its first turn (``_RACE_NODES`` 1, ``_RACE_FACTOR`` 0) forces the race between
    the unguided and the SUO-guided searches; each search is deterministic, so the winner's paths are exactly those
    the unguided or the SUO-guided portfolio finds alone, and every search's configurations count."""
    grid, scen = warehouse
    args = (grid.obstacles, scen.starts, scen.goals)
    plain = lacam_star(*args, time_limit=60.0, seed=0, anytime=False, scatter=False)
    guided = lacam_star(*args, time_limit=60.0, seed=0, anytime=False, fast_first=False)
    monkeypatch.setattr(lacam_module, "_RACE_NODES", 1)
    monkeypatch.setattr(lacam_module, "_RACE_FACTOR", 0)
    raced = lacam_star(*args, time_limit=60.0, seed=0, anytime=False)
    assert raced.paths is not None and check_paths(raced.paths, grid.obstacles, scen.starts, scen.goals) == []
    winner = plain if plain.nodes < guided.nodes else guided
    assert np.array_equal(raced.paths, winner.paths), (plain.nodes, guided.nodes)
    assert raced.nodes > winner.nodes  # the loser's configurations count too
