"""The four LLM frameworks: control flow, parallel plan checks, re-prompts, shield, loop guard, history, tokens."""

from __future__ import annotations

import json
import threading

import pytest
from fake_chat import ScriptedChat
from fleetmind.planners.llm.client import ContextTooLong
from fleetmind.planners.llm.config import LLMSettings
from fleetmind.planners.registry import make_planner
from fleetmind.robots.commands import MoveBoxToCell, MoveBoxToTarget
from fleetmind.robots.ids import GridCell, RobotId
from fleetmind.robots.planner import PlanningFailed
from fleetmind.sim.grid.fleet import GridFleet
from fleetmind.tasks.boxlift.rules import BoxLift
from fleetmind.tasks.boxnet1.rules import BoxNet1
from fleetmind.tasks.boxnet2.rules import BoxNet2
from fleetmind.tasks.warehouse.rules import Warehouse

from fleetmind.app.llm import planner_options
from fleetmind.app.runner import run_episode

SMALLEST = [(BoxNet1, (2, 2)), (BoxNet2, (2, 2)), (Warehouse, (4,)), (BoxLift, (4, 10))]


def _planner(framework: str, task: str, client: ScriptedChat, **settings):
    return make_planner(framework, task, {"llm": LLMSettings(backend="openai", **settings), "client": client})


def _boxnet1_world():
    """2x2 grid: a red box in (0,0) with its target in (0,1); a blue box in (1,1) with its target there."""
    task = BoxNet1(2, 2)
    fleet = GridFleet(task)
    fleet.reset(0)
    task.set_state(
        boxes={GridCell(0, 0): ["red"], GridCell(1, 1): ["blue"]},
        targets={GridCell(0, 1): ["red"], GridCell(1, 1): ["blue"]},
    )
    return fleet, fleet.observe()


@pytest.mark.parametrize("framework", ["cmas", "dmas", "hmas1", "hmas2"])
@pytest.mark.parametrize(("task_cls", "args"), SMALLEST, ids=[c.name for c, _ in SMALLEST])
def test_every_framework_solves_the_smallest_size_with_the_oracle_model(framework, task_cls, args):
    planner = make_planner(framework, task_cls.name, planner_options(LLMSettings(backend="oracle")))
    record = run_episode(GridFleet(task_cls(*args)), planner, seed=0)
    assert record.success, record
    m = record.extra
    assert m["llm_calls"] >= record.steps and m["prompt_tokens"] > 0 and m["completion_tokens"] > 0
    assert m["framework"] == framework and m["hints"] == "off" and m["llm_backend"] == "oracle"
    if framework == "hmas2":
        assert m["llm_calls"] > record.steps  # the robots' checks are calls too


def test_cmas_one_call_returns_the_joint_plan():
    fleet, obs = _boxnet1_world()
    chat = ScriptedChat(
        ['```json\n{"robot_0": "move(box_red, square[0.5, 1.5])", "robot_3": "move(box_blue, target_blue)"}\n``` done']
    )
    planner = _planner("cmas", "boxnet1", chat)
    planner.reset(obs, 0)
    plan = planner.plan(obs)
    assert plan == {
        RobotId("robot_0"): MoveBoxToCell("red", GridCell(0, 1)),
        RobotId("robot_3"): MoveBoxToTarget("blue"),
    }
    assert chat.roles() == ["central"]
    schema = chat.calls[0][1]
    assert (
        schema["title"] == "joint_plan" and schema["properties"]["robot_3"]["enum"][0] == "move(box_blue, target_blue)"
    )
    user = chat.calls[0][0][1]["content"]
    assert "robot_0: move(box_red, target" not in user and "move(box_red, square[0.5, 1.5])" in user


