"""Base class of the grid tasks' rules (BoxNet1, BoxNet2, Warehouse, BoxLift): state, legal commands, one step."""

from __future__ import annotations

import random
from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any, ClassVar

from fleetmind.robots.actions import parse_action
from fleetmind.robots.commands import Command
from fleetmind.robots.errors import ActionParseError
from fleetmind.robots.fleet import RobotEvent
from fleetmind.robots.ids import RobotId


class GridTask(ABC):
    """One of the paper's grid tasks: state, rules, observations.

    A task is pure: it never raises on legal commands, knows nothing of episodes or step limits
    (that is :class:`fleetmind.sim.grid.fleet.GridFleet`'s job) and is fully determined by the seed given to
    :meth:`generate`.
    """

    name: ClassVar[str]

    @property
    @abstractmethod
    def robot_ids(self) -> tuple[RobotId, ...]: ...

    @property
    @abstractmethod
    def step_limit(self) -> int:
        """Steps allowed per episode (the paper's limit for this size)."""

    @abstractmethod
    def generate(self, rng: random.Random) -> None:
        """Draw a new world from ``rng`` (same seed, same world)."""

    @abstractmethod
    def legal(self, robot: RobotId) -> tuple[Command, ...]:
        """Commands ``robot`` may issue now, in a fixed order; :class:`Wait` is always allowed and not listed."""

    @abstractmethod
    def apply(self, commands: Mapping[RobotId, Command]) -> tuple[list[RobotEvent], str | None]:
        """Execute one step of already-validated commands (robots absent wait).

        Returns the per-robot events and a failure reason (``"collision"``) or ``None``.
        """

    @abstractmethod
    def solved(self) -> bool: ...

    @abstractmethod
    def robot_view(self, robot: RobotId) -> tuple[dict[str, Any], str]:
        """(structured data, compact text) for one robot."""

    @abstractmethod
    def world_view(self) -> tuple[dict[str, Any], str]:
        """(structured data, compact text) of the whole world, for central planners."""

    def metrics(self) -> dict[str, Any]:
        """Task-specific figures added to every step's metrics (e.g. ``boxes_left``)."""
        return {}

    def parse_action(self, robot: RobotId, text: str) -> Command:
        """Turn action text into one of ``robot``'s legal commands.

        Tolerates case, blanks, quotes, ``1`` vs ``1.0`` and ``(`` vs ``[``. Raises
        :class:`ActionParseError` naming the robot, the text and the legal choices.
        """
        if robot not in self.robot_ids:
            raise ActionParseError(
                robot, text, (), reason=f"from an unknown robot (robots: {', '.join(self.robot_ids)})"
            )
        legal = self.legal(robot)
        command = parse_action(text, legal)
        return command if command is not None else self._raise_unparsable(robot, text, legal)

    def _raise_unparsable(self, robot: RobotId, text: str, legal: tuple[Command, ...]) -> Command:
        raise ActionParseError(robot, text, [c.text for c in legal], reason="not one of this robot's legal actions")

    def parse_plan(self, plan: Mapping[str, str]) -> dict[RobotId, Command]:
        """Parse a joint plan ``{robot: action text}``; raises on the first bad entry."""
        return {RobotId(r): self.parse_action(RobotId(r), t) for r, t in plan.items()}
