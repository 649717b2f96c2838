"""HAS leaders in their robots' agents (issue 16), without ROS: the deploy / assign documents, the planner node's
remote leader role with an injected clock, the agent's answer, a dropped robot as the manager's "robot lost", and
the call budget (stable group names and leaders, a leader asks when its group's subtask changes)."""

from __future__ import annotations

import json

import numpy as np
from fleetmind.planners.has._ask import CallStats
from fleetmind.planners.has.frontier import frontiers
from fleetmind.planners.has.leaders import LeaderAnswer, LLMLeader, RemoteLeaders, leader_prompt
from fleetmind.planners.has.manager import keep_identity
from fleetmind.planners.has.planner import HasPlanner, Leader
from fleetmind.planners.has.platform import Group, InfoPlatform
from fleetmind.planners.llm.ros_dialogue import AssignDoc, DeployDoc, parse_dialogue
from fleetmind.robots.clock import ManualClock
from fleetmind.sim.explore import ExploreFleet
from fleetmind.tasks.has import HasConfig

from fleetmind.app.runner import run_episode
from fleetmind.ros.has_leaders import answer_deploy, answer_of, ask_of, deploy_doc
from tests.fake_chat import ScriptedChat

R = [f"robot_{i}" for i in range(8)]


def cfg(**kw) -> HasConfig:
    return HasConfig.model_validate({"task": "has", "size": 32, "robots": 4, "step_limit": 300, **kw})


def _platform(active: list[bool] | None = None) -> InfoPlatform:
    """An 8x8 map: the left half known free, the right half unknown (frontier at column 3); robots in column 0-1."""
    p = InfoPlatform((8, 8), R)
    known = p.known.reshape(8, 8)
    known[:, :4] = 0
    p.positions[:] = [(i, i % 2) for i in range(8)]
    p.active[:] = active if active is not None else True
    return p


def test_groups_keep_their_name_and_leader_while_their_members_largely_persist():
    p = _platform()
    p.groups = {"g0": Group("g0", R[1], R[:4], (0, 0, 3, 3)), "g1": Group("g1", R[5], R[4:], (4, 0, 7, 7))}
    new = [Group("g0", R[6], [R[3], R[5], R[6], R[7]], (0, 4, 3, 7)), Group("g1", R[0], R[:3] + [R[4]], (4, 4, 7, 7))]
    ids, got = keep_identity(p, new, 2)
    # the first new group is mostly old g1 (3 of 4), the second mostly old g0: names and leaders follow the members
    assert [(g.name, g.leader, g.region) for g in got] == [("g1", R[5], (0, 4, 3, 7)), ("g0", R[1], (4, 4, 7, 7))]
    assert ids == 2
    p.groups = {g.name: g for g in got}
    p.active[1] = False  # the leader of g0 is lost: its group keeps the name, the manager's leader takes over
    again = [
        Group("x", R[7], [R[3], R[5], R[6], R[7]], (0, 4, 3, 7)),
        Group("y", R[2], [R[0], R[2], R[4]], (0, 0, 7, 3)),
    ]
    ids, got = keep_identity(p, again, ids)
    assert [(g.name, g.leader) for g in got] == [("g1", R[5]), ("g0", R[2])]
    split = [Group("a", R[0], [R[0], R[2]], (0, 0, 3, 3)), Group("b", R[4], [R[4]], (4, 0, 7, 3))]
    split += [Group("c", R[5], [R[3], R[5], R[6], R[7]], (0, 4, 7, 7))]
    ids, got = keep_identity(p, split, ids)  # g0 (0, 2, 4) splits: its larger half keeps the name, the rest is new
    assert [(g.name, g.leader) for g in got] == [("g0", R[0]), ("g2", R[4]), ("g1", R[5])] and ids == 3


