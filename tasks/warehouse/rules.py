"""Warehouse (Chen et al., ICRA 2024): robots on parallel tracks pick boxes and bring them to the target.

Rules (as the reference implementation): tracks ``track_0 .. track_{T-1}`` with columns ``0 .. C-1``;
box slots at the half rows between tracks (``0.5 .. T-1.5``), each holding a box with probability 0.5.
A robot is either on a track, ``(track, column, carrying)``, or at the target area. On a track it may
``move left`` / ``move right`` along it, ``move to target`` from column 0 (delivering a carried box),
or ``pick box_<row>_<col>`` when not carrying and the box is 0.5 rows away in its column. From the
target it may ``move to track_N`` (entering at column 0). Two robots at the same (track, column) after
a step end the episode with ``collision``; robots at the target never collide. Success: no boxes left
and no robot carrying. Step limit 30 (40 for 8 or more robots).

Layout: 4 robots use the reference's 3 tracks x 5 columns; larger fleets add one track per two robots
and one column per two robots beyond four (6: 4x6, 8: 5x7, 10: 6x8). Robots start on distinct track
cells or, as in the reference, at the target (drawn from the cells plus five target slots).
When two robots pick the same box in one step, the first in fleet order gets it and the other's
command is dropped with a ``conflict`` event.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fleetmind.robots.commands import Command, EnterTarget, EnterTrack, PickBox, TrackMove
from fleetmind.robots.fleet import RobotEvent
from fleetmind.robots.ids import RobotId, robot_ids
from fleetmind.tasks.grid import GridTask

AT_TARGET = None


@dataclass(frozen=True)
class TrackPos:
    """A robot on a track; ``carrying`` is True while it holds a box."""

    track: int
    col: int
    carrying: bool = False


def layout(robots: int) -> tuple[int, int]:
    """(tracks, columns) for a fleet of ``robots``: (3, 5) for 4, growing by one of each per two robots."""
    extra = max(0, robots - 4) // 2
    return 3 + extra, 5 + extra


class Warehouse(GridTask):
    name = "warehouse"

    def __init__(
        self, robots: int = 4, tracks: int | None = None, cols: int | None = None, box_prob: float = 0.5
    ) -> None:
        if robots < 1:
            raise ValueError(f"warehouse needs at least 1 robot, got {robots}")
        t, c = layout(robots)
        self.tracks = tracks if tracks is not None else t
        self.cols = cols if cols is not None else c
        if self.tracks < 2 or self.cols < 1:
            raise ValueError(f"warehouse needs >= 2 tracks and >= 1 column, got {self.tracks}x{self.cols}")
        if robots > self.tracks * self.cols + 5:
            raise ValueError(f"{robots} robots do not fit {self.tracks}x{self.cols} tracks plus the target")
        if not 0.0 <= box_prob <= 1.0:
            raise ValueError(f"box_prob must be in [0, 1], got {box_prob}")
        self.n_robots = robots
        self.box_prob = box_prob
        self._ids = robot_ids(robots)
        self.slots: tuple[tuple[float, int], ...] = tuple(
            (g + 0.5, col) for g in range(self.tracks - 1) for col in range(self.cols)
        )
        self.boxes: set[tuple[float, int]] = set()
        self.pos: dict[RobotId, TrackPos | None] = {}

    @property
    def robot_ids(self) -> tuple[RobotId, ...]:
        return self._ids

    @property
    def step_limit(self) -> int:
        return 40 if self.n_robots >= 8 else 30

    def generate(self, rng: random.Random) -> None:
        self.boxes = {s for s in self.slots if rng.random() < self.box_prob}
        while not self.boxes and self.box_prob > 0:  # an empty warehouse is no task: draw again
            self.boxes = {s for s in self.slots if rng.random() < self.box_prob}
        n_cells = self.tracks * self.cols
        starts = rng.sample(range(n_cells + 5), self.n_robots)
        self.pos = {
            rid: (TrackPos(k // self.cols, k % self.cols) if k < n_cells else AT_TARGET)
            for rid, k in zip(self._ids, starts, strict=True)
        }

    def set_state(self, boxes: set[tuple[float, int]], pos: Mapping[RobotId, TrackPos | None]) -> None:
        """Lay out a world by hand (tests): box slots ``{(row, col)}`` and every robot's position."""
        bad = [b for b in boxes if b not in self.slots]
        if bad:
            raise ValueError(f"not box slots of a {self.tracks}x{self.cols} warehouse: {bad}")
        if set(pos) != set(self._ids):
            raise ValueError(f"positions must cover exactly {self._ids}")
        self.boxes = set(boxes)
        self.pos = dict(pos)

    def legal(self, robot: RobotId) -> tuple[Command, ...]:
        p = self.pos[robot]
        if p is AT_TARGET:
            return tuple(EnterTrack(t) for t in range(self.tracks))
        out: list[Command] = []
        if p.col > 0:
            out.append(TrackMove("left"))
        if p.col < self.cols - 1:
            out.append(TrackMove("right"))
        if p.col == 0:
            out.append(EnterTarget())
        if not p.carrying:
            for row in (p.track - 0.5, p.track + 0.5):
                if (row, p.col) in self.boxes:
                    out.append(PickBox(row, p.col))
        return tuple(out)

    def apply(self, commands: Mapping[RobotId, Command]) -> tuple[list[RobotEvent], str | None]:
        events: list[RobotEvent] = []
        picked: dict[tuple[float, int], RobotId] = {}
        for rid in self._ids:
            cmd = commands.get(rid)
            p = self.pos[rid]
            if cmd is None:
                continue
            if isinstance(cmd, EnterTrack):
                self.pos[rid] = TrackPos(cmd.track, 0)
            elif isinstance(cmd, EnterTarget):
                if p.carrying:
                    events.append(RobotEvent(rid, "delivered", "delivered its box at the target"))
                self.pos[rid] = AT_TARGET
            elif isinstance(cmd, TrackMove):
                self.pos[rid] = TrackPos(p.track, p.col + (1 if cmd.direction == "right" else -1), p.carrying)
            elif isinstance(cmd, PickBox):
                slot = (cmd.row, cmd.col)
                if slot in picked:
                    events.append(
                        RobotEvent(rid, "conflict", f"box_{cmd.row:.1f}_{cmd.col} was already picked by {picked[slot]}")
                    )
                    continue
                picked[slot] = rid
                self.boxes.discard(slot)
                self.pos[rid] = TrackPos(p.track, p.col, True)
                events.append(RobotEvent(rid, "picked", f"picked box_{cmd.row:.1f}_{cmd.col}"))
        cells = Counter((p.track, p.col) for p in self.pos.values() if p is not AT_TARGET)
        clashes = {cell for cell, n in cells.items() if n > 1}
        for rid, p in self.pos.items():
            if p is not AT_TARGET and (p.track, p.col) in clashes:
                events.append(RobotEvent(rid, "collision", f"collided on track_{p.track} column_{p.col}"))
        return events, ("collision" if clashes else None)

    def carrying(self) -> int:
        return sum(1 for p in self.pos.values() if p is not AT_TARGET and p.carrying)

    def solved(self) -> bool:
        return not self.boxes and self.carrying() == 0

    def metrics(self) -> dict[str, Any]:
        return {"boxes_left": len(self.boxes) + self.carrying()}

    def _pos_text(self, robot: RobotId) -> str:
        p = self.pos[robot]
        if p is AT_TARGET:
            return f"{robot} is at the target"
        load = "carrying a box" if p.carrying else "not carrying"
        return f"{robot} on track_{p.track} column_{p.col}, {load}"

    def robot_view(self, robot: RobotId) -> tuple[dict[str, Any], str]:
        p = self.pos[robot]
        data: dict[str, Any] = {"at_target": p is AT_TARGET}
        if p is not AT_TARGET:
            data.update(track=p.track, col=p.col, carrying=p.carrying)
            near = sorted(b for b in self.boxes if b[1] == p.col and abs(b[0] - p.track) == 0.5)
            data["adjacent_boxes"] = [list(b) for b in near]
        return data, self._pos_text(robot)

    def world_view(self) -> tuple[dict[str, Any], str]:
        data = {
            "task": self.name,
            "tracks": self.tracks,
            "cols": self.cols,
            "boxes": [list(b) for b in sorted(self.boxes)],
            "robots": {r: (None if p is AT_TARGET else [p.track, p.col, p.carrying]) for r, p in self.pos.items()},
        }
        boxes = ", ".join(f"box_{r:.1f}_{c}" for r, c in sorted(self.boxes)) or "none"
        lines = [f"boxes left: {boxes}"] + [self._pos_text(r) for r in self._ids]
        return data, "\n".join(lines)
