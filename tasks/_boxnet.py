"""Shared pieces of BoxNet1 and BoxNet2: a grid with one robot at the centre of every cell."""

from __future__ import annotations

from collections import Counter
from typing import Any, ClassVar

from fleetmind.robots.ids import GridCell, RobotId, robot_id
from fleetmind.tasks.base import GridTaskPlugin, TaskConfig, size_pair
from fleetmind.tasks.grid import GridTask
from pydantic import Field

PAPER_SIZES: tuple[tuple[int, int], ...] = ((2, 2), (2, 4), (4, 4), (4, 8))


class BoxNetGrid:
    """``rows x cols`` cells, robot ``robot_k`` at cell ``(k // cols, k % cols)``."""

    def __init__(self, rows: int, cols: int) -> None:
        if rows < 1 or cols < 1 or rows * cols < 2:
            raise ValueError(f"BoxNet grid must have at least 2 cells, got rows={rows}, cols={cols}")
        if rows > 32 or cols > 32:
            raise ValueError(f"BoxNet grid is limited to 32x32 cells, got rows={rows}, cols={cols}")
        self.rows = rows
        self.cols = cols
        self.cells: tuple[GridCell, ...] = tuple(GridCell(r, c) for r in range(rows) for c in range(cols))
        self.ids: tuple[RobotId, ...] = tuple(robot_id(k) for k in range(rows * cols))
        self.cell_of: dict[RobotId, GridCell] = dict(zip(self.ids, self.cells, strict=True))
        self.robot_at: dict[GridCell, RobotId] = {c: r for r, c in self.cell_of.items()}

    @property
    def step_limit(self) -> int:
        """30 steps, 40 for the large (4x8 and up) grids, as in the paper."""
        return 40 if self.rows * self.cols >= 32 else 30

    def square(self, cell: GridCell) -> str:
        r, c = cell.centre
        return f"square[{r:.1f}, {c:.1f}]"


def items_text(boxes: Counter[str], targets: Counter[str]) -> str:
    """``box_red, box_red, target_blue`` (sorted) or ``nothing``."""
    items = [f"box_{c}" for c in sorted(boxes.elements())] + [f"target_{c}" for c in sorted(targets.elements())]
    return ", ".join(items) if items else "nothing"


class BoxNetConfig(TaskConfig):
    """The keys BoxNet1 and BoxNet2 share (each adds its ``task`` literal)."""

    rows: int = Field(2, ge=1, le=32, strict=True, description="Grid rows (paper: 2 or 4).")
    cols: int = Field(2, ge=1, le=32, strict=True, description="Grid columns (paper: 2, 4 or 8).")
    step_limit: int | None = Field(None, ge=1, le=10_000, strict=True, description="Override the task's step limit.")


class BoxNetPlugin(GridTaskPlugin):
    """What the two BoxNet plug-ins share: sizes ``RxC``, robots fixed in their cells, rules built from rows/cols."""

    paper_sizes = tuple(f"{r}x{c}" for r, c in PAPER_SIZES)
    static_robots = True
    rules_class: ClassVar[type[GridTask]]

    def size_label(self, config: Any) -> str:
        return f"{config.rows}x{config.cols}"

    def real_robots_refusal(self, config: Any = None) -> str | None:
        return "its robots move boxes, which real robots here cannot"

    def world_for_size(self, size: str) -> dict[str, Any]:
        rows, cols = size_pair(size)
        return {"task": self.name, "rows": rows, "cols": cols}

    def make_rules(self, config: Any) -> GridTask:
        return self.rules_class(config.rows, config.cols)
