"""The conformance suite can fail: a correct toy fleet passes it and each broken variant breaks one rule (the
backends themselves run it in tests/test_conformance.py); the grid backend also passes it with a one-step limit."""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Callable, Mapping
from typing import Any

import pytest
from fleetmind.robots.commands import Command, Wait
from fleetmind.robots.conformance import check_fleet
from fleetmind.robots.errors import FleetClosedError, IllegalCommandError, UnknownRobotError
from fleetmind.robots.fleet import Fleet, Observation, RobotObservation, StepResult, final_step
from fleetmind.robots.ids import RobotId, robot_ids
from fleetmind.sim.grid.fleet import GridFleet
from fleetmind.tasks.boxlift.rules import BoxLift
from fleetmind.tasks.boxnet1.rules import BoxNet1
from fleetmind.tasks.boxnet2.rules import BoxNet2
from fleetmind.tasks.grid import GridTask
from fleetmind.tasks.warehouse.rules import Warehouse

TASKS: list[Any] = [
    pytest.param(lambda: BoxNet1(2, 2), id="boxnet1-2x2"),
    pytest.param(lambda: BoxNet1(4, 8), id="boxnet1-4x8"),
    pytest.param(lambda: BoxNet2(2, 2), id="boxnet2-2x2"),
    pytest.param(lambda: BoxNet2(4, 8), id="boxnet2-4x8"),
    pytest.param(lambda: Warehouse(4), id="warehouse-4"),
    pytest.param(lambda: Warehouse(10), id="warehouse-10"),
    pytest.param(lambda: BoxLift(4, 10), id="boxlift-4x10"),
    pytest.param(lambda: BoxLift(10, 24), id="boxlift-10x24"),
]


@pytest.mark.parametrize("make", TASKS)
def test_grid_fleet_conforms_with_a_short_step_limit(make: Callable[[], GridTask]) -> None:
    check_fleet(lambda: GridFleet(make(), step_limit=1), max_steps=1)


# --------------------------------------------------------------------------------------------------------------
# The suite can fail: a correct toy fleet passes, and each broken variant breaks exactly one rule.
# --------------------------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Bump(Command):
    """The toy world's one move: add 1 to the shared counter."""

    @property
    def text(self) -> str:
        return "bump()"


class ToyFleet:
    """A counter world: each robot may bump the counter (its one legal command) or wait; the episode ends with
    ``step_limit`` after ``limit`` steps."""

    limit = 3
    legal: tuple[Command, ...] = (Bump(),)

    def __init__(self) -> None:
        self._ids = robot_ids(2)
        self._seed: int | None = None
        self._value = 0
        self._steps = 0
        self._final: StepResult | None = None
        self._closed = False

    @property
    def robot_ids(self) -> tuple[RobotId, ...]:
        return self._ids

    def _draw(self, seed: int) -> int:
        return random.Random(seed).randrange(1000)

    def reset(self, seed: int) -> Observation:
        if self._closed:
            raise FleetClosedError()
        self._seed, self._value, self._steps, self._final = seed, self._draw(seed), 0, None
        return self._observe()

    def _observe(self) -> Observation:
        v = self._value
        robots = {r: RobotObservation(r, {"value": v}, f"{r} sees {v}", self.legal) for r in self._ids}
        return Observation(step=self._steps, robots=robots, world={"value": v}, text=str(v))

    def _validate(self, commands: Mapping[RobotId, Command]) -> None:
        for rid, command in commands.items():
            if rid not in self._ids:
                raise UnknownRobotError(rid, self._ids)
            if not isinstance(command, Wait) and command not in self.legal:
                raise IllegalCommandError(rid, command, "not a command of the toy world", [c.text for c in self.legal])

    def _apply(self, commands: Mapping[RobotId, Command]) -> None:
        self._value += sum(isinstance(c, Bump) for c in commands.values())

    def _failure(self) -> str | None:
        return "step_limit" if self._steps >= self.limit else None

    def step(self, commands: Mapping[RobotId, Command]) -> StepResult:
        if (final := final_step(self._closed, self._seed is not None, self._final)) is not None:
            return final
        self._validate(commands)
        self._apply(commands)
        self._steps += 1
        done = self._steps >= self.limit
        failure = self._failure()
        result = StepResult(
            observation=self._observe(),
            events=(),
            done=done,
            failure_reason=failure,
            metrics={"success": False, "steps": self._steps, "failure_reason": failure},
        )
        if done:
            self._final = result
        return result

    def close(self) -> None:
        self._closed = True


