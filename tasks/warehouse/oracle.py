"""Warehouse oracle: boxes claimed by the nearest free robot, moves that never collide and never swap.

Each free robot (not carrying, no claim) claims the nearest unclaimed box (greedy over all robot/box pairs,
nearest first). A robot with a claim goes to a track adjacent to the box's half row (through the target when it
is on another track), walks to the box's column and picks it; a carrying robot walks to column 0 and moves to the
target, which delivers. Claims are exclusive, so no two robots ever pick the same box.

Robots cannot pass each other: two robots that trade places drive through each other (on a track, or between
column 0 and the target), which physical robots cannot do and the shield refuses. Robots never change track except
through the target, so every track is a line on which the order of its robots is fixed; the oracle plans with that:

- Claims are improved every step: a claim moves to an idle robot that is strictly closer (an idle robot in a
  claimant's way picks the box instead), and two claimants trade boxes when that shortens their summed way, or
  keeps it and puts their boxes in the same order as the robots along a track (robots that would have to pass
  each other swap jobs instead of places).
- A robot heading right to its box that a robot ahead of it would meet on its way back (it picks further on and
  returns, or is heading left already) heads out instead and comes in on the box's other track; a robot at the
  target enters a track only where nobody coming back would meet it.
- A robot heading right into the cell of a robot heading left (a carrier, or one on its way out) turns back: it
  heads left too, out to the target from column 0, and comes back in behind.
- An idle robot whose cell another robot wants steps aside in that robot's direction of travel.
- What is left is solved per track: among the robots moving on it, the largest set (carriers first) that leaves
  every cell to one robot and has no two robots trading places moves; the others wait this step.
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
TARGET_COL = -1
"""The target seen from track ``t``: ``(t, TARGET_COL)``, so entering and leaving are moves along the track."""


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


def improve(claims: dict[RobotId, Box], cur: Mapping[RobotId, Pos], idle: list[RobotId]) -> dict[RobotId, Box]:
    """Claims after moving each to a strictly closer idle robot, and trading between two claimants whenever that
    shortens their summed way or keeps it and uncrosses them (:func:`_crossed`). ``idle`` and the claims are taken
    in fleet order; every change lowers the summed way or the crossings, so it ends."""
    claims, idle = dict(claims), list(idle)
    changed = True
    for _ in range(64 * (len(claims) + 1)):  # a bound for safety: each change lowers (summed way, crossings)
        if not changed:
            break
        changed = False
        owners = list(claims)
        for m in owners:
            box = claims[m]
            closer = [i for i in idle if reach_cost(cur[i], box) < reach_cost(cur[m], box)]
            if closer:
                new = min(closer, key=lambda i: reach_cost(cur[i], box))
                claims[new] = claims.pop(m)
                idle.remove(new)
                idle.append(m)
                changed = True
                break
        if changed:
            continue
        for k, a in enumerate(owners):
            for b in owners[k + 1 :]:
                ba, bb = claims[a], claims[b]
                now = reach_cost(cur[a], ba) + reach_cost(cur[b], bb)
                traded = reach_cost(cur[a], bb) + reach_cost(cur[b], ba)
                if traded < now or (traded == now and _crossed(cur[a], ba, cur[b], bb)):
                    claims[a], claims[b] = bb, ba
                    changed = True
                    break
            if changed:
                break
    return claims


def _crossed(pa: Pos, ba: Box, pb: Pos, bb: Box) -> bool:
    """Two robots on one track next to both boxes' rows (a robot at the target counts as column -1 of every
    track), whose boxes lie in the opposite order to the robots: they would have to pass each other (trading
    boxes at equal cost uncrosses them)."""
    shared = set(box_tracks(ba)) & set(box_tracks(bb))
    for p in (pa, pb):
        if p is not None:
            shared &= {p[0]}
    ca, cb = (-1 if pa is None else pa[1]), (-1 if pb is None else pb[1])
    if not shared or ca == cb or ba[1] == bb[1]:
        return False
    return (ca < cb) != (ba[1] < bb[1])


def trip(pos: Pos, place: Pos) -> tuple[Cell, Cell] | None:
    """(from, to) in track coordinates, the target as ``(t, TARGET_COL)``; ``None`` for a robot that stays at the
    target."""
    if pos is None and place is None:
        return None
    if pos is None:
        assert place is not None
        return (place[0], TARGET_COL), place
    if place is None:
        return pos, (pos[0], TARGET_COL)
    return pos, place


def resolve(cur: Mapping[RobotId, Pos], want: Mapping[RobotId, Pos], weight: Mapping[RobotId, int]) -> set[RobotId]:
    """Robots that must stay so that no two robots end the step in one track cell or trade places.

    ``want`` maps every robot to the place it wants to be after the step (its current place when it stays or
    picks). Robots change track only through the target, so each track (with the moves into and out of the target
    from its column 0) is solved on its own: among the robots moving on it, the subset allowed to move is the one
    with the most movers (then the largest summed ``weight``) that leaves every cell to at most one robot and has
    no two robots trading places. Tracks with more than ``_MAX_SEARCH`` movers fall back to a few candidate sets.
    """
    stopped: set[RobotId] = set()
    movers_by_track: dict[int, list[RobotId]] = {}
    fixed: dict[int, list[Cell]] = {}
    for rid in want:
        t = trip(cur[rid], want[rid])
        if t is None:
            continue
        if t[0] == t[1]:
            fixed.setdefault(t[0][0], []).append(t[0])
        else:
            movers_by_track.setdefault(t[0][0], []).append(rid)
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
    trips = [trip(cur[r], want[r]) for r in movers]
    masks = range(1 << n) if n <= _MAX_SEARCH else _greedy_masks(n)
    best: tuple[int, int] | None = None
    best_mask = 0
    for mask in masks:
        moving = [trips[k] for k in range(n) if mask >> k & 1]
        cells = list(fixed) + [trips[k][0] for k in range(n) if not mask >> k & 1] + [b for _, b in moving]
        cells = [c for c in cells if c is not None and c[1] != TARGET_COL]
        if len(cells) != len(set(cells)):
            continue
        edges = {(a, b) for a, b in moving}
        if any((b, a) in edges for a, b in moving):
            continue
        score = (bin(mask).count("1"), sum(weight[r] for k, r in enumerate(movers) if mask >> k & 1))
        if best is None or score > best:
            best, best_mask = score, mask
    return {rid for k, rid in enumerate(movers) if not best_mask >> k & 1}


def _greedy_masks(n: int) -> list[int]:
    """Masks tried on crowded tracks (never in the paper's layouts): nobody, each alone, all but one, all."""
    full = (1 << n) - 1
    return [0, *(1 << k for k in range(n)), *(full ^ (1 << k) for k in range(n)), full]


def _returns(robot: tuple[int, int, int], col: int) -> int:
    """Steps until ``robot`` = (column, column where it turns back left, 1 if it picks there) comes back into
    column ``col`` heading left (``col`` at most its turning column)."""
    at, turn, pick = robot
    if turn <= at and col >= turn:  # already heading left (or out): straight there
        return at - col
    return abs(turn - at) + pick + (turn - col)


def _met(ahead: list[tuple[int, int, int]], col: int, box_col: int) -> bool:
    """Whether a robot at ``col`` (-1: entering from the target) heading right to pick at ``box_col`` would meet one
    of the robots ``ahead`` of it on its track coming back left before it has picked (it cannot pass them)."""
    if box_col <= col:
        return False
    return any(at > col and _returns((at, turn, pick), box_col) <= box_col - col for at, turn, pick in ahead)


def _step_towards(pos: Cell, col: int) -> Pos:
    """The neighbouring cell of ``pos`` on its track in the direction of column ``col``."""
    return (pos[0], pos[1] + (1 if col > pos[1] else -1))


def _left_of(pos: Cell) -> Pos:
    """One step left: the next column, or the target from column 0."""
    return None if pos[1] == 0 else (pos[0], pos[1] - 1)


class WarehouseOracle(Planner):
    """Central oracle for the warehouse task (see the module docstring)."""

    name = "oracle"

    def __init__(self) -> None:
        self.claims: dict[RobotId, Box] = {}
        self.avoid: dict[RobotId, int] = {}  # the track a robot headed out of to reach its box from the other side

    def reset(self, observation: Observation, seed: int) -> None:
        self.claims = {}
        self.avoid = {}

    def _update_claims(self, cur: Mapping[RobotId, Pos], carrying: set[RobotId], boxes: set[Box]) -> None:
        self.claims = {r: b for r, b in self.claims.items() if r in cur and r not in carrying and b in boxes}
        free = [(r, p) for r, p in cur.items() if r not in carrying and r not in self.claims]
        unclaimed = sorted(boxes - set(self.claims.values()))
        if free and unclaimed:
            new = assign(free, unclaimed)
            log.debug("new claims: %s", new)
            self.claims.update(new)
        idle = [r for r in cur if r not in carrying and r not in self.claims]
        self.claims = improve(self.claims, cur, idle)
        self.avoid = {r: t for r, t in self.avoid.items() if r in self.claims}

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
        idle = [r for r in cur if r not in carrying and r not in self.claims]
        for _ in range(len(cur) + 1):  # turning back and stepping aside can make more of both: until neither does
            if not (self._turn_back(cur, want) | self._step_aside(cur, want, idle, int(w["cols"]))):
                break
        weight = {r: 2 if r in carrying else 1 for r in cur}
        stopped = resolve(cur, want, weight)
        commands: dict[RobotId, Command] = {}
        for rid, place in want.items():
            if rid in stopped or (place == cur[rid] and rid not in picks):
                continue
            commands[rid] = self._command(cur[rid], place, picks.get(rid) if place == cur[rid] else None)
        return commands

    def _wishes(
        self, cur: Mapping[RobotId, Pos], carrying: set[RobotId]
    ) -> tuple[dict[RobotId, Pos], dict[RobotId, Box]]:
        """Where every robot wants to be after this step, and the boxes picked this step.

        Robots on a track are decided from the right: a robot heading right to its box that a robot ahead of it
        would meet coming back (see :func:`_returns`) heads out instead, to come in on the box's other track.
        """
        want: dict[RobotId, Pos] = {}
        picks: dict[RobotId, Box] = {}
        ahead: dict[int, list[tuple[int, int, int]]] = {}
        on_track = sorted((p[0], -p[1], rid) for rid, p in cur.items() if p is not None)
        for _, _, rid in on_track:
            pos = cur[rid]
            assert pos is not None
            box = self.claims.get(rid)
            turn, pick = pos[1], 0  # where it turns back to the left, and whether it picks there
            if rid in carrying or (box is not None and pos[0] not in box_tracks(box)):
                want[rid] = _left_of(pos)
            elif box is not None and pos[1] == box[1]:
                want[rid], picks[rid], pick = pos, box, 1
            elif box is not None and _met(ahead.get(pos[0], []), pos[1], box[1]):
                want[rid] = _left_of(pos)
                self.avoid[rid] = pos[0]
            elif box is not None:
                want[rid] = _step_towards(pos, box[1])
                turn, pick = box[1], 1
            else:
                want[rid] = pos
                continue  # an idle robot goes nowhere by itself
            ahead.setdefault(pos[0], []).append((pos[1], turn, pick))
        busy = {p for p in want.values() if p is not None}
        held = {p for r, p in cur.items() if p is not None and want[r] != (p[0], p[1] + 1)}
        count = Counter(p[0] for p in cur.values() if p is not None)
        for rid in sorted((r for r, p in cur.items() if p is None), key=list(cur).index):
            box = self.claims.get(rid)
            want[rid] = None
            if box is None:
                continue

            def rank(t: int, box: Box = box, rid: RobotId = rid) -> tuple:
                met = _met(ahead.get(t, []), -1, box[1])
                return (met, (t, 0) in busy, (t, 0) in held, self.avoid.get(rid) == t, count[t], t)

            track = min(box_tracks(box), key=rank)
            if not rank(track)[0]:  # onto an adjacent track where nobody coming back meets it, else wait here
                want[rid] = (track, 0)
                busy.add((track, 0))
                count[track] += 1
        return want, picks

    @staticmethod
    def _turn_back(cur: Mapping[RobotId, Pos], want: dict[RobotId, Pos]) -> bool:
        """A robot heading right into the cell of one heading left (into its own cell) turns back: it cannot pass,
        and the one heading left has the way. True if any robot turned."""
        at = {p: r for r, p in cur.items() if p is not None}
        turned = False
        for rid, pos in cur.items():
            place = want[rid]
            if pos is None or place is None or place != (pos[0], pos[1] + 1):
                continue
            other = at.get(place)
            if other is not None and want[other] == pos:
                want[rid] = _left_of(pos)
                turned = True
        return turned

    @staticmethod
    def _step_aside(cur: Mapping[RobotId, Pos], want: dict[RobotId, Pos], idle: list[RobotId], cols: int) -> bool:
        """An idle robot whose cell another robot wants moves on in that robot's direction of travel (left: on to
        the target from column 0; right: if there is a column left). True if any robot moved aside."""
        moved = False
        for rid in idle:
            pos = cur[rid]
            if pos is None or want[rid] != pos:
                continue
            movers = [r for r, p in want.items() if r != rid and p == pos and cur[r] != pos]
            if not movers:
                continue
            src = cur[movers[0]]
            if src is not None and src[1] > pos[1]:
                want[rid] = _left_of(pos)
            elif pos[1] + 1 < cols:
                want[rid] = (pos[0], pos[1] + 1)
            else:
                continue
            moved = True
        return moved

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
