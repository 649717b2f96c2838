"""Conformance suite for :class:`fleetmind.robots.fleet.Fleet` backends (like PettingZoo's ``parallel_api_test``).

Every backend's tests call ``check_fleet(factory)``; it raises ``AssertionError`` naming the broken rule.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

from fleetmind.robots.commands import Command
from fleetmind.robots.errors import FleetError, IllegalCommandError, UnknownRobotError
from fleetmind.robots.fleet import Fleet, Observation, StepResult
from fleetmind.robots.ids import RobotId


@dataclasses.dataclass(frozen=True)
class _Bogus(Command):
    """A command no backend knows."""

    @property
    def text(self) -> str:
        return "self_destruct()"


def _snapshot(obs: Observation) -> Any:
    return (
        obs.step,
        dict(obs.world),
        obs.text,
        {r: (dict(o.data), o.text, o.legal) for r, o in obs.robots.items()},
    )


def check_fleet(
    factory: Callable[[], Fleet],
    seeds: tuple[int, int] = (0, 1),
    max_steps: int = 200,
    illegal: Mapping[RobotId, Command] | None = None,
) -> None:
    """Check a backend against the Fleet contract.

    ``factory`` builds a fresh fleet. ``illegal`` optionally gives a command that is illegal for a robot
    right after ``reset(seeds[0])``; otherwise an unknown command type is used.
    """
    fleet = factory()
    assert isinstance(fleet, Fleet), f"{type(fleet).__name__} does not implement the Fleet protocol"
    try:
        _check_determinism(fleet, factory, seeds)
        _check_empty_step(fleet, seeds[0])
        _check_illegal(fleet, seeds[0], illegal)
        _check_sticky_done(fleet, seeds[0], max_steps)
    finally:
        fleet.close()
    fleet.close()  # close is idempotent
    fleet.close()


def _check_determinism(fleet: Fleet, factory: Callable[[], Fleet], seeds: tuple[int, int]) -> None:
    a = _snapshot(fleet.reset(seeds[0]))
    b = _snapshot(fleet.reset(seeds[0]))
    assert a == b, "reset(seed) twice on one fleet gave different observations"
    other = factory()
    try:
        c = _snapshot(other.reset(seeds[0]))
    finally:
        other.close()
    assert a == c, "reset(seed) on two fleets gave different observations"
    obs = fleet.reset(seeds[0])
    assert obs.step == 0, f"reset must start at step 0, got {obs.step}"
    assert set(obs.robots) == set(fleet.robot_ids), "observation robots differ from fleet.robot_ids"
    for rid, ro in obs.robots.items():
        assert ro.robot == rid, f"observation of {rid} is labelled {ro.robot}"
        assert isinstance(ro.text, str) and ro.text, f"{rid} has no observation text"


def _check_empty_step(fleet: Fleet, seed: int) -> None:
    fleet.reset(seed)
    result = fleet.step({})
    assert isinstance(result, StepResult), "step() must return a StepResult"
    for key in ("success", "steps", "failure_reason"):
        assert key in result.metrics, f"metrics lack {key!r}"
    assert result.metrics["steps"] == 1, f"one step counted as {result.metrics['steps']}"
    assert result.observation.step == 1, "observation.step must count steps"
    if result.done:
        assert result.failure_reason is not None or result.success, "done without success needs a failure_reason"


def _check_illegal(fleet: Fleet, seed: int, illegal: Mapping[RobotId, Command] | None) -> None:
    fleet.reset(seed)
    robot = fleet.robot_ids[0]
    commands = dict(illegal) if illegal else {robot: _Bogus()}
    bad_robot, bad_command = next(iter(commands.items()))
    try:
        fleet.step(commands)
    except IllegalCommandError as err:
        assert err.robot == bad_robot, f"IllegalCommandError names {err.robot}, expected {bad_robot}"
        assert err.command == bad_command, "IllegalCommandError does not carry the command"
        assert bad_robot in str(err) and bad_command.text in str(err), f"error message lacks robot/command: {err}"
    else:
        raise AssertionError(f"illegal command {bad_command.text!r} for {bad_robot} did not raise IllegalCommandError")
    obs = fleet.reset(seed)
    assert obs.step == 0
    try:
        fleet.step({RobotId("no_such_robot"): _Bogus()})
    except UnknownRobotError as err:
        assert "no_such_robot" in str(err)
    except FleetError as err:  # pragma: no cover - message check only
        raise AssertionError(f"unknown robot raised {type(err).__name__}, expected UnknownRobotError") from err
    else:
        raise AssertionError("a command for an unknown robot did not raise UnknownRobotError")


def _check_sticky_done(fleet: Fleet, seed: int, max_steps: int) -> None:
    fleet.reset(seed)
    result = None
    for _ in range(max_steps):
        result = fleet.step({})
        if result.done:
            break
    assert result is not None and result.done, f"episode not done after {max_steps} empty steps (no step limit?)"
    again = fleet.step({})
    assert again.done, "done is not sticky: a step after done returned done=False"
    assert again.failure_reason == result.failure_reason, "failure_reason changed after done"
    assert again.metrics["steps"] == result.metrics["steps"], "steps advanced after done"
    fresh = fleet.reset(seed)
    assert fresh.step == 0, "reset after done must start a new episode at step 0"
    after = fleet.step({})
    assert after.metrics["steps"] == 1, "reset after done did not clear the finished episode"