def test_a_leader_asks_when_its_group_is_new_or_its_subtask_changed_and_the_budget_allows():
    group = Group("g0", R[0], R[:2], (0, 0, 7, 7))
    asked: dict = {}
    budget_open: list[int] = []  # steps at which the planner's call budget allows a call
    leader = LLMLeader(Leader(group, 3), None, CallStats(), asked, may_ask=lambda step: step in budget_open)
    two = np.array([0, 1])
    budget_open[:] = [0, 3, 60]
    assert leader.wants_model(0, two, 2)  # new group
    asked["g0"] = (0, leader.subtask)
    assert not leader.wants_model(60, two, 2)  # same subtask: no call, however long (no refresh on a clock)
    group.region = (0, 0, 3, 3)
    assert leader.wants_model(3, two, 2)  # the subtask changed: at once, no 50-step wait
    assert not leader.wants_model(4, two, 2)  # ... unless the call budget is spent: the heuristic deploys
    assert not leader.wants_model(3, two[:1], 2)  # a refill of one member: the heuristic


def _ask_parts():
    p = _platform()
    group = Group("g3", R[0], R[:3], (0, 0, 7, 7))
    leader = LLMLeader(Leader(group, 3), None, CallStats(), {})
    f = frontiers(p.known, p.h, p.w)
    return p, f, group, leader


def test_deploy_document_round_trips_to_the_same_prompt_and_malformed_ones_are_dropped(caplog):
    p, f, group, leader = _ask_parts()
    a = leader.describe(p, R[:3], {"f0": 3, "f1": 19, "stay": -1}, {R[0]: "f0", R[1]: "f1", R[2]: "stay"}, 7)
    doc = parse_dialogue(json.dumps(deploy_doc(2, 5, a).dump()))
    assert isinstance(doc, DeployDoc) and doc.robot == R[0] and doc.request == 5 and doc.members[R[1]] == [1, 1]
    assert ask_of(doc) == a and leader_prompt(ask_of(doc)) == leader.prompt(p, R[:3], a.candidates, a.suggestion, 7)
    assert "f1 at (2, 3)" in leader_prompt(a) and "You (robot_0) lead group g3" in leader_prompt(a)
    bad = deploy_doc(2, 5, a).dump() | {"region": [0, 0, 7]}
    assert parse_dialogue(json.dumps(bad)) is None
    assert "deploy.region: List should have at least 4 items" in caplog.text


def _leader_reply(outsider: bool):
    def reply(messages, schema):
        state = json.loads(messages[1]["content"].split("```state\n")[1].split("\n```")[0])
        out = dict(state["suggestion"]["assignments"])
        return json.dumps({"assignments": out | ({R[7]: "f0"} if outsider else {})})

    return reply


def test_the_agent_answers_as_the_leader_and_refuses_its_own_model_naming_another_group_s_robot():
    p, f, group, leader = _ask_parts()
    a = leader.describe(p, R[:2], {"f0": 3, "stay": -1}, {R[0]: "f0", R[1]: "stay"}, 7)
    good = answer_deploy(ScriptedChat(_leader_reply(False)), deploy_doc(1, 4, a))
    assert good.assignments == {R[0]: "f0", R[1]: "stay"} and good.calls == 1 and good.prompt_tokens == 101
    chat = ScriptedChat(_leader_reply(True))
    bad = answer_deploy(chat, deploy_doc(1, 4, a))
    assert bad.assignments is None and bad.calls == 3 and len(chat.calls) == 3  # two re-prompts, then it gives up
    assert "robot_7 is not a member of group g3" in chat.calls[1][0][-1]["content"]
    assert isinstance(parse_dialogue(json.dumps(bad.dump())), AssignDoc)


def test_remote_leader_deploys_the_agent_s_answer_and_refuses_an_outsider():
    p, f, group, _ = _ask_parts()
    members = np.array([0, 1, 2])
    answers = iter([{R[0]: "f0", R[1]: "stay", R[2]: "f0"}, {R[0]: "f0", R[1]: "stay", R[2]: "f0", R[7]: "f0"}])
    sent: list[tuple[int, DeployDoc]] = []

    def publish(rid, a):
        sent.append((rid, deploy_doc(0, rid, a)))
        remote.deliver(rid, LeaderAnswer(next(answers), calls=1, prompt_tokens=50, completion_tokens=5))

    remote = RemoteLeaders(publish, lambda: R, timeout_s=5.0, clock=ManualClock())
    stats = CallStats()
    leader = LLMLeader(Leader(group, 3), None, stats, {}, remote=remote)
    got = leader.assign(p, f, members, step=0)
    f0 = sent[0][1].candidates["f0"]
    assert got == {0: f0, 2: f0} and sent[0][1].robot == R[0] and set(sent[0][1].members) == set(R[:3])
    hint = Leader(group, 3).assign(p, f, members)
    group.region = (0, 0, 3, 3)  # the subtask changes, 50 steps on: asked again; the answer names robot_7: refused
    assert leader.assign(p, f, members, step=50) == hint and stats.refused == 1 and stats.fallbacks == 1
    assert len(stats.calls) == 2 and stats.calls[0]["prompt_tokens"] == 50


