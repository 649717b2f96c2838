"""HAS (issue 16): the information platform, frontiers, the baselines, groups and leaders, the manager's checked
LLM replies, and every mission completed on a fixed seed through the scripted LLM server."""

from __future__ import annotations

import json

import numpy as np
import pytest
from fleetmind.planners.has.frontier import ClusterCosts, assign, cluster_costs, distances, frontiers
from fleetmind.planners.has.manager import check_reply, heuristic_groups
from fleetmind.planners.has.planner import HasPlanner, Leader
from fleetmind.planners.has.platform import FREE, UNKNOWN, WALL, Group, InfoPlatform
from fleetmind.planners.registry import make_planner
from fleetmind.sim.explore import ExploreFleet
from fleetmind.sim.explore._kernels import sense_all
from fleetmind.tasks.has import HasConfig

from fleetmind.app.runner import run_episode
from tests.fake_chat import ScriptedChat


def cfg(**kw) -> HasConfig:
    return HasConfig.model_validate({"task": "has", "size": 32, "robots": 4, "step_limit": 300, **kw})


def _sense(blocked: np.ndarray, cells: list[tuple[int, int]], radius: int):
    rows = np.array([c[0] for c in cells], dtype=np.int64)
    cols = np.array([c[1] for c in cells], dtype=np.int64)
    seen, counts = sense_all(blocked, rows, cols, np.ones(len(cells), dtype=bool), radius)
    flat = blocked.ravel()
    free = [seen[i, : counts[i]][~flat[seen[i, : counts[i]]]] for i in range(len(cells))]
    walls = [seen[i, : counts[i]][flat[seen[i, : counts[i]]]] for i in range(len(cells))]
    return rows, cols, free, walls


def test_platform_merges_two_partial_maps_within_range_and_respects_line_of_sight():
    """A 7x20 corridor with a wall at column 3 (rows 0-5, a gap at row 6). Robot a at (3, 1) sees the wall but nothing
    behind it; robot b at (3, 15) sees its own end. Out of range their maps stay apart; within range they merge."""
    blocked = np.zeros((7, 20), dtype=bool)
    blocked[0:6, 3] = True
    names = ["a", "b"]
    p = InfoPlatform((7, 20), names, comm_range=4)
    rows, cols, free, walls = _sense(blocked, [(3, 1), (3, 15)], 3)
    p.ingest_cells(0, np.stack([rows, cols], axis=1), np.array([True, True]), free, walls)
    a, b = p.map_of(0).reshape(7, 20), p.map_of(1).reshape(7, 20)
    assert a[3, 3] == WALL and a[3, 4] == UNKNOWN and a[3, 1] == FREE  # the wall is seen, what lies behind it is not
    assert a[3, 15] == UNKNOWN and b[3, 15] == FREE and b[3, 1] == UNKNOWN
    assert p.known.reshape(7, 20)[3, 15] == FREE and p.known.reshape(7, 20)[3, 1] == FREE  # the union
    rows, cols, free, walls = _sense(blocked, [(3, 10), (3, 13)], 3)  # within range (3 cells apart)
    p.ingest_cells(1, np.stack([rows, cols], axis=1), np.array([True, True]), free, walls)
    assert np.array_equal(p.map_of(0), p.map_of(1))
    assert p.map_of(0).reshape(7, 20)[3, 1] == FREE and p.map_of(0).reshape(7, 20)[3, 15] == FREE
    unlimited = InfoPlatform((7, 20), names)
    unlimited.ingest_cells(
        0, np.array([[3, 1], [3, 15]]), np.array([True, True]), *_sense(blocked, [(3, 1), (3, 15)], 3)[2:]
    )
    assert (
        np.shares_memory(unlimited.map_of(0), unlimited.map_of(1)) and unlimited.map_of(1).reshape(7, 20)[3, 1] == FREE
    )


