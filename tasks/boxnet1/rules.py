"""BoxNet1 (Chen et al., ICRA 2024): robots at cell centres pass boxes between cells into targets.

Rules (as the reference implementation): grids 2x2, 2x4, 4x4, 4x8 with one robot per cell; 5 colours
with 1-3 boxes each, every box and its target in uniformly random cells. A robot may move one box
of its own cell to a 4-neighbour cell (``move(box_red, square[0.5, 1.5])``) or into a same-colour
target in its own cell (``move(box_red, target_red)``; box and target disappear). Success: no boxes
left. Boxes never collide. Step limit 30 (40 for 4x8).
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Mapping
from typing import Any

from fleetmind.robots.commands import COLOURS, Command, MoveBoxToCell, MoveBoxToTarget
from fleetmind.robots.fleet import RobotEvent
from fleetmind.robots.ids import GridCell, RobotId
from fleetmind.tasks._boxnet import BoxNetGrid, items_text
from fleetmind.tasks.grid import GridTask


class BoxNet1(GridTask):
    name = "boxnet1"

    def __init__(self, rows: int = 2, cols: int = 2, boxes_per_colour: tuple[int, int] = (1, 3)) -> None:
        lo, hi = boxes_per_colour
        if not 1 <= lo <= hi:
            raise ValueError(f"boxes_per_colour must be (low, high) with 1 <= low <= high, got {boxes_per_colour}")
        self.grid = BoxNetGrid(rows, cols)
        self.boxes_per_colour = (lo, hi)
        self.boxes: dict[GridCell, Counter[str]] = {c: Counter() for c in self.grid.cells}
        self.targets: dict[GridCell, Counter[str]] = {c: Counter() for c in self.grid.cells}

    @property
    def robot_ids(self) -> tuple[RobotId, ...]:
        return self.grid.ids

    @property
    def step_limit(self) -> int:
        return self.grid.step_limit

    def generate(self, rng: random.Random) -> None:
        n = len(self.grid.cells)
        boxes = {c: Counter() for c in self.grid.cells}
        targets = {c: Counter() for c in self.grid.cells}
        for colour in COLOURS:
            for _ in range(rng.randint(*self.boxes_per_colour)):
                boxes[self.grid.cells[rng.randrange(n)]][colour] += 1
                targets[self.grid.cells[rng.randrange(n)]][colour] += 1
        self.boxes, self.targets = boxes, targets

    def set_state(self, boxes: Mapping[GridCell, list[str]], targets: Mapping[GridCell, list[str]]) -> None:
        """Lay out a world by hand (tests, golden examples): ``{cell: [colour, ...]}``."""
        unknown = [c for c in (*boxes, *targets) if c not in self.grid.cell_of.values()]
        if unknown:
            raise ValueError(f"cells outside the {self.grid.rows}x{self.grid.cols} grid: {unknown}")
        self.boxes = {c: Counter(boxes.get(c, ())) for c in self.grid.cells}
        self.targets = {c: Counter(targets.get(c, ())) for c in self.grid.cells}

    def legal(self, robot: RobotId) -> tuple[Command, ...]:
        cell = self.grid.cell_of[robot]
        out: list[Command] = []
        for colour in sorted(self.boxes[cell]):
            if self.targets[cell][colour]:
                out.append(MoveBoxToTarget(colour))
            out.extend(MoveBoxToCell(colour, n) for n in cell.neighbours4(self.grid.rows, self.grid.cols))
        return tuple(out)

    def apply(self, commands: Mapping[RobotId, Command]) -> tuple[list[RobotEvent], str | None]:
        events: list[RobotEvent] = []
        arriving: list[tuple[GridCell, str]] = []
        for rid, cmd in commands.items():
            cell = self.grid.cell_of[rid]
            if isinstance(cmd, MoveBoxToTarget):
                self.boxes[cell][cmd.colour] -= 1
                self.targets[cell][cmd.colour] -= 1
                events.append(RobotEvent(rid, "delivered", f"box_{cmd.colour} into target_{cmd.colour}"))
            elif isinstance(cmd, MoveBoxToCell):
                self.boxes[cell][cmd.colour] -= 1
                arriving.append((cmd.cell, cmd.colour))
                events.append(RobotEvent(rid, "moved", f"box_{cmd.colour} to {self.grid.square(cmd.cell)}"))
        for cell, colour in arriving:
            self.boxes[cell][colour] += 1
        for counter in (*self.boxes.values(), *self.targets.values()):
            counter += Counter()  # drop zero counts
        return events, None

    def solved(self) -> bool:
        return self.boxes_left() == 0

    def boxes_left(self) -> int:
        return sum(sum(c.values()) for c in self.boxes.values())

    def metrics(self) -> dict[str, Any]:
        return {"boxes_left": self.boxes_left()}

    def robot_view(self, robot: RobotId) -> tuple[dict[str, Any], str]:
        cell = self.grid.cell_of[robot]
        data = {
            "cell": [cell.row, cell.col],
            "boxes": sorted(self.boxes[cell].elements()),
            "targets": sorted(self.targets[cell].elements()),
        }
        return data, f"{robot} in {self.grid.square(cell)} sees {items_text(self.boxes[cell], self.targets[cell])}"

    def world_view(self) -> tuple[dict[str, Any], str]:
        data = {
            "task": self.name,
            "rows": self.grid.rows,
            "cols": self.grid.cols,
            "robots": {r: [c.row, c.col] for r, c in self.grid.cell_of.items()},
            "boxes": [[c.row, c.col, col] for c in self.grid.cells for col in sorted(self.boxes[c].elements())],
            "targets": [[c.row, c.col, col] for c in self.grid.cells for col in sorted(self.targets[c].elements())],
        }
        lines = [
            f"{self.grid.robot_at[c]} {self.grid.square(c)}: {items_text(self.boxes[c], self.targets[c])}"
            for c in self.grid.cells
        ]
        return data, "\n".join(lines)
