"""Robot identifiers and grid coordinates (cells, corners): the names every backend and planner share."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import NewType

RobotId = NewType("RobotId", str)
"""A robot's name, also its ROS 2 namespace: ``robot_0``, ``robot_1``, ..."""

_ROBOT_ID = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


def robot_id(value: str | int) -> RobotId:
    """Make a :data:`RobotId` from ``"robot_3"`` or ``3``; rejects names that are not valid ROS namespaces."""
    name = f"robot_{value}" if isinstance(value, int) else value
    if not _ROBOT_ID.match(name):
        raise ValueError(
            f"robot id {name!r} is not a valid ROS 2 namespace: use letters, digits and '_', starting with a letter"
        )
    return RobotId(name)


def robot_ids(count: int) -> tuple[RobotId, ...]:
    """``robot_0 .. robot_{count-1}``."""
    return tuple(robot_id(i) for i in range(count))


@dataclass(frozen=True, order=True)
class GridCell:
    """A cell of a grid world, row-major; its centre is at ``(row + 0.5, col + 0.5)`` in grid units."""

    row: int
    col: int

    @property
    def centre(self) -> tuple[float, float]:
        return (self.row + 0.5, self.col + 0.5)

    def neighbours4(self, rows: int, cols: int) -> tuple[GridCell, ...]:
        """The 4-connected neighbours inside a ``rows x cols`` grid, in the order up, down, left, right."""
        out = []
        for dr, dc in ((-1, 0), (1, 0), (0, -1), (0, 1)):
            r, c = self.row + dr, self.col + dc
            if 0 <= r < rows and 0 <= c < cols:
                out.append(GridCell(r, c))
        return tuple(out)


@dataclass(frozen=True, order=True)
class GridCorner:
    """A lattice point between cells (BoxNet2 box positions): ``row in 0..rows``, ``col in 0..cols``."""

    row: int
    col: int

    def cells(self, rows: int, cols: int) -> tuple[GridCell, ...]:
        """The (up to four) cells this corner belongs to."""
        out = []
        for r in (self.row - 1, self.row):
            for c in (self.col - 1, self.col):
                if 0 <= r < rows and 0 <= c < cols:
                    out.append(GridCell(r, c))
        return tuple(out)


def cell_corners(cell: GridCell) -> tuple[GridCorner, GridCorner, GridCorner, GridCorner]:
    """The four corners of a cell, in the order top-left, top-right, bottom-left, bottom-right."""
    r, c = cell.row, cell.col
    return (GridCorner(r, c), GridCorner(r, c + 1), GridCorner(r + 1, c), GridCorner(r + 1, c + 1))
