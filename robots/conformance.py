"""Conformance suite for :class:`fleetmind.robots.fleet.Fleet` backends (like PettingZoo's ``parallel_api_test``).

``check_fleet(factory)`` raises ``AssertionError`` naming the broken rule. It checks, in order: ``step`` before
``reset``; determinism of ``reset(seed)``; an empty step; an illegal command and an unknown robot; that ``done``
is sticky; then it steps commands sampled from the robots' LEGAL lists for many steps (across episodes) and
fails a fleet whose robots never move; last, that a closed fleet refuses ``step`` and ``reset``.
:mod:`fleetmind.testing.conformance` holds the factories of every backend, for one parametrized test.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Callable, Mapping
from typing import Any

from fleetmind.robots.commands import Command, Wait
from fleetmind.robots.errors import (
    FleetClosedError,
    FleetError,
    IllegalCommandError,
    NotResetError,
    UnknownRobotError,
)
from fleetmind.robots.fleet import Fleet, Observation, RobotEvent, RobotObservation, StepResult
from fleetmind.robots.ids import RobotId

Sampler = Callable[[Observation, random.Random], dict[RobotId, Command]]
"""Draws one step's commands from an observation (robots left out wait)."""

StateKey = tuple[str, ...]
"""One top-level entry of an observation's structured state: ``("world", key)`` or ``("robot", id, key)``."""


@dataclasses.dataclass(frozen=True)
class _Bogus(Command):
    """A command no backend knows."""

    @property
    def text(self) -> str:
        return "self_destruct()"


def sample_legal(observation: Observation, rng: random.Random) -> dict[RobotId, Command]:
    """The default sampler: per robot, one of its listed legal commands (3 times in 4 when it has any), else an
    explicit :class:`Wait` or no command at all (both mean wait)."""
    commands: dict[RobotId, Command] = {}
    for rid, ro in observation.robots.items():
        u = rng.random()
        if ro.legal and u < 0.75:
            commands[rid] = rng.choice(ro.legal)
        elif u < 0.875:
            commands[rid] = Wait()
    return commands


def _snapshot(obs: Observation) -> Any:
    return (
        obs.step,
        dict(obs.world),
        obs.text,
        {r: (dict(o.data), o.text, o.legal) for r, o in obs.robots.items()},
    )


def _state(obs: Observation) -> dict[StateKey, Any]:
    """The structured state, one entry per top-level key of ``world`` and of each robot's ``data`` (texts and
    ``step`` left out: they may count steps)."""
    out: dict[StateKey, Any] = {("world", str(k)): v for k, v in obs.world.items()}
    for rid, ro in obs.robots.items():
        out.update({("robot", str(rid), str(k)): v for k, v in ro.data.items()})
    return out


def _same(a: Any, b: Any) -> bool:
    try:
        return bool(a == b)
    except (ValueError, TypeError):  # numpy arrays and the like
        return repr(a) == repr(b)


def _changed(before: Mapping[StateKey, Any], after: Mapping[StateKey, Any]) -> set[StateKey]:
    keys = set(before) | set(after)
    return {k for k in keys if k not in before or k not in after or not _same(before[k], after[k])}


def check_fleet(
    factory: Callable[[], Fleet],
    seeds: tuple[int, int] = (0, 1),
    max_steps: int = 200,
    illegal: Mapping[RobotId, Command] | None = None,
    sample: Sampler = sample_legal,
    legal_steps: int = 50,
) -> None:
    """Check a backend against the Fleet contract.

    ``factory`` builds a fresh fleet. ``illegal`` optionally gives a command that is illegal for a robot
    right after ``reset(seeds[0])``; otherwise an unknown command type is used. ``max_steps`` bounds the
    empty steps an episode may take to end. ``sample`` draws the legal commands stepped ``legal_steps``
    times (the default takes them from each robot's ``legal`` list; a backend with a continuous command
    space passes its own).
    """
    fleet = factory()
    assert isinstance(fleet, Fleet), f"{type(fleet).__name__} does not implement the Fleet protocol"
    try:
        _check_not_reset(fleet)
        _check_determinism(fleet, factory, seeds)
        clock = _check_empty_step(fleet, seeds[0])
        _check_illegal(fleet, seeds[0], illegal)
        _check_sticky_done(fleet, seeds[0], max_steps)
        _check_legal_steps(fleet, seeds[0], legal_steps, sample, clock)
    finally:
        fleet.close()
    fleet.close()  # close is idempotent
    fleet.close()
    _check_closed(fleet, seeds[0])


def _check_not_reset(fleet: Fleet) -> None:
    try:
        fleet.step({})
    except NotResetError:
        return
    except FleetError as err:
        raise AssertionError(f"step() before reset() raised {type(err).__name__}, expected NotResetError") from err
    raise AssertionError("step() before reset() did not raise NotResetError")


def _check_closed(fleet: Fleet, seed: int) -> None:
    for name, call in (("step({})", lambda: fleet.step({})), (f"reset({seed})", lambda: fleet.reset(seed))):
        try:
            call()
        except FleetClosedError:
            continue
        except FleetError as err:
            raise AssertionError(
                f"{name} after close() raised {type(err).__name__}, expected FleetClosedError"
            ) from err
        raise AssertionError(f"{name} after close() did not raise FleetClosedError")


