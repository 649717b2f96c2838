"""The HAS information platform: the only shared state of the hierarchy.

It merges every robot's observations into an occupancy grid (``known``: -1 unknown, 0 free, 1 wall) and a semantic
memory: objects seen (attributes, cell, region, first and last time seen, by whom), regions seen (room types), robot
states, group assignments and an event log. It renders a compact text summary for prompts and answers queries by
region or attribute.

Communication range (``comm_range``): each robot keeps its own map; after every step the maps of robots linked
within range (directly or through others, Chebyshev distance) merge. ``None``: one map for everyone. The semantic
memory and the manager's summary use the union of all maps (a base station that hears everyone eventually).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from fleetmind.planners.has._kernels import frontier_cells, update_frontier
from fleetmind.robots.fleet import Observation
from fleetmind.tasks.mapf_lifelong._kernels import components

UNKNOWN, FREE, WALL = -1, 0, 1


@dataclass
class ObjectRecord:
    id: int
    size: str
    colour: str
    kind: str
    cell: tuple[int, int]
    room: str
    first_seen: int
    last_seen: int
    seen_by: set[str] = field(default_factory=set)

    @property
    def label(self) -> str:
        return f"{self.size} {self.colour} {self.kind}"

    def attrs(self) -> tuple[str, str, str]:
        return self.size, self.colour, self.kind


@dataclass(frozen=True)
class RegionRecord:
    id: int
    kind: str
    box: tuple[int, int, int, int]
    """(top, left, bottom, right), inclusive."""


@dataclass
class Group:
    """A group formed by the manager: a leader, its members and its subtask."""

    name: str
    leader: str
    members: list[str]
    region: tuple[int, int, int, int]
    goal: int | None = None
    """An object id to reach or verify (None: explore the region)."""


class InfoPlatform:
    """Shared observations of ``robots`` robots on an ``(H, W)`` map."""

    def __init__(self, shape: tuple[int, int], robots: list[str], comm_range: int | None = None, log: int = 200):
        self.h, self.w = int(shape[0]), int(shape[1])
        self.names = list(robots)
        self.comm_range = comm_range
        n = len(self.names)
        self.local = np.full((n if comm_range else 1, self.h * self.w), UNKNOWN, dtype=np.int8)
        self.known = self.local[0] if comm_range is None else np.full(self.h * self.w, UNKNOWN, dtype=np.int8)
        self.objects: dict[int, ObjectRecord] = {}
        self.regions: dict[int, RegionRecord] = {}
        self.positions = np.full((n, 2), -1, dtype=np.int64)
        self.active = np.zeros(n, dtype=bool)
        self.groups: dict[str, Group] = {}
        self.events: deque[tuple[int, str]] = deque(maxlen=log)
        self.step = 0
        # the frontier of ``known``, kept up to date around the cells that changed (:meth:`frontier_cells`)
        self._fmask = np.zeros(self.h * self.w, dtype=bool)
        self._fcells: np.ndarray | None = None
        self._fvalid = False
        self._changed: list[np.ndarray] = []

    # ------------------------------------------------------------------ ingest
    def ingest(self, obs: Observation) -> list[str]:
        """Merge one observation of an :class:`~fleetmind.sim.explore.ExploreFleet`; returns new event lines (robots
        online/offline, objects and regions seen for the first time)."""
        world = obs.world
        positions = np.asarray(world["positions"], dtype=np.int64).reshape(-1, 2)
        active = np.asarray(world["active"], dtype=bool)
        free = [np.asarray(obs.robots[r].data["free"], dtype=np.int64) for r in self.names]
        walls = [np.asarray(obs.robots[r].data["walls"], dtype=np.int64) for r in self.names]
        new = self.ingest_cells(obs.step, positions, active, free, walls)
        for i, r in enumerate(self.names):
            data = obs.robots[r].data
            for rid, kind, top, left, bottom, right in data["rooms"]:
                if rid not in self.regions:
                    self.regions[rid] = RegionRecord(rid, kind, (top, left, bottom, right))
            for oid, size, colour, kind, row, col in data["objects"]:
                rec = self.objects.get(oid)
                if rec is None:
                    room = self.region_at(row, col)
                    rec = ObjectRecord(oid, size, colour, kind, (row, col), room, obs.step, obs.step)
                    self.objects[oid] = rec
                    new.append(self.log(f"{r} saw a {rec.label} at ({row}, {col}) in the {room}"))
                rec.last_seen = obs.step
                rec.seen_by.add(r)
            del i
        return new

    def ingest_cells(
        self,
        step: int,
        positions: np.ndarray,
        active: np.ndarray,
        free: list[np.ndarray] | np.ndarray,
        walls: list[np.ndarray] | np.ndarray,
    ) -> list[str]:
        """The array path (benchmarks): per robot the free and wall cells it sees now (row-major indices)."""
        new = self._robots(step, positions, active)
        if self.comm_range is None:
            self._write(_flat(free), _flat(walls))
            return new
        for i in range(len(self.names)):
            row = self.local[i]
            row[free[i]] = FREE
            row[walls[i]] = WALL
        self._merge_within_range()
        np.maximum(self.known, self.local.max(axis=0), out=self.known)
        self._fvalid, self._fcells = False, None
        return new

    def ingest_seen(
        self, step: int, positions: np.ndarray, active: np.ndarray, free: np.ndarray, walls: np.ndarray
    ) -> list[str]:
        """The array path on one shared map (``comm_range`` None): ``free``/``walls`` are flat ``int64`` cells seen by
        anyone, of which only those the map does not hold yet matter (the world's ``fresh`` cells suffice), so a step
        costs what is new, not every robot's window. Same map and events as :meth:`ingest_cells`."""
        if self.comm_range is not None:
            raise ValueError("ingest_seen: one shared map only (comm_range None); use ingest_cells per robot")
        new = self._robots(step, positions, active)
        self._write(np.asarray(free, dtype=np.int64), np.asarray(walls, dtype=np.int64))
        return new

    def _robots(self, step: int, positions: np.ndarray, active: np.ndarray) -> list[str]:
        self.step = step
        flipped = np.flatnonzero(np.asarray(active, dtype=bool) != self.active).tolist()
        new = [self.log(f"{self.names[i]} is {'online' if active[i] else 'offline'}") for i in flipped]
        self.positions[:] = positions
        self.active[:] = active
        return new

    def _write(self, free: np.ndarray, walls: np.ndarray) -> None:
        known = self.known
        changed = np.concatenate([free[known[free] != FREE], walls[known[walls] != WALL]])
        known[free] = FREE
        known[walls] = WALL
        if len(changed):
            self._changed.append(changed)
            self._fcells = None

    def frontier_cells(self) -> np.ndarray:
        """``(K,) int64`` the frontier of ``known`` in row-major order (as :func:`._kernels.frontier_cells`), updated
        only around the cells that changed since the last call; read-only."""
        if self._fcells is None or not self._fvalid:
            if not self._fvalid:
                self._fmask[:] = False
                self._fmask[frontier_cells(self.known, self.h, self.w)] = True
                self._fvalid = True
            elif self._changed:
                update_frontier(self.known, self.h, self.w, np.concatenate(self._changed), self._fmask)
            self._changed = []
            self._fcells = np.flatnonzero(self._fmask)
        return self._fcells

    def frontier_mask(self) -> np.ndarray:
        """``(H*W,) bool`` whether each cell is a frontier cell (:meth:`frontier_cells`); read-only."""
        self.frontier_cells()
        return self._fmask

    def _merge_within_range(self) -> None:
        on = np.flatnonzero(self.active)
        if len(on) < 2:
            return
        p = self.positions[on]
        linked = np.abs(p[:, None, :] - p[None, :, :]).max(axis=2) <= self.comm_range
        label = np.arange(len(on))
        for _ in range(len(on)):  # label propagation: the smallest index of each linked component
            nxt = np.where(linked, label[None, :], len(on)).min(axis=1)
            if np.array_equal(nxt, label):
                break
            label = nxt
        for comp in np.unique(label):
            members = on[label == comp]
            if len(members) > 1:
                self.local[members] = self.local[members].max(axis=0)

    def log(self, line: str) -> str:
        self.events.append((self.step, line))
        return line

    # ------------------------------------------------------------------ views and queries
    def map_of(self, robot: int) -> np.ndarray:
        """``(H*W,) int8`` the map robot ``robot`` (index) plans on."""
        return self.local[robot if self.comm_range else 0]

    def region_at(self, row: int, col: int) -> str:
        for reg in self.regions.values():
            top, left, bottom, right = reg.box
            if top <= row <= bottom and left <= col <= right:
                return reg.kind
        return "unknown region"

    def explored(self, box: tuple[int, int, int, int]) -> float:
        """The share of a box's cells that are known."""
        top, left, bottom, right = box
        grid = self.known.reshape(self.h, self.w)[top : bottom + 1, left : right + 1]
        return float((grid >= 0).mean()) if grid.size else 1.0

    def query(
        self,
        box: tuple[int, int, int, int] | None = None,
        size: str | None = None,
        colour: str | None = None,
        kind: str | None = None,
        room: str | None = None,
    ) -> list[ObjectRecord]:
        """Objects seen, filtered by region box and attributes (``None``: any), by id."""
        out = []
        for rec in sorted(self.objects.values(), key=lambda o: o.id):
            if box is not None and not (box[0] <= rec.cell[0] <= box[2] and box[1] <= rec.cell[1] <= box[3]):
                continue
            if (size and rec.size != size) or (colour and rec.colour != colour) or (kind and rec.kind != kind):
                continue
            if room and rec.room != room:
                continue
            out.append(rec)
        return out

    def coverage_known(self) -> float:
        return float((self.known >= 0).mean())

    def components_free(self) -> np.ndarray:
        """``(H, W)`` labels of the known free space (4-connected; -1 elsewhere)."""
        return components(np.ascontiguousarray((self.known != FREE).reshape(self.h, self.w)))

    def summary(self, max_objects: int = 12, max_events: int = 6) -> str:
        """A compact text for prompts: map knowledge, regions, objects, robots, groups, the latest events."""
        lines = [f"step {self.step}; map {self.h}x{self.w}; {self.coverage_known():.0%} of cells known"]
        if self.regions:
            regs = ", ".join(f"{r.kind} {list(r.box)}" for r in sorted(self.regions.values(), key=lambda r: r.id))
            lines.append(f"regions seen: {regs}")
        objs = sorted(self.objects.values(), key=lambda o: o.id)[:max_objects]
        if objs:
            lines.append("objects: " + "; ".join(f"#{o.id} {o.label} at {o.cell} ({o.room})" for o in objs))
        on = [f"{r}@{tuple(self.positions[i].tolist())}" for i, r in enumerate(self.names) if self.active[i]]
        lines.append(f"robots online: {', '.join(on)}")
        for g in self.groups.values():
            lines.append(f"group {g.name}: leader {g.leader}, members {', '.join(g.members)}, region {list(g.region)}")
        for step, line in list(self.events)[-max_events:]:
            lines.append(f"event at step {step}: {line}")
        return "\n".join(lines)

    def state(self) -> dict[str, Any]:
        """The JSON-able facts a manager reply is checked against."""
        return {
            "shape": [self.h, self.w],
            "robots": {r: list(map(int, self.positions[i])) for i, r in enumerate(self.names) if self.active[i]},
        }


def _flat(cells: list[np.ndarray] | np.ndarray) -> np.ndarray:
    parts = [np.asarray(c, dtype=np.int64).ravel() for c in cells]
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)
