"""Re-prompts that cannot loop, and hints that never point at a collision (issue 18).

Scripted chat models stand in for the small model: one always takes the first value of each robot's enum (it
ignores the hints, the worst case for the shield), one takes the first action the prompt lists (what the embedded
0.5B model does with hints on), one repeats its last plan whatever it is told."""

from __future__ import annotations

import json
import random
import re

import pytest
from fake_chat import ScriptedChat
from fleetmind.planners.llm import prompts
from fleetmind.planners.llm.config import LLMSettings
from fleetmind.planners.llm.hints import rank_joint, top_plan
from fleetmind.planners.llm.replies import ReplyError, check_safe, removals, validate_plan
from fleetmind.planners.llm.schemas import joint_plan_schema
from fleetmind.planners.registry import make_planner
from fleetmind.planners.shield import check_plan
from fleetmind.robots.commands import EnterTrack, MoveBoxToCell, MoveBoxToCorner, TrackMove, Wait
from fleetmind.robots.fleet import Observation, RobotObservation
from fleetmind.robots.ids import GridCell, GridCorner, RobotId
from fleetmind.sim.grid.fleet import GridFleet
from fleetmind.tasks.boxlift.rules import BoxLift
from fleetmind.tasks.boxnet1 import hints as boxnet1_hints
from fleetmind.tasks.boxnet1.rules import BoxNet1
from fleetmind.tasks.boxnet2 import hints as boxnet2_hints
from fleetmind.tasks.boxnet2.rules import BoxNet2
from fleetmind.tasks.warehouse import hints as warehouse_hints
from fleetmind.tasks.warehouse.rules import Warehouse
from hypothesis import given, settings
from hypothesis import strategies as st

from fleetmind.app.runner import run_episode

R = RobotId


def _first_enum(messages, schema):
    return json.dumps({r: p["enum"][0] for r, p in schema["properties"].items()})


def _first_listed(messages, schema):
    block = messages[1]["content"].split("effect in brackets):\n")[1]
    plan = {}
    for line in block.splitlines():
        found = re.match(r"(robot_\d+): (.*)", line)
        if not found:
            break
        plan[found.group(1)] = found.group(2).split(" [")[0].split("; ")[0]  # notes start with " ["
    return json.dumps(plan)


def _planner(task: str, chat: ScriptedChat, **kw):
    return make_planner("cmas", task, {"llm": LLMSettings(backend="openai", hints=True, **kw), "client": chat})


def _rejected_plans_never_repeat(chat: ScriptedChat) -> None:
    """Within one question (one step's central call and its re-prompts), no plan the shield rejected comes back."""
    rejected: dict[str, set[str]] = {}
    for i, ((messages, _), text) in enumerate(zip(chat.calls, chat.replies_sent, strict=True)):
        question = messages[1]["content"].split("Actions")[0]
        assert text not in rejected.get(question, set()), f"a rejected plan came back: {text}"
        following = chat.calls[i + 1][0] if i + 1 < len(chat.calls) else []
        if following and following[-1]["content"].startswith("The safety shield rejected"):
            rejected.setdefault(question, set()).add(text)
    assert rejected  # there were rejections to repeat


class _Recording(ScriptedChat):
    def __init__(self, replies) -> None:
        super().__init__(replies)
        self.replies_sent: list[str] = []

    def complete(self, messages, schema=None, user=None, time_left_s=None, temperature=None, seed=None):
        reply = super().complete(messages, schema, user, time_left_s, temperature, seed)
        self.replies_sent.append(reply.text)
        return reply


@pytest.mark.parametrize(("task", "seed"), [(Warehouse(4), 1000), (BoxNet2(2, 2), 1000), (BoxNet2(2, 2), 1001)])
def test_a_model_taking_the_first_enum_value_is_never_stopped_by_the_shield(task, seed):
    """Before the fix: failure_reason shield at step 1 after 7 identical rejections (warehouse_4, boxnet2_2x2)."""
    chat = _Recording(_first_enum)
    record = run_episode(GridFleet(task), _planner(task.name, chat), seed=seed)
    assert record.failure_reason != "shield", record
    assert record.steps == task.step_limit  # it plays every step (a model this dumb does not solve the task)
    assert record.extra["shield_rejections"] > 0  # the enums' first values collided, and the retries got past them
    _rejected_plans_never_repeat(chat)


@pytest.mark.parametrize(("task", "seed"), [(Warehouse(4), 1000), (BoxNet2(2, 2), 1000), (BoxNet1(2, 2), 1000)])
def test_a_model_taking_the_first_hint_never_meets_the_shield(task, seed):
    chat = _Recording(_first_listed)
    record = run_episode(GridFleet(task), _planner(task.name, chat), seed=seed)
    assert record.failure_reason != "shield", record
    assert record.extra["shield_rejections"] == 0 and record.extra["reprompts"] == 0


