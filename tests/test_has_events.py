"""HAS events (issue 16, <= 1 LLM call per group per 50 steps): events that need no model are repaired or only logged,
plan-changing events ask the manager once, coalesced within a bounded delay, and LLM leaders ask only for a new
subtask within the call budget."""

from __future__ import annotations

import json

import numpy as np
from fleetmind.planners.has.frontier import frontiers
from fleetmind.planners.has.manager import repair_groups
from fleetmind.planners.has.planner import HasPlanner
from fleetmind.planners.has.platform import Group, InfoPlatform
from fleetmind.sim.explore import ExploreFleet
from fleetmind.tasks.has import HasConfig

from tests.fake_chat import ScriptedChat

R = [f"robot_{i}" for i in range(6)]


def cfg(**kw) -> HasConfig:
    return HasConfig.model_validate({"task": "has", "size": 32, "robots": 8, "step_limit": 300, **kw})


def _suggest(messages, schema) -> str:
    state = json.loads(messages[1]["content"].split("```state\n")[1].split("\n```")[0])
    return json.dumps(state["suggestion"])


def test_repair_drops_the_lost_hands_a_lost_leader_s_group_to_the_member_nearest_its_centre_and_places_joiners():
    p = InfoPlatform((20, 20), R)
    p.positions[:] = [(1, 1), (9, 9), (2, 2), (15, 15), (18, 18), (16, 3)]
    p.groups = {
        "g0": Group("g0", R[0], R[:3], (0, 0, 9, 9)),  # centre (4.5, 4.5): robot_2 is nearer than robot_1
        "g1": Group("g1", R[3], [R[3]], (10, 10, 19, 19)),
        "g2": Group("g2", R[4], [R[4]], (10, 0, 19, 9)),
    }
    p.active[:] = [False, True, True, True, False, True]  # robot_0 (g0's leader) and robot_4 (all of g2) lost
    groups, emptied, notes = repair_groups(p)
    got = {g.name: (g.leader, g.members, g.region) for g in groups}
    # robot_5 at (16, 3) was in no group: the nearest region is g2's, but g2 is gone; g0's and g1's are both 7
    # away, and ties go to the smaller group (g1: one member)
    assert got == {"g0": (R[2], [R[1], R[2]], (0, 0, 9, 9)), "g1": (R[3], [R[3], R[5]], (10, 10, 19, 19))}
    assert emptied == ["g2"]
    assert "robot_0 left g0" in notes and "robot_2 leads g0 (robot_0 lost)" in notes and "robot_5 joined g1" in notes


def test_a_robot_loss_is_repaired_without_a_model_call_and_everyone_stays_grouped():
    chat = ScriptedChat(_suggest)
    planner = HasPlanner(client_factory=lambda: chat)
    fleet = ExploreFleet(cfg())
    obs = fleet.reset(0)
    for _ in range(3):
        obs = fleet.step(planner.plan(obs)).observation
    assert len(chat.calls) == 1 and len(planner.leaders) == 2  # the start: one manager call
    victim = next(iter(planner.leaders.values())).group.leader
    planner.offline = frozenset({victim})
    for _ in range(3):
        obs = fleet.step(planner.plan(obs)).observation
    assert len(chat.calls) == 1, "a lost robot costs no model call"
    assert planner.repairs == 1 and planner.reorganizations == 1
    grouped = [r for lead in planner.leaders.values() for r in lead.group.members]
    assert sorted(grouped) == sorted(r for r in planner.names if r != victim) and len(set(grouped)) == len(grouped)
    assert all(lead.group.leader in lead.group.members for lead in planner.leaders.values())
    assert any("repaired without the model" in line and f"{victim} left" in line for _, line in planner.p.events)


def _started(mission: str = "explore") -> tuple[HasPlanner, ExploreFleet, object]:
    planner = HasPlanner(coalesce=5)
    fleet = ExploreFleet(cfg(mission=mission))
    obs = fleet.reset(0)
    planner.plan(obs)
    return planner, fleet, obs


