"""Typed robot commands: frozen dataclasses, one class per kind of action, never strings.

Every command renders the canonical action text a language model sees and writes (``.text``);
parsing text back into commands is the job of each world's action parser.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from fleetmind.robots.ids import GridCell, GridCorner

COLOURS: tuple[str, ...] = ("blue", "red", "green", "purple", "orange")


def _fmt(value: float) -> str:
    return f"{float(value):.1f}"


@dataclass(frozen=True)
class Command:
    """Base of every command. Subclasses are frozen dataclasses with a canonical ``text``."""

    @property
    def text(self) -> str:  # pragma: no cover - abstract
        raise NotImplementedError


@dataclass(frozen=True)
class Wait(Command):
    """Do nothing this step (also what a robot does when it receives no command)."""

    @property
    def text(self) -> str:
        return "wait"


@dataclass(frozen=True)
class MoveBoxToCell(Command):
    """BoxNet1: move a box of ``colour`` from the robot's cell to the 4-neighbour ``cell``."""

    colour: str
    cell: GridCell

    @property
    def text(self) -> str:
        r, c = self.cell.centre
        return f"move(box_{self.colour}, square[{_fmt(r)}, {_fmt(c)}])"


@dataclass(frozen=True)
class MoveBoxToCorner(Command):
    """BoxNet2: move the box of ``colour`` from one corner of the robot's cell to another ``corner``."""

    colour: str
    corner: GridCorner

    @property
    def text(self) -> str:
        return f"move(box_{self.colour}, position[{_fmt(self.corner.row)}, {_fmt(self.corner.col)}])"


@dataclass(frozen=True)
class MoveBoxToTarget(Command):
    """BoxNet1/BoxNet2: put a box of ``colour`` into the same-colour target at the robot's cell."""

    colour: str

    @property
    def text(self) -> str:
        return f"move(box_{self.colour}, target_{self.colour})"


@dataclass(frozen=True)
class TrackMove(Command):
    """Warehouse: one column along the robot's track."""

    direction: Literal["left", "right"]

    @property
    def text(self) -> str:
        return f"move {self.direction}"


@dataclass(frozen=True)
class EnterTrack(Command):
    """Warehouse: leave the target area onto column 0 of ``track``."""

    track: int

    @property
    def text(self) -> str:
        return f"move to track_{self.track}"


@dataclass(frozen=True)
class EnterTarget(Command):
    """Warehouse: from column 0 of a track into the target area (delivers a carried box)."""

    @property
    def text(self) -> str:
        return "move to target"


@dataclass(frozen=True)
class PickBox(Command):
    """Warehouse: pick the box at half-row ``row`` (e.g. 1.5) and column ``col``, 0.5 rows from the robot."""

    row: float
    col: int

    @property
    def text(self) -> str:
        return f"pick box_{_fmt(self.row)}_{self.col}"


@dataclass(frozen=True)
class Lift(Command):
    """BoxLift: this lifter joins the lift of box number ``box`` this step."""

    box: int

    @property
    def text(self) -> str:
        return f"lift(box_{self.box})"


@dataclass(frozen=True)
class GridStep(Command):
    """MAPF grids: one 4-connected step (POGEMA actions up/down/left/right; waiting is :class:`Wait`)."""

    direction: Literal["up", "down", "left", "right"]

    @property
    def text(self) -> str:
        return f"step {self.direction}"


@dataclass(frozen=True)
class SetVelocity(Command):
    """Wheeled robots: body velocity, ``linear`` m/s forward, ``angular`` rad/s counter-clockwise."""

    linear: float
    angular: float

    @property
    def text(self) -> str:
        return f"set_velocity({self.linear:.2f}, {self.angular:.2f})"
