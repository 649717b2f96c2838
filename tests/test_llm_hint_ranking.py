"""Hints must be right, since small models play them: the first-listed action of every robot (the task oracle's
move, ranked first and marked "best") solves every paper task at its smallest size."""

from __future__ import annotations

import pytest
from fake_chat import ScriptedChat, first_listed
from fleetmind.planners.llm.config import LLMSettings
from fleetmind.planners.llm.planner import LLMPlanner
from fleetmind.planners.shield import check_plan

from fleetmind.app.runner import run_episode
from fleetmind.app.scenario import load_scenario

SMALLEST = ("boxnet1_2x2", "boxnet1_2x4", "boxnet2_2x2", "warehouse_4", "boxlift_4x10")


@pytest.mark.parametrize("name", SMALLEST)
def test_first_listed_actions_solve_the_smallest_paper_scenarios(name: str) -> None:
    scenario = load_scenario(name)
    fleet = scenario.make_fleet()
    settings = LLMSettings(backend="openai", hints=True)
    solved = 0
    for seed in range(10):
        chat = ScriptedChat(first_listed)
        planner = LLMPlanner("cmas", scenario.task.name, settings, lambda chat=chat: chat)
        record = run_episode(fleet, planner, seed)
        solved += record.success
        assert record.extra["shield_rejections"] == 0, (name, seed)
    assert solved >= 8, f"{name}: the first-listed plan solved {solved}/10"


def test_the_oracle_move_is_ranked_first_and_the_oracle_wait_puts_wait_first() -> None:
    scenario = load_scenario("warehouse_4")
    fleet = scenario.make_fleet()
    chat = ScriptedChat(first_listed)
    planner = LLMPlanner("cmas", "warehouse", LLMSettings(backend="openai", hints=True), lambda: chat)
    obs = fleet.reset(3)
    planner.reset(obs, 3)
    advice = planner._advice(obs)
    assert advice is not None
    block = planner._actions(obs, list(obs.robot_ids))
    for line in block.splitlines()[1:]:
        robot, _, items = line.partition(": ")
        first = items.split("; ")[0]
        want = advice.get(robot)
        assert first.split(" [")[0] == (want.text if want is not None else "wait"), line
        assert "[best" in first, line
    assert not check_plan(obs, advice)
