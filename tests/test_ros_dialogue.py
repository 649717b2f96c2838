"""The ROS agents' side of the frameworks, without ROS: agents run the framework's own langgraph graph with the
other robots' turns (or HMAS-2's checks) as remote roles. Seats talk over an in-memory bus, one thread each,
and must reproduce the in-process dialogue; deadlines run on an injected clock."""

from __future__ import annotations

import itertools
import json
import logging
import queue
import threading
from collections.abc import Callable

import pytest
from fleetmind.planners.llm.frameworks import build_graph
from fleetmind.planners.llm.remote import (
    Cancelled,
    DialogueSeat,
    Mailbox,
    Opening,
    Proposal,
    RemoteChecks,
    ReplyTimeout,
    Turn,
)
from fleetmind.planners.llm.ros_dialogue import CheckDoc, OpenDoc, TurnDoc, mask_observation, parse_dialogue
from fleetmind.robots.clock import ManualClock
from fleetmind.robots.commands import Lift
from fleetmind.robots.fleet import Observation, RobotObservation
from fleetmind.robots.ids import RobotId

R = [RobotId(f"robot_{i}") for i in range(4)]
OBS = Observation(
    step=0, robots={r: RobotObservation(r, {}, "", (Lift(i),)) for i, r in enumerate(R)}, world={}, text=""
)
CENTRAL = {R[0]: Lift(99)}
JOIN_S = 30.0  # generous bound for a thread that must end; never reached when the code is right


class ScriptedRoles:
    """Turn ``i`` proposes ``{speaker: Lift(i)}`` and EXECUTEs at ``execute_at``; every turn is recorded."""

    def __init__(self, speakers: list[RobotId], rounds: int, execute_at: int | None) -> None:
        self.dialogue_rounds, self.feedback_rounds = rounds, 0
        self._speakers, self.execute_at = speakers, execute_at
        self.calls: list[tuple[RobotId, dict]] = []
        self.lock = threading.Lock()

    def speakers(self, observation, plan):
        return list(self._speakers)

    def central(self, observation, objections):
        return dict(CENTRAL)

    def turn(self, observation, robot, speakers, dialogue, proposal):
        i = len(dialogue)
        with self.lock:
            self.calls.append((robot, dict(proposal)))
        return {robot: Lift(i)}, i == self.execute_at, f"{robot}: turn {i}"

    def check(self, observation, robot, plan):  # pragma: no cover - not used by dmas / hmas1
        return None


class WatchedClock(ManualClock):
    """A manual clock that counts its readers: a wait reads it for its deadline, then on every wake-up."""

    def __init__(self) -> None:
        super().__init__()
        self.reads = 0
        self._seen = threading.Condition()
        self.read = threading.Event()

    def now(self) -> float:
        with self._seen:
            self.reads += 1
            self._seen.notify_all()
        self.read.set()
        return super().now()

    def wait_reads(self, n: int) -> bool:
        with self._seen:
            return self._seen.wait_for(lambda: self.reads >= n, JOIN_S)


def _start(fn: Callable[[], object]) -> tuple[threading.Thread, dict[str, object]]:
    out: dict[str, object] = {}

    def body() -> None:
        try:
            out["value"] = fn()
        except Exception as exc:  # handed to the test
            out["error"] = exc

    thread = threading.Thread(target=body, daemon=True)
    thread.start()
    return thread, out


def _opening(speakers: list[RobotId], proposal: dict, rounds: int, attempt: int = 0) -> Opening:
    return Opening(
        episode=1, step=0, attempt=attempt, speakers=tuple(speakers), proposal=proposal, dialogue_rounds=rounds
    )