def test_dmas_stops_on_the_first_execute():
    fleet, obs = _boxnet1_world()
    proceed = json.dumps({"action": "wait", "decision": "PROCEED", "plan": {}})
    execute = json.dumps(
        {
            "action": "move(box_blue, target_blue)",
            "decision": "EXECUTE",
            "plan": {"robot_0": "move(box_red, square[0.5, 1.5])"},
        }
    )
    chat = ScriptedChat([proceed, execute, proceed, proceed])
    planner = _planner("dmas", "boxnet1", chat)
    planner.reset(obs, 0)
    plan = planner.plan(obs)
    # robot_0 speaks, then robot_3 (the only robots with actions); robot_3's EXECUTE ends the dialogue at once
    assert chat.roles() == ["robot_0", "robot_3"]
    assert plan == {
        RobotId("robot_0"): MoveBoxToCell("red", GridCell(0, 1)),
        RobotId("robot_3"): MoveBoxToTarget("blue"),
    }
    assert len(chat.replies) == 2, "no robot may speak after EXECUTE"


def test_dmas_without_execute_after_four_rounds_is_a_noop():
    fleet, obs = _boxnet1_world()
    proceed = json.dumps({"action": "wait", "decision": "PROCEED", "plan": {"robot_3": "move(box_blue, target_blue)"}})
    chat = ScriptedChat([proceed] * 8)
    planner = _planner("dmas", "boxnet1", chat)
    planner.reset(obs, 0)
    assert planner.plan(obs) == {}
    assert len(chat.calls) == 8  # 4 rounds x 2 speakers


def test_hmas1_dialogue_starts_from_the_central_plan():
    fleet, obs = _boxnet1_world()
    central = json.dumps({"robot_0": "move(box_red, square[0.5, 1.5])", "robot_3": "wait"})
    turn = json.dumps(
        {
            "action": "move(box_red, square[0.5, 1.5])",
            "decision": "EXECUTE",
            "plan": {"robot_0": "move(box_red, square[0.5, 1.5])"},
        }
    )
    chat = ScriptedChat([central, turn])
    planner = _planner("hmas1", "boxnet1", chat)
    planner.reset(obs, 0)
    plan = planner.plan(obs)
    assert chat.roles() == ["central", "robot_0"]  # only robots in the central plan talk
    assert "Current proposal:" in chat.calls[1][0][1]["content"]
    assert plan == {RobotId("robot_0"): MoveBoxToCell("red", GridCell(0, 1))}


def _checker(system: str) -> str | None:
    """The robot a plan-check prompt speaks to (None for other roles)."""
    return system.split(" in a robot team")[0].removeprefix("You are ") if "proposed a joint plan" in system else None


def test_hmas2_revises_after_an_objection():
    fleet, obs = _boxnet1_world()
    first = json.dumps({"robot_0": "move(box_red, square[1.5, 0.5])", "robot_3": "move(box_blue, target_blue)"})
    revised = json.dumps({"robot_0": "move(box_red, square[0.5, 1.5])", "robot_3": "move(box_blue, target_blue)"})
    agree = json.dumps({"agree": True, "objection": None})
    object_ = json.dumps({"agree": False, "objection": "move(box_red, square[0.5, 1.5]): right, towards its target"})
    plans = [first, revised]

    def reply(messages, schema):  # the two checks of a round run in parallel: answer by who is asked
        robot = _checker(messages[0]["content"])
        if robot is None:
            return plans.pop(0)
        wrong = "Your part: move(box_red, square[1.5, 0.5])" in messages[1]["content"]
        return object_ if robot == "robot_0" and wrong else agree

    chat = ScriptedChat(reply)
    planner = _planner("hmas2", "boxnet1", chat)
    planner.reset(obs, 0)
    plan = planner.plan(obs)
    roles = chat.roles()
    assert roles[0] == roles[3] == "central" and sorted(roles[1:3]) == sorted(roles[4:]) == ["robot_0", "robot_3"]
    assert "right, towards its target" in chat.calls[3][0][1]["content"]  # the objection reached the planner
    assert plan[RobotId("robot_0")] == MoveBoxToCell("red", GridCell(0, 1))
    assert planner.metrics()["llm_calls"] == 6