def _warehouse_1000():
    obs = GridFleet(Warehouse(4)).reset(1000)
    # robot_1 on track_1 column_1, robot_3 on track_1 column_2: robot_1's move right collides
    assert obs.world["robots"]["robot_1"] == [1, 1, False] and obs.world["robots"]["robot_3"] == [1, 2, False]
    return obs


def test_the_retry_schema_leaves_out_the_rejected_action_when_the_model_repeats_itself():
    obs = _warehouse_1000()
    bad = json.dumps({"robot_1": "move right"})
    chat = ScriptedChat(lambda messages, schema: bad)  # repeats its last plan, whatever it is told
    planner = _planner("warehouse", chat, max_reprompts=3)
    planner.reset(obs, 1000)
    with pytest.raises(Exception) as failed:
        planner.plan(obs)
    assert getattr(failed.value, "reason", None) == "syntax"  # the shield saw the colliding plan once, not 4 times
    assert planner.metrics()["shield_rejections"] == 1 and len(chat.calls) == 4
    assert planner.metrics()["repeated_rejections"] == 3  # the bench's loop count: the same refused reply again
    first, retry = chat.calls[0][1], chat.calls[1][1]
    assert "move right" in first["properties"]["robot_1"]["enum"]
    assert retry["properties"]["robot_1"]["enum"] == ["move left", "wait"]
    assert retry["properties"]["robot_3"] == first["properties"]["robot_3"]  # robot_3 is not to blame
    feedback = chat.calls[1][0][-1]["content"]
    assert "robot_1 and robot_3 would collide on track_1 column_2" in feedback
    assert "Removed from the choices for this step: robot_1: move right." in feedback
    assert "robot_1: move right" not in chat.calls[1][0][1]["content"].split("Actions")[1]  # nor in the prompt
    later = chat.calls[2][0][-1]["content"]
    assert "robot_1 said 'move right', which was removed from its choices" in later
    # re-prompts sample differently: a seeded temperature schedule
    assert chat.sampling[0] == {}
    assert [s["temperature"] for s in chat.sampling[1:]] == [0.4, 0.7, 1.0]
    assert len({s["seed"] for s in chat.sampling[1:]}) == 3


def test_removals_blame_the_fewest_robots_and_keep_a_safe_rest():
    obs = _warehouse_1000()
    both = {R("robot_0"): EnterTrack(1), R("robot_1"): TrackMove("left")}  # both onto track_1 column_0
    gone = removals(obs, both)
    # one of the pair is blamed (the later one); its move right would hit robot_3, who keeps its cell: out too
    assert gone == {R("robot_1"): ["move left", "move right"]}
    swap = {R("robot_1"): TrackMove("right"), R("robot_3"): TrackMove("left"), R("robot_0"): EnterTrack(0)}
    assert check_plan(obs, swap)  # the two would drive through each other
    gone = removals(obs, swap)  # either one waiting leaves the other driving into it: both go, robot_0 stays
    assert {r: a[0] for r, a in gone.items()} == {R("robot_3"): "move left", R("robot_1"): "move right"}
    assert not check_plan(obs, {r: c for r, c in swap.items() if r not in gone})
    with pytest.raises(ReplyError) as err:
        check_safe(obs, swap, None, None, False)
    assert err.value.removed == gone and "Removed from the choices" in err.value.feedback()
    with pytest.raises(ReplyError, match="removed from its choices"):
        validate_plan(obs, {"robot_3": "move left"}, {R("robot_3"): {"move left"}})


def test_a_move_onto_a_box_no_robot_can_move_is_never_offered():
    """BoxNet2 with robot_1 away: box_blue on position[0.0, 2.0] can only be moved by robot_1, so nobody moves it."""
    task = BoxNet2(2, 2)
    fleet = GridFleet(task)
    fleet.reset(0)
    task.set_state(boxes={"red": GridCorner(0, 1), "blue": GridCorner(0, 2)}, targets={GridCell(1, 1): ["red"]})
    full = fleet.observe()
    robots = {r: v for r, v in full.robots.items() if r != "robot_1"}
    obs = Observation(full.step, robots, full.world, full.text)
    onto_blue = MoveBoxToCorner("red", GridCorner(0, 2))
    assert onto_blue not in robots[R("robot_0")].legal  # robot_0's square does not have that corner
    doomed = boxnet2_hints.doomed(obs)
    assert doomed == {} or all(c.corner == GridCorner(0, 2) for cmds in doomed.values() for c in cmds)
    # the 2x2 grid: every corner belongs to a robot's square, so nothing is doomed with all four robots there
    assert boxnet2_hints.doomed(full) == {}
    lone = RobotObservation(R("robot_9"), {}, "", (onto_blue, MoveBoxToCorner("red", GridCorner(1, 1))))
    obs9 = Observation(full.step, {R("robot_9"): lone}, full.world, full.text)
    assert boxnet2_hints.doomed(obs9) == {R("robot_9"): [onto_blue]}
    schema = joint_plan_schema(obs9, None, {R("robot_9"): {onto_blue.text}})
    assert schema["properties"]["robot_9"]["enum"] == ["move(box_red, position[1.0, 1.0])", "wait"]