class WaitOnly(ToyFleet):
    """The old toy world: robots are offered nothing but waiting."""

    legal = ()


class BumpDoesNothing(ToyFleet):
    """Bump is listed and accepted, but the counter never changes."""

    def _apply(self, commands: Mapping[RobotId, Command]) -> None:
        pass


class OnlyTheClockMoves(BumpDoesNothing):
    """The world reports a clock that every step advances; the robots' commands still change nothing."""

    def _observe(self) -> Observation:
        obs = super()._observe()
        return dataclasses.replace(obs, world={**obs.world, "time": 0.1 * self._steps})


class RejectsItsOwnLegalCommand(ToyFleet):
    def _validate(self, commands: Mapping[RobotId, Command]) -> None:
        super()._validate(commands)
        for rid, command in commands.items():
            if isinstance(command, Bump):
                raise IllegalCommandError(rid, command, "the counter is locked")


class ListsWait(ToyFleet):
    legal = (Wait(), Bump())


class ForgetsDoneWhenCommanded(ToyFleet):
    """Empty steps after done return the final result; a step with commands starts counting again."""

    def step(self, commands: Mapping[RobotId, Command]) -> StepResult:
        if commands and self._final is not None and self._seed is not None:
            self.reset(self._seed)
        return super().step(commands)


class FailureWhileRunning(ToyFleet):
    def _failure(self) -> str | None:
        return "collision"


class StepsBeforeReset(ToyFleet):
    def step(self, commands: Mapping[RobotId, Command]) -> StepResult:
        if self._seed is None:
            self.reset(0)
        return super().step(commands)


class UsableAfterClose(ToyFleet):
    def close(self) -> None:
        pass


class LegalStepsNotCounted(ToyFleet):
    """Counts empty steps but not the ones with commands."""

    def step(self, commands: Mapping[RobotId, Command]) -> StepResult:
        if commands and self._final is None and self._seed is not None:
            self._steps -= 1
        return super().step(commands)


class NondeterministicReset(ToyFleet):
    def _draw(self, seed: int) -> int:
        return random.randrange(10**9)


class SeedIgnoredAcrossInstances(ToyFleet):
    """Deterministic per instance but not across instances (e.g. a module-level RNG consumed on creation)."""

    _instances = 0

    def __init__(self) -> None:
        super().__init__()
        SeedIgnoredAcrossInstances._instances += 1
        self._offset = SeedIgnoredAcrossInstances._instances

    def _draw(self, seed: int) -> int:
        return seed + self._offset


class AutoResetAfterDone(ToyFleet):
    """Starts a new episode on the step after done (gym-style auto-reset): done flips back to False."""

    def step(self, commands: Mapping[RobotId, Command]) -> StepResult:
        if self._final is not None and self._seed is not None:
            self.reset(self._seed)
        return super().step(commands)


class KeepsSteppingAfterDone(ToyFleet):
    def step(self, commands: Mapping[RobotId, Command]) -> StepResult:
        self._final = None  # forgets the final result: counts steps past the end (still done)
        return super().step(commands)


class NeverDone(ToyFleet):
    limit = 10**9


class AcceptsIllegal(ToyFleet):
    def _validate(self, commands: Mapping[RobotId, Command]) -> None:
        for rid in commands:
            if rid not in self._ids:
                raise UnknownRobotError(rid, self._ids)


class IllegalErrorNamesWrongRobot(ToyFleet):
    def _validate(self, commands: Mapping[RobotId, Command]) -> None:
        for rid, command in commands.items():
            if rid in self._ids and not isinstance(command, Wait) and command not in self.legal:
                raise IllegalCommandError(RobotId("robot_1"), command, "not a command of the toy world")
        super()._validate(commands)


class UnknownRobotIgnored(ToyFleet):
    def _validate(self, commands: Mapping[RobotId, Command]) -> None:
        super()._validate({r: c for r, c in commands.items() if r in self._ids})


class StepsNotCounted(ToyFleet):
    def _observe(self) -> Observation:
        obs = super()._observe()
        return Observation(step=0, robots=obs.robots, world=obs.world, text=obs.text)