@pytest.mark.parametrize("framework", ["dmas", "hmas1"])
def test_agents_running_the_graph_over_a_bus_reproduce_the_in_process_dialogue(framework):
    """Every small case (speakers, rounds, where the first EXECUTE falls): each agent, a robot outside the
    dialogue included, ends with the in-process plan and transcript, and the turns are taken in its order."""
    cases = 0
    for n, rounds in itertools.product(range(4), range(1, 4)):
        for execute_at in [None, *range(n * rounds)]:
            in_process = ScriptedRoles(R[:n], rounds, execute_at)
            expected = build_graph(framework, in_process).invoke({"observation": OBS})
            models = ScriptedRoles(R[:n], rounds, execute_at)  # every agent's own model, one shared record
            said: list[Turn] = []
            seats: list[DialogueSeat] = []

            def speak(turn: Turn, said: list[Turn] = said, seats: list[DialogueSeat] = seats) -> None:
                said.append(turn)
                for s in seats:
                    s.hear(turn)

            seats += [DialogueSeat(framework, r, models, speak, timeout_s=JOIN_S) for r in [*R[:n], R[3]]]
            opening = _opening(R[:n], dict(CENTRAL) if framework == "hmas1" else {}, rounds)
            runs = [_start(lambda s=s, o=opening: s.run(OBS, o)) for s in seats]
            for thread, out in runs:
                thread.join(JOIN_S)
                assert not thread.is_alive() and "error" not in out, (n, rounds, execute_at, out)
                plan, lines = out["value"]
                assert plan == expected.get("plan", {}), (n, rounds, execute_at)
                assert lines == expected.get("dialogue", []), (n, rounds, execute_at)
            assert models.calls == in_process.calls, (n, rounds, execute_at)
            assert [(t.index, t.robot) for t in said] == [(i, r) for i, (r, _) in enumerate(in_process.calls)]
            cases += 1
    assert cases == 48  # sum over n speakers and r rounds of (1 + n * r) EXECUTE positions


def test_a_turn_is_taken_only_from_the_robot_whose_turn_it_is():
    models = ScriptedRoles(R[:2], 1, execute_at=None)
    seat = DialogueSeat("dmas", R[1], models, lambda t: None, timeout_s=JOIN_S)
    cancel = threading.Event()
    thread, out = _start(lambda: seat.run(OBS, _opening(R[:2], {}, 1), cancel.is_set))
    seat.hear(Turn(1, 0, 0, 0, R[2], {R[2]: Lift(7)}, True, "robot_2: not my turn"))  # ignored
    seat.hear(Turn(1, 0, 1, 0, R[0], {R[0]: Lift(7)}, True, "robot_0: an old attempt"))  # ignored
    seat.hear(Turn(1, 0, 0, 0, R[0], {R[0]: Lift(5)}, False, "robot_0: PROCEED"))
    thread.join(JOIN_S)
    assert out["value"] == ({}, ["robot_0: PROCEED", "robot_1: turn 1"])  # one round without EXECUTE: a no-op
    assert models.calls == [(R[1], {R[0]: Lift(5)})]


def test_a_newer_opening_or_step_cancels_a_dialogue_waiting_for_a_turn():
    seat = DialogueSeat("hmas1", R[1], ScriptedRoles(R[:2], 4, None), lambda t: None, timeout_s=JOIN_S)
    superseded = threading.Event()
    thread, out = _start(lambda: seat.run(OBS, _opening(R[:2], dict(CENTRAL), 4), superseded.is_set))
    superseded.set()
    seat.poke()
    thread.join(JOIN_S)
    assert isinstance(out.get("error"), Cancelled)


def test_a_late_turn_fails_the_step_after_turn_timeout_on_the_injected_clock():
    clock = WatchedClock()
    seat = DialogueSeat("dmas", R[1], ScriptedRoles(R[:2], 4, None), lambda t: None, timeout_s=5.0, clock=clock)
    thread, out = _start(lambda: seat.run(OBS, _opening(R[:2], {}, 4)))
    assert clock.read.wait(JOIN_S)  # the wait has read its deadline
    clock.advance(5.0)
    seat.poke()
    thread.join(JOIN_S)
    err = out.get("error")
    assert isinstance(err, ReplyTimeout)
    assert str(err) == "robot_0's turn 0 of step 0 did not come within turn_timeout_s=5"


def test_mailbox_waits_until_the_deadline_not_before():
    clock = WatchedClock()
    box: Mailbox[str, int] = Mailbox(clock)
    thread, out = _start(lambda: box.wait("k", 5.0))
    assert clock.wait_reads(2)  # its deadline, then the time left before it sleeps
    clock.advance(4.9)
    box.poke()
    assert clock.wait_reads(3)  # woken, it looked at the clock: 0.1 s left, so it sleeps again
    box.put("k", 42)
    thread.join(JOIN_S)
    assert out == {"value": 42}
    with pytest.raises(ReplyTimeout, match="no reply for other within 0s"):
        box.wait("other", 0.0)


