"""The agents' dialogue state machine follows planners/llm/frameworks.py exactly: both are driven by the same
scripted turns over every small case (speakers, rounds, where the first EXECUTE falls) and must agree on
the speaking order, the proposal each speaker sees, and the plan that runs."""

from __future__ import annotations

import itertools

import pytest
from fleetmind.planners.llm.frameworks import build_graph
from fleetmind.planners.llm.ros_dialogue import DialogueState, mask_observation
from fleetmind.robots.commands import Lift
from fleetmind.robots.fleet import Observation, RobotObservation
from fleetmind.robots.ids import RobotId

OBS = Observation(step=0, robots={}, world={}, text="")
CENTRAL = {RobotId("robot_0"): Lift(99)}


class ScriptedRoles:
    def __init__(self, speakers: list[RobotId], rounds: int, execute_at: int | None) -> None:
        self.dialogue_rounds, self.feedback_rounds = rounds, 0
        self._speakers, self.execute_at = speakers, execute_at
        self.calls: list[tuple[RobotId, dict]] = []

    def speakers(self, observation, plan):
        return list(self._speakers)

    def central(self, observation, objections):
        return dict(CENTRAL)

    def turn(self, observation, robot, speakers, dialogue, proposal):
        i = len(dialogue)
        self.calls.append((robot, dict(proposal)))
        return {robot: Lift(i)}, i == self.execute_at, f"{robot}: turn {i}"

    def check(self, observation, robot, plan):  # pragma: no cover - not used by dmas / hmas1
        return None


def _run_state_machine(framework: str, roles: ScriptedRoles) -> tuple[dict, list[tuple[RobotId, dict]]]:
    proposal = dict(CENTRAL) if framework == "hmas1" else {}
    d = DialogueState(framework, roles.speakers(OBS, proposal), proposal, roles.dialogue_rounds)
    calls = []
    while (robot := d.next_speaker()) is not None:
        i = len(d.lines)
        calls.append((robot, dict(d.plan)))
        d.add_turn(robot, {robot: Lift(i)}, i == roles.execute_at, f"{robot}: turn {i}")
    return d.outcome(), calls


@pytest.mark.parametrize("framework", ["dmas", "hmas1"])
def test_dialogue_state_matches_the_langgraph_framework(framework):
    robots = [RobotId(f"robot_{i}") for i in range(3)]
    cases = 0
    for n, rounds in itertools.product(range(4), range(1, 4)):
        for execute_at in [None, *range(n * rounds)]:
            roles = ScriptedRoles(robots[:n], rounds, execute_at)
            expected = build_graph(framework, roles).invoke({"observation": OBS}).get("plan", {})
            plan, calls = _run_state_machine(framework, ScriptedRoles(robots[:n], rounds, execute_at))
            assert calls == roles.calls, (n, rounds, execute_at)
            assert plan == expected, (n, rounds, execute_at)
            cases += 1
    assert cases == 48  # sum over n speakers and r rounds of (1 + n * r) EXECUTE positions


def test_dialogue_refuses_a_turn_out_of_order():
    d = DialogueState("dmas", [RobotId("robot_0"), RobotId("robot_1")], {}, 2)
    with pytest.raises(ValueError, match="turn 0 belongs to robot_0, not robot_1"):
        d.add_turn(RobotId("robot_1"), {}, True, "")


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