class MetricsMissing(ToyFleet):
    def step(self, commands: Mapping[RobotId, Command]) -> StepResult:
        result = super().step(commands)
        return StepResult(result.observation, result.events, result.done, result.failure_reason, metrics={})


class NotAFleet:
    def reset(self, seed: int) -> None: ...


def test_toy_fleet_is_a_correct_fleet() -> None:
    """The baseline for the negative tests below: without a defect the suite passes."""
    assert isinstance(ToyFleet(), Fleet)
    check_fleet(ToyFleet)


@pytest.mark.parametrize(
    ("broken", "message"),
    [
        (NondeterministicReset, "reset(seed) twice on one fleet gave different observations"),
        (SeedIgnoredAcrossInstances, "reset(seed) on two fleets gave different observations"),
        (AutoResetAfterDone, "done is not sticky"),
        (KeepsSteppingAfterDone, "steps advanced after done"),
        (NeverDone, "episode not done after 200 empty steps"),
        (AcceptsIllegal, "did not raise IllegalCommandError"),
        (IllegalErrorNamesWrongRobot, "IllegalCommandError names robot_1, expected robot_0"),
        (UnknownRobotIgnored, "did not raise UnknownRobotError"),
        (StepsNotCounted, "observation.step must count steps"),
        (MetricsMissing, "metrics lack 'success'"),
        (NotAFleet, "does not implement the Fleet protocol"),
        (StepsBeforeReset, "step() before reset() did not raise NotResetError"),
        (UsableAfterClose, "step({}) after close() did not raise FleetClosedError"),
        (ListsWait, "robot_0 lists wait as legal"),
        (
            RejectsItsOwnLegalCommand,
            "legal step 2 (episode 0, step 2): sampled legal commands [robot_0: bump()] raised IllegalCommandError",
        ),
        (ForgetsDoneWhenCommanded, "done is not sticky: a step with commands after done returned done=False"),
        (FailureWhileRunning, "failure_reason 'collision' while not done"),
        (LegalStepsNotCounted, "legal step 1 (episode 0, step 1): step 1 counted as 0"),
        (WaitOnly, "robots never move"),
    ],
)
def test_check_fleet_rejects_a_broken_fleet(broken: Callable[[], Fleet], message: str) -> None:
    with pytest.raises(AssertionError) as info:
        check_fleet(broken)
    assert message in str(info.value)


def test_a_fleet_whose_robots_never_move_fails() -> None:
    """Waiting passes every other rule; the legal stepping is what tells a fleet whose robots never move."""
    with pytest.raises(AssertionError) as info:
        check_fleet(WaitOnly)
    assert str(info.value) == (
        "robots never move: in 50 legal steps no robot was offered a command other than wait "
        "(list them in RobotObservation.legal, or pass a sample= strategy for a continuous command space)"
    )
    with pytest.raises(AssertionError) as info:
        check_fleet(BumpDoesNothing, legal_steps=60)
    assert str(info.value) == (
        "robots never move: 56 of 60 legal steps had non-wait commands, and none changed the world or any robot's data"
    )
    with pytest.raises(AssertionError) as info:
        check_fleet(OnlyTheClockMoves)
    assert str(info.value) == (
        "robots never move: 47 of 50 legal steps had non-wait commands, and none changed the world or any robot's "
        "data (ignoring world/time, which change on an empty step)"
    )


class MeasuredNoise(ToyFleet):
    """A physical fleet: each robot's measured pose differs every time (``measured``), the logical state does not."""

    def _observe(self) -> Observation:
        obs = super()._observe()
        noisy = {r: dataclasses.replace(o, measured={"pose": [random.random(), 0.0]}) for r, o in obs.robots.items()}
        return dataclasses.replace(obs, robots=noisy)


class MeasuredNoiseInData(ToyFleet):
    """The same readings put in ``data``, where the seed must determine everything."""

    def _observe(self) -> Observation:
        obs = super()._observe()
        noisy = {r: dataclasses.replace(o, data={**o.data, "pose": random.random()}) for r, o in obs.robots.items()}
        return dataclasses.replace(obs, robots=noisy)


def test_measured_readings_are_outside_the_same_seed_rule_but_data_is_not() -> None:
    check_fleet(MeasuredNoise)
    with pytest.raises(AssertionError, match=r"reset\(seed\) twice on one fleet gave different observations"):
        check_fleet(MeasuredNoiseInData)