# ---------------------------------------------------------------- hints: wording


def test_boxnet1_wording_says_steps_and_ties():
    w = {"robots": {"robot_1": [0, 1]}, "targets": [[0, 0, "red"], [1, 2, "red"]], "boxes": [[0, 1, "red"]]}
    note, _ = boxnet1_hints.hint(R("robot_1"), MoveBoxToCell("red", GridCell(1, 1)), w, set())
    assert note == "then 1 step from target_red (no change)"  # 1 before (to (0,0)) and 1 after (to (1,2))
    note, _ = boxnet1_hints.hint(R("robot_1"), MoveBoxToCell("red", GridCell(0, 0)), w, set())
    assert note == "into target_red's square (closer)"
    note, _ = boxnet1_hints.hint(R("robot_1"), MoveBoxToCell("red", GridCell(0, 2)), w, set())
    assert note == "then 1 step from target_red (no change)"


def test_warehouse_wording_labels_a_tie_as_no_change():
    w = {"robots": {"robot_0": [0, 1, False]}, "boxes": [[0.5, 0], [0.5, 3]]}
    note, _ = warehouse_hints.hint(R("robot_0"), TrackMove("right"), w)
    assert note == "then 1 column from the nearest box (no change)"
    note, _ = warehouse_hints.hint(R("robot_0"), TrackMove("left"), w)
    assert note == "then at a box (pick it next) (closer)"


@pytest.mark.parametrize("task", ["boxnet1", "boxnet2", "warehouse"])
def test_the_system_prompt_explains_coordinates_once(task):
    for text in (prompts.central_system(task), prompts.turn_system(task, R("robot_0"))):
        explained = re.findall(r"\(row[ ,\d.]*column[ \d.]*\)", text)
        assert len(explained) == 1, text


# ---------------------------------------------------------------- hints: the property


def _world(kind: int, seed: int, moves: int):
    """A random state: a paper task at its smallest sizes, after ``moves`` random safe steps."""
    task = [BoxNet1(2, 2), BoxNet1(2, 4), BoxNet2(2, 2), Warehouse(4), Warehouse(6), BoxLift(4, 10)][kind]
    fleet = GridFleet(task)
    obs = fleet.reset(seed)
    rng = random.Random(seed)
    for _ in range(moves):
        plan = {r: rng.choice(v.legal) for r, v in obs.robots.items() if v.legal and rng.random() < 0.7}
        while check_plan(obs, plan):
            plan.pop(rng.choice(sorted(plan)))
        result = fleet.step(plan)
        if result.done:
            break
        obs = result.observation
    return obs


@settings(max_examples=120, deadline=None)
@given(st.integers(0, 5), st.integers(0, 10_000), st.integers(0, 6))
def test_the_first_hints_form_a_plan_the_shield_accepts(kind, seed, moves):
    obs = _world(kind, seed, moves)
    ranking = rank_joint(obs)
    assert not check_plan(obs, top_plan(ranking), physical=True)
    chosen = {}
    for rid, hints in ranking.items():
        assert {h[0] for h in hints} == {*obs.robots[rid].legal, Wait()}
        # tier of each entry: 0 safe with the robots ranked before (their first choices) and wait, 1 clashes with
        # them, 2 collides even alone; a colliding action never stands above a safe one
        tiers = [
            0
            if isinstance(c, Wait)
            else 2
            if check_plan(obs, {rid: c})
            else 1
            if check_plan(obs, {**chosen, rid: c})
            else 0
            for c, _, _ in hints
        ]
        assert tiers == sorted(tiers), (rid, hints)
        assert all(("COLLISION" in note) == (t == 2) for (_, note, _), t in zip(hints, tiers, strict=True))
        if not isinstance(hints[0][0], Wait):
            chosen[rid] = hints[0][0]
        for _, note, _ in hints:
            assert "(farther)" not in note or "no change" not in note
            assert not re.search(r"\bbox \d+ from\b", note)  # reads like a box index


def test_two_robots_aiming_at_one_cell_are_ranked_jointly():
    """Warehouse: robot_0 at the target and robot_1 on track_1 column_1 both head for column 0 of track_1."""
    task = Warehouse(4)
    fleet = GridFleet(task)
    fleet.reset(0)
    from fleetmind.tasks.warehouse.rules import TrackPos

    task.set_state(
        {(0.5, 0), (1.5, 0)},
        {R("robot_0"): None, R("robot_1"): TrackPos(1, 1), R("robot_2"): TrackPos(2, 4), R("robot_3"): TrackPos(0, 4)},
    )
    obs = fleet.observe()
    ranking = rank_joint(obs)
    assert not check_plan(obs, top_plan(ranking))
    assert ranking[R("robot_0")][0][0] in (EnterTrack(0), EnterTrack(1))
    if ranking[R("robot_0")][0][0] == EnterTrack(1):
        assert ranking[R("robot_1")][0][0] != TrackMove("left")
        assert any("choice above" in n for c, n, _ in ranking[R("robot_1")] if c == TrackMove("left"))