def test_remote_checks_publish_one_proposal_per_round_and_wait_for_each_robot():
    live = {R[0], R[1], R[3]}
    published: queue.Queue[Proposal] = queue.Queue()
    checks = RemoteChecks(published.put, lambda: live, timeout_s=JOIN_S)
    plan = {r: Lift(i) for i, r in enumerate(R)}
    checks.new_plan(R)
    runs = {r: _start(lambda r=r: checks.check(OBS, r, plan)) for r in R}  # the graph's four parallel branches
    assert published.get(timeout=JOIN_S) == Proposal(1, 0, plan, (R[0], R[1], R[3]))  # robot_2 was dropped
    runs[R[2]][0].join(JOIN_S)  # so it raises no objection and nobody waits for it
    assert runs[R[2]][1] == {"value": None}
    checks.deliver(1, R[0], "too heavy for me")
    checks.deliver(1, R[1], None)
    live.discard(R[3])  # robot_3 is dropped while its check is pending
    checks.poke()
    results = {}
    for r, (thread, out) in runs.items():
        thread.join(JOIN_S)
        results[r] = out["value"]
    assert results == {R[0]: "too heavy for me", R[1]: None, R[2]: None, R[3]: None}
    assert published.empty()  # one proposal for the four checks
    checks.new_plan([R[0]])  # the same plan again after a revision is a new round
    thread, out = _start(lambda: checks.check(OBS, R[0], plan))
    checks.deliver(1, R[0], "an answer to the old round")  # it must not count for the new one
    assert published.get(timeout=JOIN_S) == Proposal(2, 0, plan, (R[0],))
    checks.deliver(2, R[0], None)
    thread.join(JOIN_S)
    assert out == {"value": None}


def test_a_silent_checker_counts_as_agreeing_after_reply_timeout(caplog):
    clock = WatchedClock()
    checks = RemoteChecks(lambda p: None, lambda: set(R), timeout_s=3.0, clock=clock)
    checks.new_plan([R[0]])
    thread, out = _start(lambda: checks.check(OBS, R[0], {R[0]: Lift(0)}))
    assert clock.read.wait(JOIN_S)
    clock.advance(3.0)
    checks.poke()
    with caplog.at_level(logging.WARNING):
        thread.join(JOIN_S)
    assert out == {"value": None}
    assert "robot_0 did not check the plan within reply_timeout_s=3; taken as agreement" in caplog.text


class CentralWithRemoteChecks(ScriptedRoles):
    """HMAS-2 roles as the central node has them: its own central role, every check answered elsewhere."""

    def __init__(self, checks: RemoteChecks | None, objector: RobotId, feedback_rounds: int) -> None:
        super().__init__(R[:3], 4, None)
        self.feedback_rounds, self.checks, self.objector, self.plans = feedback_rounds, checks, objector, 0

    def central(self, observation, objections):
        self.plans += 1
        if self.checks is not None:
            self.checks.new_plan(self.speakers(observation, None))
        return {r: Lift(self.plans) for r in self._speakers}

    def check(self, observation, robot, plan):
        if self.checks is None:  # in-process: the robot's model answers here
            return f"{robot}: no" if robot == self.objector else None
        objection = self.checks.check(observation, robot, plan)
        return f"{robot}: {objection}" if objection else None


def test_hmas2_over_remote_checks_runs_the_same_rounds_as_in_process():
    in_process = CentralWithRemoteChecks(None, R[1], feedback_rounds=3)
    expected = build_graph("hmas2", in_process).invoke({"observation": OBS}, {"max_concurrency": 3})
    rounds: list[Proposal] = []
    checks = RemoteChecks(lambda p: None, lambda: set(R), timeout_s=JOIN_S)

    def agents_answer(p: Proposal) -> None:  # each agent checks its own part and replies on the topic
        rounds.append(p)
        for r in p.checkers:
            checks.deliver(p.proposal, r, "no" if r == R[1] else None)

    checks.publish = agents_answer
    remote = CentralWithRemoteChecks(checks, R[1], feedback_rounds=3)
    got = build_graph("hmas2", remote).invoke({"observation": OBS}, {"max_concurrency": 3})
    assert got["plan"] == expected["plan"] == {r: Lift(4) for r in R[:3]}  # three revisions, the last unchecked
    assert remote.plans == in_process.plans == 4
    assert [p.proposal for p in rounds] == [1, 2, 3] and all(p.checkers == tuple(R[:3]) for p in rounds)