def _check_observation(fleet: Fleet, obs: Observation, where: str) -> None:
    assert isinstance(obs, Observation), f"{where}: expected an Observation, got {type(obs).__name__}"
    assert set(obs.robots) == set(fleet.robot_ids), f"{where}: observation robots differ from fleet.robot_ids"
    for rid, ro in obs.robots.items():
        assert isinstance(ro, RobotObservation), f"{where}: {rid}'s observation is a {type(ro).__name__}"
        assert ro.robot == rid, f"{where}: observation of {rid} is labelled {ro.robot}"
        assert isinstance(ro.text, str) and ro.text, f"{where}: {rid} has no observation text"
        assert isinstance(ro.legal, tuple), f"{where}: {rid}'s legal commands are not a tuple"
        assert isinstance(ro.measured, Mapping), f"{where}: {rid}'s measured readings are not a mapping"
        for command in ro.legal:
            assert isinstance(command, Command), f"{where}: {rid} lists {command!r}, not a Command, as legal"
            assert not isinstance(command, Wait), f"{where}: {rid} lists wait as legal (it is implied, never listed)"


def _check_result(fleet: Fleet, result: StepResult, steps: int, where: str) -> None:
    """A well-formed StepResult of the ``steps``-th step of an episode."""
    assert isinstance(result, StepResult), f"{where}: step() must return a StepResult, got {type(result).__name__}"
    for key in ("success", "steps", "failure_reason"):
        assert key in result.metrics, f"{where}: metrics lack {key!r}"
    assert result.metrics["steps"] == steps, f"{where}: step {steps} counted as {result.metrics['steps']}"
    assert result.observation.step == steps, (
        f"{where}: observation.step must count steps: {result.observation.step} after {steps} step(s)"
    )
    assert isinstance(result.done, bool), f"{where}: done must be a bool, got {type(result.done).__name__}"
    assert result.metrics["failure_reason"] == result.failure_reason, f"{where}: metrics' failure_reason differs"
    if not result.done:
        assert result.failure_reason is None, f"{where}: failure_reason {result.failure_reason!r} while not done"
        assert not result.success, f"{where}: success reported while the episode goes on"
    elif not result.success:
        assert result.failure_reason is not None, f"{where}: done without success needs a failure_reason"
    assert isinstance(result.events, tuple), f"{where}: events must be a tuple"
    for event in result.events:
        assert isinstance(event, RobotEvent), f"{where}: event {event!r} is not a RobotEvent"
    _check_observation(fleet, result.observation, where)


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
    _check_observation(fleet, obs, "reset")


def _check_empty_step(fleet: Fleet, seed: int) -> set[StateKey]:
    """One empty step from reset; returns the state entries that changed on it (clocks such as a simulated
    time, which the moved check leaves out)."""
    before = _state(fleet.reset(seed))
    result = fleet.step({})
    assert isinstance(result, StepResult), "step() must return a StepResult"
    for key in ("success", "steps", "failure_reason"):
        assert key in result.metrics, f"metrics lack {key!r}"
    assert result.metrics["steps"] == 1, f"one step counted as {result.metrics['steps']}"
    assert result.observation.step == 1, "observation.step must count steps"
    if result.done:
        assert result.failure_reason is not None or result.success, "done without success needs a failure_reason"
    return _changed(before, _state(result.observation))


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


def _check_legal_steps(fleet: Fleet, seed: int, total: int, sample: Sampler, clock: set[StateKey]) -> None:
    """Step ``total`` sampled legal joint commands from reset, resetting (next seed) whenever an episode ends.

    A joint plan of legal single commands may still end the episode (a collision): that is within the contract.
    The robots must have moved: at least once, a step with a non-wait command changed the structured state
    (``world`` or a robot's ``data``) other than the entries an empty step changes anyway (``clock``).
    """
    rng = random.Random(seed)
    episode = 0
    obs = fleet.reset(seed)
    steps = active = 0
    moved = False
    for n in range(1, total + 1):
        commands = sample(obs, rng)
        where = f"legal step {n} (episode {episode}, step {steps + 1})"
        try:
            result = fleet.step(commands)
        except IllegalCommandError as err:
            listed = "; ".join(f"{r}: {c.text}" for r, c in commands.items())
            raise AssertionError(
                f"{where}: sampled legal commands [{listed}] raised IllegalCommandError: {err}"
            ) from err
        steps += 1
        _check_result(fleet, result, steps, where)
        if any(not isinstance(c, Wait) for c in commands.values()):
            active += 1
            moved = moved or bool(_changed(_state(obs), _state(result.observation)) - clock)
        obs = result.observation
        if result.done:
            again = fleet.step(sample(obs, rng))
            assert again.done, f"{where}: done is not sticky: a step with commands after done returned done=False"
            assert again.metrics["steps"] == steps, f"{where}: steps advanced after done"
            assert again.failure_reason == result.failure_reason, f"{where}: failure_reason changed after done"
            episode += 1
            obs = fleet.reset(seed + episode)
            assert obs.step == 0, f"{where}: reset after done must start at step 0, got {obs.step}"
            steps = 0
    if not active:
        raise AssertionError(
            f"robots never move: in {total} legal steps no robot was offered a command other than wait "
            "(list them in RobotObservation.legal, or pass a sample= strategy for a continuous command space)"
        )
    if not moved:
        ignored = f" (ignoring {', '.join('/'.join(k) for k in sorted(clock))}, which change on an empty step)"
        raise AssertionError(
            f"robots never move: {active} of {total} legal steps had non-wait commands, and none changed the "
            f"world or any robot's data{ignored if clock else ''}"
        )