def test_plan_changing_events_are_coalesced_into_one_manager_call_within_the_bounded_delay():
    planner, _, _ = _started()
    p = planner.p
    f = frontiers(p.known, p.h, p.w)
    assert planner.reorganizations == 1 and planner.reasons == {"start": 1}
    planner._handle(["next target revealed"], f, 10)  # the last call is 10 steps back: at once
    assert planner.reorganizations == 2 and planner.pending == []
    planner._handle(["group emptied"], f, 12)  # 2 steps after a call: it waits for the window's end ...
    for step in (13, 14):  # ... and a second event joins it
        planner._handle(["next target revealed"] if step == 13 else [], f, step)
        assert planner.reorganizations == 2 and planner.pending
    planner._handle([], f, 15)  # 5 steps after the last call: one call for both (3 steps late at most)
    assert planner.reorganizations == 3 and planner.pending == [] and planner.coalesced == 1
    last = [line for _, line in p.events if line.startswith("re-organized")][-1]
    assert last.startswith("re-organized (group emptied, next target revealed)")
    planner._handle(["target seen"], f, 21)  # no model: the platform only
    for step in range(22, 30):
        planner._handle([], f, step)
    assert planner.reorganizations == 3 and planner.reasons["target seen"] == 1


def test_a_subtask_done_asks_the_manager_once_and_a_region_done_when_given_is_not_done_again():
    planner, _, _ = _started()
    p = planner.p
    name, lead = next(iter(planner.leaders.items()))
    top, left, bottom, right = lead.group.region
    known = p.known.reshape(p.h, p.w)
    known[max(top - 1, 0) : bottom + 2, max(left - 1, 0) : right + 2] = 0  # known free and a ring: no frontier inside
    f = frontiers(p.known, p.h, p.w)
    assert name in planner._done_groups(f)
    planner._handle([], f, 2)  # 2 steps after the start's call: queued ...
    assert planner.reorganizations == 1 and planner.pending == ["subtask done"]
    planner._handle([], f, 5)  # ... and asked once, when the window ends
    assert planner.reorganizations == 2 and planner.reasons["subtask done"] == 1
    for step in range(6, 40):  # whatever the manager gave now counts as its new subtask: no call every step
        planner._handle([], f, step)
    assert planner.reorganizations == 2


def test_llm_leaders_ask_at_the_start_then_only_within_one_call_per_group_per_50_steps():
    chat = ScriptedChat(_suggest)
    planner = HasPlanner(client_factory=lambda: chat, leader="llm")
    fleet = ExploreFleet(cfg())
    obs = fleet.reset(0)
    obs = fleet.step(planner.plan(obs)).observation
    titles = [s["title"] for _, s in chat.calls]
    assert titles == ["has_manager", "has_leader", "has_leader"]  # the start: the manager and both new groups
    assert planner._may_ask(0) and not planner._may_ask(99) and planner._may_ask(100)  # 4th call, 2 groups: step 100
    unlimited = HasPlanner(client_factory=lambda: chat, leader="llm", call_budget=None)
    assert unlimited._may_ask(1)
    assert np.isclose(planner.metrics()["groups_mean"], 2.0)


def test_a_plan_changing_event_over_the_call_budget_is_planned_by_the_heuristic_and_logged():
    for budget, calls in ((1.0, 1), (None, 2)):
        chat = ScriptedChat(_suggest)
        planner = HasPlanner(client_factory=lambda chat=chat: chat, call_budget=budget)
        fleet = ExploreFleet(cfg())
        planner.plan(fleet.reset(0))
        p = planner.p
        planner._handle(["next target revealed"], frontiers(p.known, p.h, p.w), 10)  # 2 calls > 2 groups * 10 / 50
        assert planner.reorganizations == 2 and len(chat.calls) == calls, budget
        assert planner.metrics()["manager_over_budget"] == 2 - calls
        over = [line for _, line in p.events if line.startswith("over the call budget at step 10")]
        assert len(over) == 2 - calls