class _GateChat:
    """The oracle model, except that each plan check blocks until ``n`` checks are in flight together: checks
    made one after another break the barrier (after a generous bound) and fail the step."""

    def __init__(self, inner, n: int) -> None:
        self.inner, self.barrier = inner, threading.Barrier(n, timeout=60)
        self.checkers: list[str] = []

    def complete(self, messages, schema=None, user=None, time_left_s=None, **sampling):
        robot = _checker(messages[0]["content"])
        if robot is not None:
            self.checkers.append(robot)
            self.barrier.wait()
        return self.inner.complete(messages, schema, user, time_left_s, **sampling)


def test_hmas2_checks_of_four_robots_run_in_parallel():
    from fleetmind.app.llm import make_client

    settings = LLMSettings(backend="oracle")
    fleet = GridFleet(BoxNet1(2, 2))
    obs = fleet.reset(0)  # seed 0: the oracle's first plan moves all four robots
    chat = _GateChat(make_client(settings), 4)
    planner = make_planner("hmas2", "boxnet1", {"llm": settings, "client": chat})
    planner.reset(obs, 0)
    plan = planner.plan(obs)
    assert sorted(chat.checkers) == ["robot_0", "robot_1", "robot_2", "robot_3"] and len(plan) == 4
    assert not chat.barrier.broken


def test_hmas2_objections_reach_the_planner_in_robot_order_whoever_answers_first():
    fleet, obs = _boxnet1_world()
    both = json.dumps({"robot_0": "move(box_red, square[0.5, 1.5])", "robot_3": "move(box_blue, target_blue)"})
    robot_3_answered = threading.Event()

    def reply(messages, schema):
        robot = _checker(messages[0]["content"])
        if robot is None:
            return both
        if robot == "robot_0":  # robot_0 answers last
            assert robot_3_answered.wait(60), "robot_3's check never ran beside robot_0's"
        else:
            robot_3_answered.set()
        return json.dumps({"agree": False, "objection": f"{robot} has doubts; I should wait"})

    planner = _planner("hmas2", "boxnet1", ScriptedChat(reply), feedback_rounds=1)
    planner.reset(obs, 0)
    planner.plan(obs)
    revision = planner.call_log()[3]["messages"][1]["content"]
    assert "- robot_0: robot_0 has doubts; I should wait\n- robot_3: robot_3 has doubts; I should wait" in revision


def test_dmas_dialogue_of_eight_robots_runs_its_four_rounds():
    """No EXECUTE: every robot that can act speaks in each of the four rounds (32 turns), then nothing runs."""
    task = BoxNet1(2, 4)
    fleet = GridFleet(task)
    fleet.reset(0)
    task.set_state(boxes={c: ["red"] for c in task.grid.cells}, targets={task.grid.cells[0]: ["red"]})
    obs = fleet.observe()
    proceed = json.dumps({"action": "wait", "decision": "PROCEED", "plan": {}})
    chat = ScriptedChat(lambda m, s: proceed)
    planner = _planner("dmas", "boxnet1", chat)
    planner.reset(obs, 0)
    assert planner.plan(obs) == {}
    assert len(chat.calls) == 4 * 8


def test_hmas2_stops_after_three_feedback_rounds():
    fleet, obs = _boxnet1_world()
    plan_text = json.dumps({"robot_0": "move(box_red, square[0.5, 1.5])"})
    no = json.dumps({"agree": False, "objection": "I never agree; I would rather wait"})
    chat = ScriptedChat([plan_text, no, plan_text, no, plan_text, no, plan_text])
    planner = _planner("hmas2", "boxnet1", chat)
    planner.reset(obs, 0)
    plan = planner.plan(obs)
    assert chat.roles().count("central") == 4 and len(chat.replies) == 0  # plan, 3 revisions, then it runs
    assert plan == {RobotId("robot_0"): MoveBoxToCell("red", GridCell(0, 1))}


