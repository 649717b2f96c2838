"""GridFleet: runs a :class:`GridTask` as a :class:`fleetmind.robots.fleet.Fleet` (episodes, limits, metrics)."""

from __future__ import annotations

import logging
import random
from collections.abc import Mapping
from typing import Any

from fleetmind.robots.commands import Command, Wait
from fleetmind.robots.errors import FleetClosedError, IllegalCommandError, UnknownRobotError
from fleetmind.robots.fleet import Observation, RobotEvent, RobotObservation, StepResult, final_step
from fleetmind.robots.ids import RobotId
from fleetmind.tasks.grid import GridTask

log = logging.getLogger(__name__)


class GridFleet:
    """The grid backend of the Fleet protocol.

    ``step_limit`` overrides the task's own limit. An episode ends on success, on a task failure
    (``collision``) or when the step limit is used up (``step_limit``); an episode that succeeds on
    its last allowed step is a success. After that ``step`` keeps returning the final result.
    """

    def __init__(self, task: GridTask, step_limit: int | None = None) -> None:
        if step_limit is not None and step_limit < 1:
            raise ValueError(f"step_limit must be >= 1, got {step_limit}")
        self.task = task
        self.step_limit = step_limit or task.step_limit
        self._steps = 0
        self._seed: int | None = None
        self._final: StepResult | None = None
        self._closed = False

    @property
    def robot_ids(self) -> tuple[RobotId, ...]:
        return self.task.robot_ids

    def reset(self, seed: int) -> Observation:
        if self._closed:
            raise FleetClosedError()
        self.task.generate(random.Random(seed))
        self._seed = seed
        self._steps = 0
        self._final = None
        return self.observe()

    def observe(self) -> Observation:
        robots = {}
        for rid in self.task.robot_ids:
            data, text = self.task.robot_view(rid)
            robots[rid] = RobotObservation(robot=rid, data=data, text=text, legal=self.task.legal(rid))
        world, text = self.task.world_view()
        world = {**world, "step_limit": self.step_limit}
        return Observation(step=self._steps, robots=robots, world=world, text=text)

    def validate(self, commands: Mapping[RobotId, Command]) -> dict[RobotId, Command]:
        """Check every command against the current legal actions; drop waits."""
        checked: dict[RobotId, Command] = {}
        for rid, command in commands.items():
            if rid not in self.task.robot_ids:
                raise UnknownRobotError(rid, self.task.robot_ids)
            if isinstance(command, Wait):
                continue
            legal = self.task.legal(rid)
            if command not in legal:
                reason = (
                    f"{type(command).__name__} is not a command of task {self.task.name}"
                    if not isinstance(command, Command) or not any(type(c) is type(command) for c in legal)
                    else "not legal in the current state"
                )
                raise IllegalCommandError(rid, command, reason, [c.text for c in legal])
            checked[rid] = command
        return checked

    def step(self, commands: Mapping[RobotId, Command]) -> StepResult:
        if (final := final_step(self._closed, self._seed is not None, self._final)) is not None:
            log.debug("step() after the episode ended: returning the final result")
            return final
        checked = self.validate(commands)
        events, failure = self.task.apply(checked)
        self._steps += 1
        success = failure is None and self.task.solved()
        if failure is None and not success and self._steps >= self.step_limit:
            failure = "step_limit"
        done = success or failure is not None
        result = StepResult(
            observation=self.observe(),
            events=tuple(events),
            done=done,
            failure_reason=failure,
            metrics=self._metrics(success, failure),
        )
        if done:
            self._final = result
        return result

    def _metrics(self, success: bool, failure: str | None) -> dict[str, Any]:
        return {"success": success, "steps": self._steps, "failure_reason": failure, **self.task.metrics()}

    def close(self) -> None:
        self._closed = True


def events_text(events: tuple[RobotEvent, ...] | list[RobotEvent]) -> list[str]:
    """Human-readable feedback lines for a step's events."""
    return [f"{e.robot}: {e.detail or e.kind}" for e in events]
