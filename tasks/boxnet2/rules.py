"""BoxNet2 (Chen et al., ICRA 2024): boxes on cell corners, robots at centres, boxes must not collide.

Rules (as the reference implementation): same grid sizes as BoxNet1, one box per colour. Boxes sit
on cell corners (lattice points ``0..rows x 0..cols``), targets at cell centres. A robot moves a box
on one of its cell's corners to another corner of its cell (``move(box_red, position[1.0, 0.0])``)
or into the same-colour target at its centre (``move(box_red, target_red)``). If two boxes share a
corner after a step the episode ends with failure ``collision``. Step limit 30 (40 for 4x8).

Simultaneity: all commands are checked against the state at the start of the step. When two robots
move the same box (corners are shared by up to four cells), the first robot in fleet order moves it
and the other's command is dropped with a ``conflict`` event. Generation differs from the reference
in one detail: where the reference silently drops a box whose random cell has all four corners taken,
we draw another cell, so every world has exactly five boxes.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Mapping
from typing import Any

from fleetmind.robots.commands import COLOURS, Command, MoveBoxToCorner, MoveBoxToTarget
from fleetmind.robots.fleet import RobotEvent
from fleetmind.robots.ids import GridCell, GridCorner, RobotId, cell_corners
from fleetmind.tasks._boxnet import BoxNetGrid, items_text
from fleetmind.tasks.grid import GridTask


def corner_text(corner: GridCorner) -> str:
    return f"position[{corner.row:.1f}, {corner.col:.1f}]"


class BoxNet2(GridTask):
    name = "boxnet2"

    def __init__(self, rows: int = 2, cols: int = 2) -> None:
        self.grid = BoxNetGrid(rows, cols)
        self.boxes: dict[str, GridCorner] = {}
        self.targets: dict[GridCell, Counter[str]] = {c: Counter() for c in self.grid.cells}

    @property
    def robot_ids(self) -> tuple[RobotId, ...]:
        return self.grid.ids

    @property
    def step_limit(self) -> int:
        return self.grid.step_limit

    def generate(self, rng: random.Random) -> None:
        n = len(self.grid.cells)
        boxes: dict[str, GridCorner] = {}
        targets = {c: Counter() for c in self.grid.cells}
        for colour in COLOURS:
            while True:
                corners = list(cell_corners(self.grid.cells[rng.randrange(n)]))
                rng.shuffle(corners)
                free = [k for k in corners if k not in boxes.values()]
                if free:
                    boxes[colour] = free[0]
                    break
            targets[self.grid.cells[rng.randrange(n)]][colour] += 1
        self.boxes, self.targets = boxes, targets

    def set_state(self, boxes: Mapping[str, GridCorner], targets: Mapping[GridCell, list[str]]) -> None:
        """Lay out a world by hand (tests): ``{colour: corner}`` and ``{cell: [colour, ...]}``."""
        for colour, k in boxes.items():
            if not (0 <= k.row <= self.grid.rows and 0 <= k.col <= self.grid.cols):
                raise ValueError(f"box_{colour} at {k} is outside the grid's corners")
        self.boxes = dict(boxes)
        self.targets = {c: Counter(targets.get(c, ())) for c in self.grid.cells}

    def _boxes_at(self, corner: GridCorner) -> list[str]:
        return [col for col, k in self.boxes.items() if k == corner]

    def legal(self, robot: RobotId) -> tuple[Command, ...]:
        cell = self.grid.cell_of[robot]
        corners = cell_corners(cell)
        out: list[Command] = []
        for corner in corners:
            here = self._boxes_at(corner)
            if len(here) != 1:  # only a box alone on its corner can be moved (reference rule)
                continue
            colour = here[0]
            out.extend(MoveBoxToCorner(colour, k) for k in corners if k != corner)
            if self.targets[cell][colour]:
                out.append(MoveBoxToTarget(colour))
        return tuple(out)

    def apply(self, commands: Mapping[RobotId, Command]) -> tuple[list[RobotEvent], str | None]:
        events: list[RobotEvent] = []
        moved: dict[str, RobotId] = {}
        for rid in self.grid.ids:  # fleet order decides who moves a box two robots asked for
            cmd = commands.get(rid)
            if cmd is None:
                continue
            colour = cmd.colour  # type: ignore[attr-defined]
            if colour in moved:
                events.append(RobotEvent(rid, "conflict", f"box_{colour} was already moved by {moved[colour]}"))
                continue
            moved[colour] = rid
            cell = self.grid.cell_of[rid]
            if isinstance(cmd, MoveBoxToTarget):
                del self.boxes[colour]
                self.targets[cell][colour] -= 1
                self.targets[cell] += Counter()
                events.append(RobotEvent(rid, "delivered", f"box_{colour} into target_{colour}"))
            elif isinstance(cmd, MoveBoxToCorner):
                self.boxes[colour] = cmd.corner
                events.append(RobotEvent(rid, "moved", f"box_{colour} to {corner_text(cmd.corner)}"))
        clashes = [k for k, n in Counter(self.boxes.values()).items() if n > 1]
        for corner in clashes:
            names = " and ".join(f"box_{c}" for c in sorted(self._boxes_at(corner)))
            for cell in corner.cells(self.grid.rows, self.grid.cols):
                events.append(
                    RobotEvent(self.grid.robot_at[cell], "collision", f"{names} collided at {corner_text(corner)}")
                )
        return events, ("collision" if clashes else None)

    def solved(self) -> bool:
        return not self.boxes

    def metrics(self) -> dict[str, Any]:
        return {"boxes_left": len(self.boxes)}

    def _cell_text(self, cell: GridCell) -> str:
        on_corners = [f"box_{col} at {corner_text(k)}" for k in cell_corners(cell) for col in sorted(self._boxes_at(k))]
        targets = items_text(Counter(), self.targets[cell])
        return f"corners: {', '.join(on_corners) if on_corners else 'no boxes'}; centre: {targets}"

    def robot_view(self, robot: RobotId) -> tuple[dict[str, Any], str]:
        cell = self.grid.cell_of[robot]
        data = {
            "cell": [cell.row, cell.col],
            "corner_boxes": {col: [k.row, k.col] for col, k in sorted(self.boxes.items()) if k in cell_corners(cell)},
            "targets": sorted(self.targets[cell].elements()),
        }
        return data, f"{robot} in {self.grid.square(cell)} sees {self._cell_text(cell)}"

    def world_view(self) -> tuple[dict[str, Any], str]:
        data = {
            "task": self.name,
            "rows": self.grid.rows,
            "cols": self.grid.cols,
            "robots": {r: [c.row, c.col] for r, c in self.grid.cell_of.items()},
            "boxes": {col: [k.row, k.col] for col, k in sorted(self.boxes.items())},
            "targets": [[c.row, c.col, col] for c in self.grid.cells for col in sorted(self.targets[c].elements())],
        }
        lines = [f"box_{col} at {corner_text(k)}" for col, k in sorted(self.boxes.items())]
        lines += [
            f"{self.grid.robot_at[c]} {self.grid.square(c)}: targets {items_text(Counter(), self.targets[c])}"
            for c in self.grid.cells
        ]
        return data, "\n".join(lines)