def test_dialogue_documents_round_trip_and_malformed_ones_are_dropped(caplog):
    turn = TurnDoc(episode=1, step=2, attempt=0, index=1, robot="robot_0", plan={}, decision="EXECUTE", line="x")
    assert parse_dialogue(json.dumps(turn.dump())) == turn
    assert turn.dump()["schema"] == "fleetmind/dialogue/1" and turn.dump()["kind"] == "turn"
    check = {"schema": "fleetmind/dialogue/1", "kind": "check", "episode": 1, "step": 2, "proposal": 3}
    assert parse_dialogue(json.dumps({**check, "robot": "robot_1", "objection": None})) == CheckDoc(
        episode=1, step=2, proposal=3, robot="robot_1"
    )
    with caplog.at_level(logging.WARNING):
        assert parse_dialogue(json.dumps({**turn.dump(), "decision": "MAYBE"})) is None
        assert parse_dialogue("{not json") is None
        assert parse_dialogue(json.dumps({**check, "kind": "gossip"})) is None
    assert "turn.decision" in caplog.text
    doc = OpenDoc(episode=1, step=0, attempt=0, framework="dmas", speakers=[], live=[], proposal={}, dialogue_rounds=4)
    assert set(doc.dump()) == {
        "schema",
        "kind",
        "episode",
        "step",
        "attempt",
        "framework",
        "speakers",
        "live",
        "proposal",
        "dialogue_rounds",
    }


def test_masked_robots_cannot_act():
    obs = Observation(
        step=3,
        robots={
            RobotId("robot_0"): RobotObservation(RobotId("robot_0"), {}, "r0 sees a box", (Lift(1),)),
            RobotId("robot_1"): RobotObservation(RobotId("robot_1"), {}, "r1 sees a box", (Lift(2),)),
        },
        world={"task": "boxlift"},
        text="",
    )
    masked = mask_observation(obs, {RobotId("robot_1")})
    assert masked.robots["robot_0"] == obs.robots["robot_0"]
    assert masked.robots["robot_1"].legal == () and masked.robots["robot_1"].text.endswith("(offline: waits)")
    assert mask_observation(obs, ()) is obs


def test_ros_planner_with_remote_checks_drops_offline_robots_and_counts_the_checks():
    """The HMAS-2 central node's planner: replies naming an offline robot are trimmed before the shield, each
    robot's check comes from its agent, and the check figures count them (issue 18)."""
    from fake_chat import ScriptedChat
    from fleetmind.planners.llm.config import LLMSettings
    from fleetmind.planners.llm.ros_dialogue import RosLLMPlanner
    from fleetmind.sim.grid.fleet import GridFleet
    from fleetmind.tasks.boxnet1.rules import BoxNet1

    obs = GridFleet(BoxNet1(2, 2)).reset(0)
    movers = [r for r in obs.robot_ids if obs.robots[r].legal]
    offline = movers[-1]
    reply = json.dumps({r: obs.robots[r].legal_text[0] for r in movers})
    checks = RemoteChecks(lambda p: None, lambda: set(movers) - {offline}, timeout_s=JOIN_S)
    checks.publish = lambda p: [checks.deliver(p.proposal, r, None) for r in p.checkers]
    planner = RosLLMPlanner("hmas2", "boxnet1", LLMSettings(backend="openai"), lambda: ScriptedChat([reply]), checks)
    planner.offline = frozenset({offline})
    masked = mask_observation(obs, {offline})
    planner.reset(masked, 0)
    plan = planner.plan(masked)
    assert set(plan) == set(movers) - {offline}
    m = planner.metrics()
    assert (m["hmas2_checks"], m["hmas2_agreements"], m["hmas2_agreement_rate"]) == (len(plan), len(plan), 1.0)
    assert m["llm_calls"] == 1  # the checks were the agents', not this node's model
