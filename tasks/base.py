"""The task plug-in: everything fleetmind knows about one task, in one object.

A task owns its rules (a pure model), the pydantic model of its scenario section, its oracle, its shield rules,
the text LLM prompts describe it with, its action hints and the figures it reports. Code outside ``tasks/`` reaches
a task through :func:`fleetmind.tasks.get_task` and these hooks; it never compares task names.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from fleetmind.robots.commands import Command
from fleetmind.robots.errors import BadInputError
from fleetmind.robots.fleet import Observation
from fleetmind.robots.ids import RobotId
from fleetmind.robots.planner import Planner
from fleetmind.robots.scene import Scene
from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:
    from fleetmind.tasks.grid import GridTask

UndoMoves = set[tuple[str, tuple, tuple]]
"""(colour, from, to) of the previous step's box moves, so a hint can flag an exact reversal."""


class TaskConfig(BaseModel):
    """A task's section of a scenario's ``world`` (unknown keys are errors). Subclasses add ``task: Literal[name]``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    def paper_rules(self) -> str | None:
        """The key of this section that asks for the paper's looser shield rules (grid world only) when it is set;
        ``None``: the shield applies the physical rules, what robots with bodies can do."""
        return None


class Task(ABC):
    """One task as a plug-in. Stateless: one instance per task serves every episode."""

    name: ClassVar[str]
    title: ClassVar[str]
    """One line for listings and prompts' headers."""
    config: ClassVar[type[TaskConfig]]
    rules_text: ClassVar[str] = ""
    """The rules in a few sentences, for LLM prompts (our own words)."""
    coordinates_text: ClassVar[str] = ""
    """How to read the positions its prompts name, said once in the system prompt (empty: it names none)."""
    llm: ClassVar[bool] = False
    """Whether LLM planners (CMAS, DMAS, HMAS-1, HMAS-2) can play it (their prompts and replies exist)."""
    robot_kind: ClassVar[str] = "diff_drive"
    """The robot a physical backend plays it with unless the scenario names one (``world.pybullet.robot``)."""
    static_robots: ClassVar[bool] = False
    """Whether its robots never leave their cell, so a fixed arm can play it."""

    @abstractmethod
    def size_label(self, config: Any) -> str:
        """A short size text for listings: ``"2x2"``, ``"4 robots"``, ..."""

    def make_oracle(self) -> Planner:
        """The task's non-LLM oracle planner."""
        raise BadInputError(f"task {self.name!r} has no oracle planner; choose another planner (`fleetmind list`)")

    def check(self, observation: Observation, plan: Mapping[RobotId, Command], physical: bool = True) -> list[str]:
        """Shield rules: conflicts of a joint plan, one readable line each (empty: safe). ``physical`` is True on
        every backend whose robots have bodies (PyBullet, real robots) and in the grid world unless the scenario
        asks for the paper's looser rules."""
        return []

    def hint(self, robot: RobotId, command: Command, world: Mapping[str, Any], undo: UndoMoves) -> tuple[str, float]:
        """Action hint for small models: (note, score), lower score is better."""
        return "", 0.0

    def doomed(self, observation: Observation) -> dict[RobotId, list[Command]]:
        """Each robot's legal commands that collide whatever the other robots do this step (with a robot or a box
        that cannot move): LLM planners never offer them. Default: none."""
        return {}

    def real_robots_refusal(self, config: Any = None) -> str | None:
        """Why real robots (``backend: firmware``) cannot play this task, or with ``config`` this world of it, in a
        few words; None when its robots only drive between cells. Default: they cannot."""
        return "its commands are more than drives between cells"

    def scene(self, world: Mapping[str, Any], cell: float = 1.0, z: float = 0.0, t: float = 0.0) -> Scene:
        """The metric layout of an ``observation.world``: robots at their nominal poses at height ``z``, boxes and
        target pads, with cells of ``cell`` metres, stamped ``t`` seconds. Pure (``tasks/<name>/layout.py``)."""
        raise ValueError(f"task {self.name!r} has no metric layout")


class GridTaskPlugin(Task):
    """A task played on :class:`fleetmind.sim.grid.GridFleet` (the four paper tasks)."""

    llm = True
    paper_sizes: ClassVar[tuple[str, ...]] = ()
    """The sizes of the paper's Table I, as ``size_label`` writes them for ``fleetmind bench llm --sizes``."""

    @abstractmethod
    def world_for_size(self, size: str) -> dict[str, Any]:
        """A scenario's ``world`` keys for a size text of :attr:`paper_sizes` (``"2x4"``, ``"6"``, ``"6x14"``);
        raises ``ValueError`` on a malformed size."""

    @abstractmethod
    def make_rules(self, config: Any) -> GridTask:
        """The task's rules for a scenario's section."""


def size_pair(size: str) -> tuple[int, int]:
    """``"4x10"`` -> ``(4, 10)``; ``ValueError`` naming the expected form otherwise."""
    parts = size.lower().split("x")
    if len(parts) != 2 or not all(p.strip().isdigit() for p in parts):
        raise ValueError(f"size {size!r} is not of the form AxB (e.g. 2x4)")
    return int(parts[0]), int(parts[1])