def test_frontier_clusters_and_the_four_assignments_on_a_hand_made_map():
    """Known: a free 3x9 strip with unknown cells beyond both ends (columns 0 and 10 of an 3x11 map): two frontier
    clusters of 3 cells each, at columns 1 and 9."""
    known = np.full((3, 11), UNKNOWN, dtype=np.int8)
    known[:, 1:10] = FREE
    known = known.ravel()
    f = frontiers(known, 3, 11)
    assert sorted(f.cells.tolist()) == [1, 9, 12, 20, 23, 31]
    assert sorted(f.sizes.tolist()) == [3, 3]
    assert sorted((f.reps % 11).tolist()) == [1, 9] and set((f.reps // 11).tolist()) == {1}
    src = np.array([1 * 11 + 3, 1 * 11 + 4], dtype=np.int64)  # both robots on the left
    dist = cluster_costs(known, 3, 11, src, f)
    full = ClusterCosts.from_fields(distances(known, 3, 11, src), f)
    assert dist.near.tolist() == full.near.tolist() and dist.to_rep.tolist() == full.to_rep.tolist()
    assert sorted(dist.near.tolist()) == [[2, 6], [3, 5]] and sorted(dist.to_rep.tolist()) == [[2, 6], [3, 5]]
    left = int(np.flatnonzero(f.reps % 11 == 1)[0])
    assert assign("nearest", dist, f, 11, 3).tolist() == [left, left]  # uncoordinated: both go left
    assert assign("explore_lite", dist, f, 11, 3).tolist() == [left, left]
    assert sorted(assign("hungarian", dist, f, 11, 3).tolist()) == [0, 1]  # one each
    assert sorted(assign("utility", dist, f, 11, 3).tolist()) == [0, 1]  # Burgard: the left one is taken


def test_leaders_never_assign_a_robot_outside_their_group():
    fleet = ExploreFleet(cfg(robots=8, size=48))
    obs = fleet.reset(4)
    p = InfoPlatform(obs.world["shape"], list(obs.robot_ids))
    p.ingest(obs)
    f = frontiers(p.known, p.h, p.w)
    rng = np.random.default_rng(0)
    for _ in range(20):
        members = np.sort(rng.choice(8, size=int(rng.integers(1, 5)), replace=False))
        group = Group("g", p.names[members[0]], [p.names[i] for i in members], (0, 0, 23, 23))
        got = Leader(group, 5).assign(p, f, members, taken=[int(c) for c in f.reps[:2]])
        assert set(got) <= set(members.tolist()) and got


def test_groups_form_and_reform_when_robots_are_lost_and_join():
    fleet = ExploreFleet(cfg(mission="reorg", robots=8, size=48, step_limit=100))
    planner = HasPlanner()
    record = run_episode(fleet, planner, 0)
    assert record.extra["collisions"] == 0
    assert planner.reasons.get("robot lost or joined") == 1 and planner.reasons["start"] == 1
    grouped = {r for lead in planner.leaders.values() for r in lead.group.members}
    online = {r for r, on in zip(fleet.robot_ids, fleet.world.active, strict=True) if on}
    assert grouped == online and "robot_8" in grouped and "robot_9" in grouped  # the new robots are in groups
    assert record.extra["max_ungrouped_steps"] == 0  # <= 10 asked: every robot is in a group on the step it joins
    assert record.extra["repairs"] == 1  # the loss and the joins: repaired without the manager
    assert 1 <= record.extra["reorganizations"] <= sum(planner.reasons.values())


def test_manager_reply_checks_name_the_robot_region_and_object():
    fleet = ExploreFleet(cfg(robots=4))
    obs = fleet.reset(0)
    p = InfoPlatform(obs.world["shape"], list(obs.robot_ids))
    p.ingest(obs)
    bad = {
        "groups": [
            {"leader": "robot_0", "members": ["robot_0", "robot_7"], "region": [0, 0, 40, 10], "goal_object": 99},
            {"leader": "robot_3", "members": ["robot_1", "robot_2"], "region": [0, 0, 5, 5], "goal_object": None},
        ]
    }
    groups, errors = check_reply(json.dumps(bad), p)
    assert groups == []
    text = "\n".join(errors)
    assert "robot_7 is not an online robot" in text
    assert "region [0, 0, 40, 10] lies outside the 32x32 map" in text
    assert "goal_object 99 has not been seen" in text
    assert "leader robot_3 is not one of its members" in text
    assert "robots without a group: robot_3" in text
    assert check_reply("{not json", p)[1][0].startswith("the reply is not JSON")
    good = heuristic_groups(p, "explore", {})
    reply = {
        "groups": [
            {"leader": g.leader, "members": g.members, "region": list(g.region), "goal_object": None} for g in good
        ]
    }
    assert check_reply(json.dumps(reply), p)[1] == []


def test_bad_manager_output_is_refused_with_feedback_then_the_heuristic_stands_in():
    def plan(messages, schema):
        return json.dumps(
            {
                "groups": [
                    {
                        "leader": "robot_0",
                        "members": ["robot_0", "robot_9"],
                        "region": [0, 0, 99, 5],
                        "goal_object": None,
                    }
                ]
            }
        )

    chat = ScriptedChat(plan)
    planner = HasPlanner(client_factory=lambda: chat, retries=2)
    fleet = ExploreFleet(cfg(step_limit=5))
    record = run_episode(fleet, planner, 0)
    assert record.steps == 5 and record.extra["collisions"] == 0
    assert len(chat.calls) == 3  # the first call and two re-prompts, then the heuristic plans
    feedback = chat.calls[1][0][-1]["content"]
    assert "robot_9 is not an online robot" in feedback and "lies outside the 32x32 map" in feedback
    assert chat.calls[1][0][-2]["role"] == "assistant"
    assert record.extra["manager_refused"] == 3 and record.extra["manager_fallbacks"] == 1
    assert planner.leaders, "the heuristic's groups run the episode"


@pytest.mark.parametrize(
    ("mission", "extra"),
    [
        ("explore", {}),
        ("multi_search", {"targets": 2}),
        ("sequential", {"targets": 2}),
        ("described_goal", {}),
        ("described_goal", {"goal_form": "patch"}),
        ("reorg", {"step_limit": 200}),
    ],
)
def test_each_mission_completes_with_the_scripted_llm_server(server_factory, mission, extra):
    from fleetmind.planners.llm.client import OpenAIChat

    server = server_factory()
    client = OpenAIChat(server.base_url, None, "oracle", timeout_s=10, max_retries=1, backoff_s=0.01)
    planner = make_planner("has", "has", {"client_factory": lambda: client})
    fleet = ExploreFleet(cfg(mission=mission, family="rooms", **extra))
    record = run_episode(fleet, planner, 1)
    if mission == "reorg":
        assert planner.reasons.get("robot lost or joined") == 1  # type: ignore[attr-defined]
    assert record.success, (mission, record)
    assert record.extra["collisions"] == 0 and record.extra["shield_rejections"] == 0
    assert 1 <= record.extra["llm_calls"] <= record.extra["reorganizations"]
    assert record.extra["manager_refused"] == 0


def test_flat_llm_planner_and_a_baseline_complete_the_search(server_factory):
    from fleetmind.planners.llm.client import OpenAIChat

    server = server_factory()
    client = OpenAIChat(server.base_url, None, "oracle", timeout_s=10, max_retries=1, backoff_s=0.01)
    flat = make_planner("has_flat", "has", {"client_factory": lambda: client})
    record = run_episode(ExploreFleet(cfg(mission="multi_search", targets=2)), flat, 1)
    assert record.success and record.extra["collisions"] == 0 and record.extra["llm_calls"] >= 1
    base = run_episode(ExploreFleet(cfg(mission="multi_search", targets=2)), make_planner("frontier_utility", "has"), 1)
    assert base.success and base.extra["llm_calls"] == 0


def _state(messages) -> dict:
    """The state block of the first prompt (re-prompts carry only the feedback)."""
    return json.loads(messages[1]["content"].split("```state\n")[1].split("\n```")[0])


def test_llm_leaders_never_assign_a_robot_outside_their_group_even_when_the_model_says_so():
    """Every leader reply also names a robot of another group: refused with feedback naming it, re-prompted twice,
    then the heuristic deploys the group; no goal ever lands on a robot through another group's leader."""

    def reply(messages, schema):
        state = _state(messages)
        if schema["title"] == "has_manager":
            return json.dumps(state["suggestion"])
        members = list(schema["properties"]["assignments"]["properties"])
        outsider = next(f"robot_{i}" for i in range(8) if f"robot_{i}" not in members)
        return json.dumps({"assignments": {**state["suggestion"]["assignments"], outsider: "f0"}})

    chat = ScriptedChat(reply)
    planner = make_planner("has_llm_leaders", "has", {"client_factory": lambda: chat})
    record = run_episode(ExploreFleet(cfg(robots=8, step_limit=4)), planner, 0)
    assert record.extra["collisions"] == 0 and len(planner.leaders) == 2  # type: ignore[attr-defined]
    leader_calls = [(m, s) for m, s in chat.calls if s["title"] == "has_leader"]
    assert len(leader_calls) == 2 * 3  # two groups: a call and two re-prompts each, then the heuristic
    feedback = leader_calls[1][0][-1]["content"]
    assert "is not a member of group g" in feedback and "assign only your own members" in feedback
    assert record.extra["leader_refused"] == 6 and record.extra["leader_fallbacks"] == 2
    assert record.extra["llm_calls"] == 1 + 6 and record.extra["leader_calls"] == 6


def test_an_llm_leader_reply_within_its_group_deploys_the_members():
    """The model sends every member to the last frontier candidate (not the heuristic's spread): that is the goal."""
    chosen: dict[str, int] = {}

    def reply(messages, schema):
        state = _state(messages)
        if schema["title"] == "has_manager":
            return json.dumps(state["suggestion"])
        enum = schema["properties"]["assignments"]["properties"]
        members = list(enum)
        last = [c for c in next(iter(enum.values()))["enum"] if c.startswith("f")][-1]
        prompt = messages[1]["content"]
        r, c = prompt.split(f"{last} at (")[1].split(")")[0].split(", ")
        chosen.update({m: int(r) * 32 + int(c) for m in members})
        return json.dumps({"assignments": {m: last for m in members}})

    chat = ScriptedChat(reply)
    planner = HasPlanner(client_factory=lambda: chat, leader="llm")
    run_episode(ExploreFleet(cfg(robots=4, step_limit=1)), planner, 0)
    assert planner.metrics()["leader_refused"] == 0 and chosen
    got = {planner.names[i]: int(g) for i, g in enumerate(planner.goal)}
    assert got == chosen


def test_llm_leaders_complete_a_search_with_the_scripted_server(server_factory):
    from fleetmind.planners.llm.client import OpenAIChat

    server = server_factory()
    client = OpenAIChat(server.base_url, None, "oracle", timeout_s=10, max_retries=1, backoff_s=0.01)
    planner = make_planner("has_llm_leaders", "has", {"client_factory": lambda: client})
    record = run_episode(ExploreFleet(cfg(mission="multi_search", family="rooms", targets=2)), planner, 1)
    assert record.success and record.extra["collisions"] == 0
    assert record.extra["leader_calls"] >= 1 and record.extra["leader_refused"] == 0
    assert record.extra["llm_calls"] == record.extra["leader_calls"] + len(planner.manager.calls)  # type: ignore[attr-defined]
    asked: dict[str, list[int]] = {}  # a leader robot asks at most every 50 steps, across re-organizations
    for call in [c for c in planner.leader_stats.calls if c["attempt"] == 0]:  # type: ignore[attr-defined]
        robot = call["messages"][1]["content"].split("You (")[1].split(")")[0]
        asked.setdefault(robot, []).append(call["step"])
    assert all(b - a >= 50 for steps in asked.values() for a, b in zip(steps, steps[1:], strict=False)), asked


def test_goal_rows_are_searched_only_as_far_as_their_robots_and_again_when_one_stands_beyond():
    """A free 1x40 strip, goal at column 0: a robot at column 5 needs the row to column 5 + margin 3 (+1); when a
    robot stands at column 30 the row is searched again and reads 30 there."""
    from fleetmind.planners.has.motion import GoalFields

    fields = GoalFields(np.zeros(40, dtype=np.int8), 1, 40, capacity=4, margin=3)
    goal = np.array([0], dtype=np.int64)
    row = fields.rows(goal, np.array([5], dtype=np.int64))[0]
    top = np.iinfo(fields.pool.dtype).max
    assert fields.pool[row, :10].tolist() == list(range(9)) + [top] and fields.bound[row] == 7
    row = fields.rows(goal, np.array([30], dtype=np.int64))[0]
    assert fields.pool[row, 30] == 30 and fields.computed == 2
    fields.rows(goal, np.array([29], dtype=np.int64))
    assert fields.computed == 2  # still exact around column 29: not searched again
