"""Warehouse oracle: boxes claimed by the nearest free robot, collision-free moves resolved every step.

Each free robot (not carrying, no claim) claims the nearest unclaimed box (greedy over all robot/box
pairs, nearest first). A robot with a claim goes to a track adjacent to the box's half row (through
the target when it is on another track), walks to the box's column and picks it; a carrying robot
walks to column 0 and moves to the target, which delivers. Claims are exclusive, so no two robots
ever pick the same box.

Moves are then made collision-free: no two robots may end a step in the same (track, column).
Passing and swapping are allowed by the rules, so the only conflicts are two robots moving into one
cell and a robot moving into the cell of one that stays (picking, waiting, or held back itself).
Robots never change track except through the target, where nobody collides, so every track is solved
on its own by trying which of its movers to hold back (the fewest, carriers last). Holding back greedily
instead can deadlock: a robot heading out between two carriers heading in must move, so that both
swaps happen. An idle robot whose cell is wanted steps into the wanting robot's cell (a swap) instead
of blocking it.
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from collections.abc import Mapping

from fleetmind.robots.commands import Command, EnterTarget, EnterTrack, PickBox, TrackMove
from fleetmind.robots.fleet import Observation
from fleetmind.robots.ids import RobotId
from fleetmind.robots.planner import Planner

log = logging.getLogger(__name__)

Box = tuple[float, int]
"""A box slot: (half row, column)."""
Cell = tuple[int, int]
"""A track cell: (track, column)."""
Pos = Cell | None
"""A robot's place: a track cell, or ``None`` at the target."""


def box_tracks(box: Box) -> tuple[int, int]:
    """The two tracks from which ``box`` can be picked (the ones 0.5 rows above and below it)."""
    row = box[0]
    return math.floor(row), math.ceil(row)


def reach_cost(pos: Pos, box: Box) -> int:
    """Steps for a robot at ``pos`` to stand next to ``box`` (not counting the pick)."""
    col = box[1]
    if pos is None:
        return 1 + col
    track, c = pos
    if track in box_tracks(box):
        return abs(c - col)
    return c + 2 + col  # back to column 0, into the target, onto an adjacent track, out to the column


def assign(free: list[tuple[RobotId, Pos]], boxes: list[Box]) -> dict[RobotId, Box]:
    """Greedy matching of free robots to boxes, nearest pair first (ties: farther box, then fleet order)."""
    pairs = sorted((reach_cost(pos, box), -box[1], k, box, rid) for k, (rid, pos) in enumerate(free) for box in boxes)
    out: dict[RobotId, Box] = {}
    taken: set[Box] = set()
    for _, _, _, box, rid in pairs:
        if rid not in out and box not in taken:
            out[rid] = box
            taken.add(box)
    return out


def resolve(cur: Mapping[RobotId, Pos], want: Mapping[RobotId, Pos], weight: Mapping[RobotId, int]) -> set[RobotId]:
    """Robots that must stay so that no two robots end the step in one track cell.

    ``want`` maps every robot to the place it wants to be after the step (its current place when it
    stays or picks). Moves to the target never clash, and a robot never changes track, so each track
    is solved on its own: among the robots moving into its cells, the subset allowed to move is the
    one with the most movers (then the largest summed ``weight``) that leaves every cell to at most
    one robot. Tracks with more than ``_MAX_SEARCH`` movers fall back to a greedy pass.
    """
    stopped: set[RobotId] = set()
    movers_by_track: dict[int, list[RobotId]] = {}
    fixed: dict[int, list[Cell]] = {}
    for rid, place in want.items():
        if place is None:
            continue
        if place == cur[rid]:
            fixed.setdefault(place[0], []).append(place)
        else:
            movers_by_track.setdefault(place[0], []).append(rid)
    for track, movers in sorted(movers_by_track.items()):
        stopped |= _resolve_track(cur, want, weight, movers, fixed.get(track, []))
    return stopped


_MAX_SEARCH = 12


def _resolve_track(
    cur: Mapping[RobotId, Pos],
    want: Mapping[RobotId, Pos],
    weight: Mapping[RobotId, int],
    movers: list[RobotId],
    fixed: list[Cell],
) -> set[RobotId]:
    """Movers of one track that must stay (see :func:`resolve`)."""
    n = len(movers)
    masks = range(1 << n) if n <= _MAX_SEARCH else _greedy_masks(n)
    best: tuple[int, int] | None = None
    best_mask = 0
    for mask in masks:
        cells = list(fixed)
        for k, rid in enumerate(movers):
            place = want[rid] if mask >> k & 1 else cur[rid]
            if place is not None:
                cells.append(place)
        if len(cells) != len(set(cells)):
            continue
        score = (bin(mask).count("1"), sum(weight[r] for k, r in enumerate(movers) if mask >> k & 1))
        if best is None or score > best:
            best, best_mask = score, mask
    return {rid for k, rid in enumerate(movers) if not best_mask >> k & 1}


