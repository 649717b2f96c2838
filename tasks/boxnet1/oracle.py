"""BoxNet1 oracle: boxes matched to targets, routed along shortest paths, one box per robot per step.

Stateless: every step it rematches boxes to same-colour targets (minimum total Manhattan distance)
and each robot moves the box of its cell with the longest way still to go one cell closer (ties go
to the neighbour holding fewer boxes), or delivers it when its target is in the cell.
"""

from __future__ import annotations

from itertools import permutations

from fleetmind.robots.commands import Command, MoveBoxToCell, MoveBoxToTarget
from fleetmind.robots.fleet import Observation
from fleetmind.robots.ids import GridCell, RobotId
from fleetmind.robots.planner import Planner

Cell = tuple[int, int]


def manhattan(a: Cell, b: Cell) -> int:
    """4-connected distance between two cells."""
    return abs(a[0] - b[0]) + abs(a[1] - b[1])


def match_boxes(boxes: list[Cell], targets: list[Cell]) -> list[Cell]:
    """Target for each box minimising the summed Manhattan distance (exact up to 7 boxes, greedy beyond)."""
    if len(boxes) <= 7 and len(targets) <= 7:
        best = min(permutations(targets, len(boxes)), key=lambda p: (sum(map(manhattan, boxes, p)), p))
        return list(best)
    free = list(targets)
    out = []
    for b in boxes:
        t = min(free, key=lambda t: (manhattan(b, t), t))
        free.remove(t)
        out.append(t)
    return out


class BoxNet1Oracle(Planner):
    name = "oracle"

    def plan(self, observation: Observation) -> dict[RobotId, Command]:
        w = observation.world
        rows, cols = w["rows"], w["cols"]
        robot_at = {tuple(cell): RobotId(r) for r, cell in w["robots"].items()}
        load: dict[Cell, int] = {}
        by_colour: dict[str, tuple[list[Cell], list[Cell]]] = {}
        for r, c, colour in w["boxes"]:
            by_colour.setdefault(colour, ([], []))[0].append((r, c))
            load[(r, c)] = load.get((r, c), 0) + 1
        for r, c, colour in w["targets"]:
            by_colour.setdefault(colour, ([], []))[1].append((r, c))
        # (remaining distance, colour, box cell, target cell) for every box
        jobs: list[tuple[int, str, Cell, Cell]] = []
        for colour, (boxes, targets) in sorted(by_colour.items()):
            if boxes and targets:
                for b, t in zip(boxes, match_boxes(boxes, targets), strict=True):
                    jobs.append((manhattan(b, t), colour, b, t))
        jobs.sort(key=lambda j: (-j[0], j[1], j[2]))
        plan: dict[RobotId, Command] = {}
        for dist, colour, box, target in jobs:
            robot = robot_at[box]
            if robot in plan:
                continue
            if dist == 0:
                plan[robot] = MoveBoxToTarget(colour)
                continue
            steps = [
                (box[0] + dr, box[1] + dc)
                for dr, dc in ((-1, 0), (1, 0), (0, -1), (0, 1))
                if 0 <= box[0] + dr < rows and 0 <= box[1] + dc < cols
            ]
            closer = [s for s in steps if manhattan(s, target) < dist]
            nxt = min(closer, key=lambda s: (load.get(s, 0), s))
            load[nxt] = load.get(nxt, 0) + 1
            plan[robot] = MoveBoxToCell(colour, GridCell(*nxt))
        return plan