def test_illegal_action_feedback_names_robot_text_and_choices_then_syntax_failure():
    fleet, obs = _boxnet1_world()
    bad = json.dumps({"robot_0": "move(box_red, square[1.5, 1.5])"})
    chat = ScriptedChat([bad] * 7)
    planner = _planner("cmas", "boxnet1", chat)
    planner.reset(obs, 0)
    with pytest.raises(PlanningFailed) as info:
        planner.plan(obs)
    assert info.value.reason == "syntax"
    assert len(chat.calls) == 7  # the first try and 6 re-prompts
    feedback = chat.calls[1][0][-1]["content"]
    assert "robot_0 said 'move(box_red, square[1.5, 1.5])', which is not one of its actions" in feedback
    assert "move(box_red, square[0.5, 1.5])" in feedback and "wait" in feedback
    assert planner.metrics()["reprompts"] == 6


def test_syntax_failure_ends_the_episode_cleanly():
    fleet, _ = _boxnet1_world()
    planner = _planner("cmas", "boxnet1", ScriptedChat(lambda m, s: "I think robot_0 should move"))
    record = run_episode(GridFleet(BoxNet1(2, 2)), planner, seed=0)
    assert not record.success and record.failure_reason == "syntax" and record.steps == 0
    assert record.extra["llm_calls"] == 7


def test_shield_rejects_a_colliding_plan_and_feeds_the_conflict_back():
    task = BoxNet2(2, 2)
    fleet = GridFleet(task)
    fleet.reset(0)
    from fleetmind.robots.ids import GridCorner

    task.set_state({"red": GridCorner(0, 0), "blue": GridCorner(1, 1)}, {GridCell(1, 1): ["red", "blue"]})
    obs = fleet.observe()
    collide = json.dumps({"robot_0": "move(box_red, position[1.0, 1.0])"})
    safe = json.dumps({"robot_0": "move(box_red, position[1.0, 0.0])"})
    chat = ScriptedChat([collide, safe])
    planner = _planner("cmas", "boxnet2", chat)
    planner.reset(obs, 0)
    plan = planner.plan(obs)
    assert "box_blue and box_red would collide at position[1.0, 1.0]" in chat.calls[1][0][-1]["content"]
    assert planner.metrics()["shield_rejections"] == 1
    assert not fleet.step(plan).done


def test_loop_guard_flags_an_exact_undo_once():
    fleet, obs = _boxnet1_world()
    there = json.dumps({"robot_0": "move(box_red, square[1.5, 0.5])"})
    back = json.dumps({"robot_2": "move(box_red, square[0.5, 0.5])"})
    chat = ScriptedChat([there, back, back])
    planner = _planner("cmas", "boxnet1", chat)
    planner.reset(obs, 0)
    result = fleet.step(planner.plan(obs))
    planner.observe_result(result)
    plan = planner.plan(result.observation)
    assert "exactly undoes the previous step" in chat.calls[2][0][-1]["content"]
    assert plan == {RobotId("robot_2"): MoveBoxToCell("red", GridCell(0, 0))}  # flagged once, then it stands
    assert planner.metrics()["loop_flags"] == 1


