"""BoxNet2 oracle: boxes hop corner to corner towards their target cell without ever sharing a corner.

Stateless and greedy: a box on a corner of its target cell is delivered when that cell's robot is
free; the others take a king move (a cell's robot moves a box to any corner of that cell) that brings
them closer to a corner of their target cell, reserving the corner they land on. A box may land on a
corner another box leaves in the same step. When no box can make progress, boxes side-step to a free
corner at the same distance (rotating the choice with the step number) to break blockades.
"""

from __future__ import annotations

from fleetmind.robots.commands import Command, MoveBoxToCorner, MoveBoxToTarget
from fleetmind.robots.fleet import Observation
from fleetmind.robots.ids import GridCorner, RobotId
from fleetmind.robots.planner import Planner

Pt = tuple[int, int]


def corner_distance(k: Pt, cell: Pt) -> int:
    """King-move distance from corner ``k`` to the nearest corner of ``cell``."""
    dr = max(cell[0] - k[0], 0, k[0] - (cell[0] + 1))
    dc = max(cell[1] - k[1], 0, k[1] - (cell[1] + 1))
    return max(dr, dc)


def _shared_cells(a: Pt, b: Pt, rows: int, cols: int) -> list[Pt]:
    """Cells having both corners ``a`` and ``b`` (whose robot can move a box from one to the other)."""
    cells_a = GridCorner(*a).cells(rows, cols)
    return sorted((c.row, c.col) for c in GridCorner(*b).cells(rows, cols) if c in cells_a)


class BoxNet2Oracle(Planner):
    name = "oracle"

    def plan(self, observation: Observation) -> dict[RobotId, Command]:
        w = observation.world
        rows, cols = w["rows"], w["cols"]
        robot_at = {tuple(cell): RobotId(r) for r, cell in w["robots"].items()}
        target = {colour: (r, c) for r, c, colour in w["targets"]}
        boxes: dict[str, Pt] = {colour: tuple(k) for colour, k in w["boxes"].items() if colour in target}
        occupied = {tuple(k) for k in w["boxes"].values()}  # corners taken at the end of the step
        busy: dict[RobotId, Command] = {}
        done: set[str] = set()

        def dist(colour: str, k: Pt) -> int:
            return corner_distance(k, target[colour])

        # 1. deliveries free corners for everyone else
        for colour, k in sorted(boxes.items()):
            robot = robot_at[target[colour]]
            if dist(colour, k) == 0 and robot not in busy:
                busy[robot] = MoveBoxToTarget(colour)
                occupied.discard(k)
                done.add(colour)

        def try_move(colour: str, sidestep: bool) -> bool:
            k = boxes[colour]
            d = dist(colour, k)
            moves = []
            for dr in (-1, 0, 1):
                for dc in (-1, 0, 1):
                    n = (k[0] + dr, k[1] + dc)
                    if n == k or not (0 <= n[0] <= rows and 0 <= n[1] <= cols) or n in occupied:
                        continue
                    nd = dist(colour, n)
                    if nd < d or (sidestep and nd == d):
                        free = [c for c in _shared_cells(k, n, rows, cols) if robot_at[c] not in busy]
                        if free:
                            moves.append((nd, n, free[0]))
            if not moves:
                return False
            moves.sort()
            if sidestep:
                nd, n, cell = moves[observation.step % len(moves)]
            else:
                nd, n, cell = moves[0]
            busy[robot_at[cell]] = MoveBoxToCorner(colour, GridCorner(*n))
            occupied.discard(k)
            occupied.add(n)
            done.add(colour)
            return True

        # 2. farthest boxes first; a second pass lets boxes use corners freed in the first
        order = sorted((c for c in boxes if c not in done), key=lambda c: (-dist(c, boxes[c]), c))
        for _ in range(2):
            for colour in order:
                if colour not in done:
                    try_move(colour, sidestep=False)
        if not busy:
            for colour in order:
                if colour not in done:
                    try_move(colour, sidestep=True)
        return busy