def _greedy_masks(n: int) -> list[int]:
    """Masks tried on crowded tracks (never in the paper's layouts): nobody, each alone, all but one, all."""
    full = (1 << n) - 1
    return [0, *(1 << k for k in range(n)), *(full ^ (1 << k) for k in range(n)), full]


def _step_towards(pos: Cell, col: int) -> Pos:
    """The neighbouring cell of ``pos`` on its track in the direction of column ``col``."""
    return (pos[0], pos[1] + (1 if col > pos[1] else -1))


class WarehouseOracle(Planner):
    """Central oracle for the warehouse task (see the module docstring)."""

    name = "oracle"

    def __init__(self) -> None:
        self.claims: dict[RobotId, Box] = {}

    def reset(self, observation: Observation, seed: int) -> None:
        self.claims = {}

    def _update_claims(self, cur: Mapping[RobotId, Pos], carrying: set[RobotId], boxes: set[Box]) -> None:
        self.claims = {r: b for r, b in self.claims.items() if r in cur and r not in carrying and b in boxes}
        free = [(r, p) for r, p in cur.items() if r not in carrying and r not in self.claims]
        unclaimed = sorted(boxes - set(self.claims.values()))
        if free and unclaimed:
            new = assign(free, unclaimed)
            log.debug("new claims: %s", new)
            self.claims.update(new)

    def plan(self, observation: Observation) -> dict[RobotId, Command]:
        w = observation.world
        boxes: set[Box] = {(float(r), int(c)) for r, c in w["boxes"]}
        cur: dict[RobotId, Pos] = {}
        carrying: set[RobotId] = set()
        for rid, p in w["robots"].items():
            rid = RobotId(rid)
            cur[rid] = None if p is None else (int(p[0]), int(p[1]))
            if p is not None and p[2]:
                carrying.add(rid)
        self._update_claims(cur, carrying, boxes)
        want, picks = self._wishes(cur, carrying)
        rank = {rid: k for k, rid in enumerate(cur)}
        idle = {r for r in cur if r not in carrying and r not in self.claims}
        self._yield_idle(cur, want, idle, rank)
        weight = {r: 2 if r in carrying else 1 for r in cur}
        stopped = resolve(cur, want, weight)
        commands: dict[RobotId, Command] = {}
        for rid, place in want.items():
            if rid in stopped or (place == cur[rid] and rid not in picks):
                continue
            commands[rid] = self._command(cur[rid], place, picks.get(rid))
        return commands

    def _wishes(
        self, cur: Mapping[RobotId, Pos], carrying: set[RobotId]
    ) -> tuple[dict[RobotId, Pos], dict[RobotId, Box]]:
        """Where every robot wants to be after this step, and the boxes picked this step."""
        want: dict[RobotId, Pos] = {}
        picks: dict[RobotId, Box] = {}
        entering: list[RobotId] = []
        for rid, pos in cur.items():
            box = self.claims.get(rid)
            if pos is None:
                want[rid] = None
                if box is not None:
                    entering.append(rid)
            elif rid in carrying or (box is not None and pos[0] not in box_tracks(box)):
                want[rid] = None if pos[1] == 0 else (pos[0], pos[1] - 1)
            elif box is not None and pos[1] == box[1]:
                want[rid] = pos
                picks[rid] = box
            elif box is not None:
                want[rid] = _step_towards(pos, box[1])
            else:
                want[rid] = pos
        on_track = Counter(p[0] for p in cur.values() if p is not None)
        for rid in entering:  # onto the adjacent track whose column 0 is free, then the emptier one
            busy = {p for p in want.values() if p is not None}
            track = min(box_tracks(self.claims[rid]), key=lambda t: ((t, 0) in busy, on_track[t], t))
            want[rid] = (track, 0)
        return want, picks

    @staticmethod
    def _yield_idle(
        cur: Mapping[RobotId, Pos], want: dict[RobotId, Pos], idle: set[RobotId], rank: Mapping[RobotId, int]
    ) -> None:
        """An idle robot whose cell another robot wants swaps places with it instead of blocking."""
        for rid in sorted(idle, key=lambda r: rank[r]):
            pos = cur[rid]
            if pos is None or want[rid] != pos:
                continue
            movers = [r for r, p in want.items() if r != rid and p == pos and cur[r] != pos]
            if movers:
                mover = min(movers, key=lambda r: (r not in idle, rank[r]))
                want[rid] = cur[mover]

    @staticmethod
    def _command(pos: Pos, place: Pos, pick: Box | None) -> Command:
        if pick is not None:
            return PickBox(pick[0], pick[1])
        if pos is None:
            assert place is not None
            return EnterTrack(place[0])
        if place is None:
            return EnterTarget()
        return TrackMove("right" if place[1] > pos[1] else "left")