def test_a_team_that_waits_twice_gets_one_retry_without_wait_for_a_robot_that_can_move():
    """boxnet2_2x2 seed 4 with the 0.5B model: after a step where every robot waited it copied "all wait" from its
    history for 28 steps while the hints ranked a delivery first. The second all-wait step is refused once, and the
    retry's schema takes wait away from the first robot the rules give a move (here robot_0: its box can go next to
    its target)."""
    fleet, obs = _boxnet1_world()
    idle = json.dumps({"robot_0": "wait", "robot_1": "wait", "robot_2": "wait", "robot_3": "wait"})
    move = json.dumps({"robot_0": "move(box_red, square[0.5, 1.5])"})
    chat = ScriptedChat([idle, idle, move])
    planner = _planner("cmas", "boxnet1", chat)
    planner.reset(obs, 0)
    result = fleet.step(planner.plan(obs))  # the first all-wait step stands
    planner.observe_result(result)
    assert result.observation.text == obs.text
    plan = planner.plan(result.observation)
    assert plan == {RobotId("robot_0"): MoveBoxToCell("red", GridCell(0, 1))}
    feedback = chat.calls[2][0][-1]["content"]
    assert "every robot wait again" in feedback and "robot_0 must act" in feedback
    enums = chat.calls[2][1]["properties"]
    assert "wait" not in enums["robot_0"]["enum"] and "wait" in enums["robot_3"]["enum"]
    assert "wait" in chat.calls[1][1]["properties"]["robot_0"]["enum"]  # taken only for the retry
    assert planner.metrics()["loop_flags"] == 1 and planner.metrics()["repeated_rejections"] == 0


def test_context_length_error_shrinks_history_and_retries():
    fleet, obs = _boxnet1_world()
    ok = json.dumps({"robot_3": "move(box_blue, target_blue)"})
    chat = ScriptedChat([ContextTooLong("prompt too long"), ok])
    planner = _planner("cmas", "boxnet1", chat, history_tokens=800)
    planner.reset(obs, 0)
    assert planner.plan(obs) == {RobotId("robot_3"): MoveBoxToTarget("blue")}
    assert planner.session.history.budget == 400


def test_token_counts_add_up_across_calls():
    planner = make_planner("hmas2", "boxnet1", planner_options(LLMSettings(backend="oracle")))
    record = run_episode(GridFleet(BoxNet1(2, 4)), planner, seed=1)
    calls = planner.call_log()
    assert record.extra["llm_calls"] == len(calls)
    assert record.extra["prompt_tokens"] == sum(c["prompt_tokens"] for c in calls)
    assert record.extra["completion_tokens"] == sum(c["completion_tokens"] for c in calls)
    # the oracle server reports usage = characters // 4 + 1 of what it received
    first = calls[0]
    assert first["prompt_tokens"] == sum(len(m["content"]) for m in first["messages"]) // 4 + 1


@pytest.mark.parametrize("mode", ["none", "state_action", "dialogue", "compressed"])
def test_history_modes(mode):
    planner = make_planner(
        "cmas", "boxnet1", planner_options(LLMSettings(backend="oracle", history=mode, history_tokens=300))
    )
    record = run_episode(GridFleet(BoxNet1(2, 2)), planner, seed=0)
    assert record.success
    roles = [c["role"] for c in planner.call_log()]
    assert roles.count("summary") == (record.steps if mode == "compressed" else 0)
    last_prompt = planner.call_log()[-2 if mode == "compressed" else -1]["messages"][1]["content"]
    if mode == "none":
        assert "History" not in last_prompt
    elif record.steps > 1:
        assert "History (oldest first):" in last_prompt
    if mode == "state_action":
        history = last_prompt.split("History (oldest first):\n")[1].split("\nState:")[0]
        assert len(history) <= 4 * 300 + 200  # newest entries kept within the token budget


def test_hints_rank_the_best_action_first_and_are_reported():
    fleet, obs = _boxnet1_world()
    chat = ScriptedChat([json.dumps({"robot_3": "move(box_blue, target_blue)"})])
    planner = _planner("cmas", "boxnet1", chat, hints=True)
    planner.reset(obs, 0)
    planner.plan(obs)
    user = chat.calls[0][0][1]["content"]
    assert (
        "robot_0: move(box_red, square[0.5, 1.5]) [best; into target_red's square (closer)]; "
        "move(box_red, square[1.5, 0.5])" in user
    )
    assert "robot_3: move(box_blue, target_blue) [best; delivers]" in user
    assert planner.metrics()["hints"] == "on"