def test_remote_leader_times_out_on_the_clock_or_stops_when_the_leader_drops():
    clock = ManualClock()
    live = set(R)
    published: list[int] = []
    _, f, group, leader = _ask_parts()
    a = leader.describe(_platform(), R[:2], {"stay": -1}, {R[0]: "stay", R[1]: "stay"}, 3)

    def late(rid, _a):
        published.append(rid)
        clock.advance(120.5)  # the answer never comes; the clock passes the bound

    assert RemoteLeaders(late, lambda: live, 120.0, clock).deploy(a) is None and published == [1]

    def drop(rid, _a):
        live.discard(R[0])  # the leader's agent is dropped while the planner waits (the monitor pokes)
        remote.poke()

    remote = RemoteLeaders(drop, lambda: live, 120.0, clock)
    assert remote.deploy(a) is None and clock.now() == 120.5
    assert remote.deploy(a) is None and remote.count == 1  # not live: nothing is published
    answer = answer_of(AssignDoc(episode=0, step=3, request=1, robot=R[0], group="g3", assignments=None, calls=2))
    assert answer == LeaderAnswer(None, 2, 0, 0)


def test_a_robot_dropped_by_the_planner_node_is_a_lost_robot_to_the_manager():
    fleet = ExploreFleet(cfg(robots=4))
    obs = fleet.reset(0)
    planner = HasPlanner()
    planner.reset(obs, 0)
    planner.plan(obs)
    assert "robot_1" in {r for lead in planner.leaders.values() for r in lead.group.members}
    planner.offline = frozenset({"robot_1"})
    obs = fleet.step(planner.plan(obs)).observation
    plan = planner.plan(obs)
    assert planner.reasons == {"start": 1, "robot lost or joined": 1}
    grouped = {r for lead in planner.leaders.values() for r in lead.group.members}
    assert grouped == {"robot_0", "robot_2", "robot_3"} and "robot_1" not in plan


def test_llm_leaders_ask_per_group_only_when_the_subtask_changes():
    """A search with a scripted model that answers with the heuristic's picks: the same run as ``has``; groups keep
    their names, and each group's leader asks at most once per subtask, within the call budget."""
    chat = ScriptedChat(lambda m, s: json.dumps(_state(m)["suggestion"]))
    planner = HasPlanner(client_factory=lambda: chat, leader="llm")
    record = run_episode(ExploreFleet(cfg(mission="multi_search", family="rooms", targets=2)), planner, 1)
    base = run_episode(ExploreFleet(cfg(mission="multi_search", family="rooms", targets=2)), HasPlanner(), 1)
    assert record.success and record.steps == base.steps and record.extra["collisions"] == 0
    prompts = [c["messages"][1]["content"] for c in planner.leader_stats.calls]
    subtasks = [text.split("lead group ")[1].split(" of a ")[0] for text in prompts]
    assert subtasks and len(set(subtasks)) == len(subtasks), subtasks  # one call per group and subtask, no refresh
    calls = sorted(c["step"] for c in planner.call_log())
    for c in planner.leader_stats.calls:  # after the start: only within 1 call per group per 50 steps, every call
        if c["step"] > 0:
            assert calls.index(c["step"]) + 1 <= len(planner.leaders) * c["step"] / 50, (c["step"], calls)


def _state(messages) -> dict:
    return json.loads(messages[1]["content"].split("```state\n")[1].split("\n```")[0])
