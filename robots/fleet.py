"""The Fleet protocol: the one contract every world backend implements.

Grid worlds, swarms, PyBullet and real robots all expose ``reset(seed) -> Observation``,
``step(commands) -> StepResult`` and ``close()``, so a planner runs unchanged on any of them.
:func:`fleetmind.robots.conformance.check_fleet` checks a backend against this contract.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from fleetmind.robots.commands import Command
from fleetmind.robots.errors import FleetClosedError, NotResetError
from fleetmind.robots.ids import RobotId


@dataclass(frozen=True)
class RobotObservation:
    """What one robot perceives at one step.

    ``data`` is structured (JSON-able) and task specific; ``text`` is the compact description an LLM
    prompt needs; ``legal`` lists the commands this robot may issue now (waiting is always allowed
    and not listed). ``measured`` holds a physical robot's sensor readings (a measured pose, link state):
    JSON-able like ``data`` but, unlike it, not determined by ``reset(seed)`` (a robot never stops at exactly the
    same spot twice), so the conformance suite's "same seed, same observation" rule leaves it out.
    """

    robot: RobotId
    data: Mapping[str, Any]
    text: str
    legal: tuple[Command, ...] = ()
    measured: Mapping[str, Any] = field(default_factory=dict)

    @property
    def legal_text(self) -> tuple[str, ...]:
        return tuple(c.text for c in self.legal)


@dataclass(frozen=True)
class Observation:
    """The fleet's observation: per-robot views plus the shared world state (for central planners)."""

    step: int
    robots: Mapping[RobotId, RobotObservation]
    world: Mapping[str, Any]
    text: str

    @property
    def robot_ids(self) -> tuple[RobotId, ...]:
        return tuple(self.robots)


@dataclass(frozen=True)
class RobotEvent:
    """Something that happened to one robot during a step (``kind`` is a short tag, ``detail`` for humans)."""

    robot: RobotId
    kind: str
    detail: str = ""


ROBOTS_UNREACHABLE = "robots_unreachable"
"""``failure_reason`` of an episode none of whose real robots ever answered: nothing ran, so it is no planning
result (the app counts it among the infrastructure failures)."""


@dataclass(frozen=True)
class StepResult:
    """Outcome of one step. ``failure_reason`` is ``None`` unless the episode ended in failure
    (``"collision"``, ``"step_limit"``, ...). ``metrics`` always holds ``success``, ``steps`` and
    ``failure_reason``."""

    observation: Observation
    events: tuple[RobotEvent, ...]
    done: bool
    failure_reason: str | None
    metrics: Mapping[str, Any] = field(default_factory=dict)

    @property
    def success(self) -> bool:
        return bool(self.metrics.get("success", False))


@runtime_checkable
class Fleet(Protocol):
    """A world backend. Robots that get no command in a step wait."""

    @property
    def robot_ids(self) -> tuple[RobotId, ...]: ...

    def reset(self, seed: int) -> Observation: ...

    def step(self, commands: Mapping[RobotId, Command]) -> StepResult: ...

    def close(self) -> None: ...


def final_step(closed: bool, was_reset: bool, final: StepResult | None) -> StepResult | None:
    """The rules every backend's ``step`` opens with: a closed fleet raises :class:`FleetClosedError`, one never
    reset raises :class:`NotResetError`, and once the episode has ended ``step`` gives its final result again
    (returned here; ``None``: go on and step)."""
    if closed:
        raise FleetClosedError()
    if not was_reset:
        raise NotResetError()
    return final
