"""Seeded exploration maps with semantic labels: open (5% random obstacles), rooms with doors, mazes (corridors two
cells wide) and caves, each with labelled regions (room types) and objects (kind, colour, size) among distractors that
differ from a target in exactly one attribute.

Where objects lie follows a published semantic table (:data:`LIKELY_ROOMS`, :func:`room_prior`): an object of a kind
lies, with probability :data:`LIKELY_P`, in a region of one of its kind's likely room types (drawn by the table's
weights), else in any region (uniform), as a red mug is most often in a kitchen. The table is a property of the
world that any planner may read; the baselines ignore it.

Pure numpy, no numba. Every map keeps only its largest 4-connected free component (the rest is blocked), so every free
cell is reachable and coverage is measured against a reachable total.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from fleetmind.robots.errors import BadInputError
from fleetmind.tasks.mapf_lifelong._kernels import components

FAMILIES: tuple[str, ...] = ("open", "rooms", "maze", "caves")
ROOM_KINDS: tuple[str, ...] = ("kitchen", "office", "storage", "lab", "lobby", "workshop", "library", "garage")
KINDS: tuple[str, ...] = ("crate", "barrel", "chair", "lamp", "plant")
COLOURS: tuple[str, ...] = ("red", "blue", "green", "yellow")
SIZES: tuple[str, ...] = ("small", "large")

LIKELY_ROOMS: dict[str, dict[str, float]] = {
    "crate": {"storage": 1.0},
    "barrel": {"garage": 1.0},
    "chair": {"office": 1.0},
    "lamp": {"library": 1.0},
    "plant": {"lobby": 1.0},
}
"""The semantic table: object kind -> its likely room types with their weights (each kind's weights sum to 1; one
type per kind here, so three targets point at three of the eight room types)."""
LIKELY_P = 0.8
"""The share of objects (targets and clutter) placed in a region of a likely room type of their kind; the rest lie in
any region. A distractor keeps its rule (beside its target, or an exact look-alike in another region)."""


def room_prior(kind: str, room_kind: str, kinds_on_map: tuple[str, ...] = ROOM_KINDS) -> float:
    """``P(an object of kind lies in a given region of type room_kind)`` up to the map's region counts: the table's
    weight times :data:`LIKELY_P` plus the uniform share, for ranking regions (``kinds_on_map``: the region types
    the uniform share spreads over)."""
    likely = LIKELY_ROOMS.get(kind, {})
    return LIKELY_P * likely.get(room_kind, 0.0) + (1.0 - LIKELY_P) / max(1, len(kinds_on_map))


@dataclass(frozen=True)
class Room:
    """A labelled region: a room (rooms family) or a zone of the map (other families). Bounds are inclusive."""

    id: int
    kind: str
    top: int
    left: int
    bottom: int
    right: int

    @property
    def centre(self) -> tuple[int, int]:
        return (self.top + self.bottom) // 2, (self.left + self.right) // 2

    def contains(self, r: int, c: int) -> bool:
        return self.top <= r <= self.bottom and self.left <= c <= self.right


@dataclass(frozen=True)
class SemObject:
    """An object on a free cell (robots can stand on it). ``room``: the id of its region."""

    id: int
    kind: str
    colour: str
    size: str
    cell: tuple[int, int]
    room: int

    @property
    def label(self) -> str:
        return f"{self.size} {self.colour} {self.kind}"

    def attrs(self) -> tuple[str, str, str]:
        return self.size, self.colour, self.kind


@dataclass
class ExploreMap:
    """``blocked``: ``(H, W) bool``; ``room_of``: ``(H, W) int64`` region id of every cell (-1: none)."""

    family: str
    seed: int
    blocked: np.ndarray
    room_of: np.ndarray
    rooms: tuple[Room, ...]
    objects: tuple[SemObject, ...] = ()
    targets: tuple[int, ...] = field(default=())
    """Ids of the target objects (distractors and clutter are the others)."""

    @property
    def name(self) -> str:
        return f"{self.family}{self.blocked.shape[0]}_s{self.seed}"

    @property
    def shape(self) -> tuple[int, int]:
        return self.blocked.shape  # type: ignore[return-value]

    @property
    def free_count(self) -> int:
        return int((~self.blocked).sum())

    def direction(self, room: Room) -> str:
        """Where a region lies on the map, in compass words (``north-east``, ``centre``)."""
        h, w = self.shape
        r, c = room.centre
        ns = "north" if r < h / 3 else "south" if r >= 2 * h / 3 else ""
        ew = "west" if c < w / 3 else "east" if c >= 2 * w / 3 else ""
        return "-".join(p for p in (ns, ew) if p) or "centre"

    def describe(self, obj: SemObject) -> str:
        """The words of a described goal: attributes, the region's type and where it lies."""
        room = self.rooms[obj.room]
        return f"the {obj.label} in the {room.kind} in the {self.direction(room)} of the map"

    def patch(self, obj: SemObject, half: int = 2) -> tuple[str, ...]:
        """The "image" goal: the ``(2 half + 1)^2`` cells around the object (``#`` wall, ``.`` free, ``*`` the
        object, ``#`` outside the map), one string per row."""
        h, w = self.shape
        r0, c0 = obj.cell
        rows = []
        for r in range(r0 - half, r0 + half + 1):
            line = ""
            for c in range(c0 - half, c0 + half + 1):
                inside = 0 <= r < h and 0 <= c < w
                line += "*" if (r, c) == (r0, c0) else "#" if not inside or self.blocked[r, c] else "."
            rows.append(line)
        return tuple(rows)


def _largest_component(blocked: np.ndarray) -> np.ndarray:
    label = components(np.ascontiguousarray(blocked, dtype=np.bool_))
    free = label[label >= 0]
    if free.size == 0:
        return blocked
    keep = np.bincount(free).argmax()
    return label != keep


def _open(n: int, rng: np.random.Generator) -> np.ndarray:
    return rng.random((n, n)) < 0.05


def _rooms(n: int, rng: np.random.Generator, room: int = 16) -> np.ndarray:
    """Walls every ``room`` cells; a spanning tree of doors (two cells wide) plus a fifth more for loops."""
    blocked = np.zeros((n, n), dtype=bool)
    k = max(1, n // room)
    for i in range(1, k):
        blocked[i * room, :] = True
        blocked[:, i * room] = True
    edges = [((i, j), (i, j + 1)) for i in range(k) for j in range(k - 1)]
    edges += [((i, j), (i + 1, j)) for i in range(k - 1) for j in range(k)]
    order = rng.permutation(len(edges))
    parent = list(range(k * k))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for e in order.tolist():
        (a, b) = edges[e]
        ra, rb = find(a[0] * k + a[1]), find(b[0] * k + b[1])
        if ra != rb or rng.random() < 0.2:
            parent[ra] = rb
            offset = int(rng.integers(2, room - 3))
            if a[0] == b[0]:  # east wall of room a: a vertical wall at column (a_j + 1) * room
                col = (a[1] + 1) * room
                blocked[a[0] * room + offset : a[0] * room + offset + 2, col] = False
            else:
                row = (a[0] + 1) * room
                blocked[row, a[1] * room + offset : a[1] * room + offset + 2] = False
    return blocked


def _maze(n: int, rng: np.random.Generator) -> np.ndarray:
    """A depth-first maze of 2x2 cells separated by 1-cell walls (corridors two wide), with a few extra openings."""
    m = n // 3
    blocked = np.ones((n, n), dtype=bool)
    seen = np.zeros((m, m), dtype=bool)
    stack = [(0, 0)]
    seen[0, 0] = True
    blocked[0:2, 0:2] = False
    while stack:
        i, j = stack[-1]
        options = [
            (i + di, j + dj)
            for di, dj in ((-1, 0), (1, 0), (0, -1), (0, 1))
            if 0 <= i + di < m and 0 <= j + dj < m and not seen[i + di, j + dj]
        ]
        if not options:
            stack.pop()
            continue
        ni, nj = options[int(rng.integers(len(options)))]
        seen[ni, nj] = True
        blocked[3 * ni : 3 * ni + 2, 3 * nj : 3 * nj + 2] = False
        if ni != i:  # the wall row between the two cells
            blocked[3 * min(i, ni) + 2, 3 * j : 3 * j + 2] = False
        else:
            blocked[3 * i : 3 * i + 2, 3 * min(j, nj) + 2] = False
        stack.append((ni, nj))
    walls = np.argwhere(blocked[: 3 * m, : 3 * m])
    for r, c in walls[rng.random(len(walls)) < 0.04]:
        if r % 3 == 2 and c % 3 != 2 or c % 3 == 2 and r % 3 != 2:
            blocked[r, c] = False
    return blocked


def _caves(n: int, rng: np.random.Generator) -> np.ndarray:
    blocked = rng.random((n, n)) < 0.45
    for _ in range(5):
        padded = np.pad(blocked, 1, constant_values=True).astype(np.int64)
        count = sum(padded[1 + dr : n + 1 + dr, 1 + dc : n + 1 + dc] for dr in (-1, 0, 1) for dc in (-1, 0, 1))
        blocked = count >= 5
    return blocked


GENERATORS = {"open": _open, "rooms": _rooms, "maze": _maze, "caves": _caves}


def _regions(family: str, n: int, rng: np.random.Generator) -> tuple[np.ndarray, tuple[Room, ...]]:
    """Rooms family: one region per room (16 cells); else a 4x4 grid of zones. Types drawn from ROOM_KINDS."""
    size = 16 if family == "rooms" else max(4, n // 4)
    k = max(1, n // size)
    room_of = np.full((n, n), -1, dtype=np.int64)
    rooms = []
    for i in range(k):
        for j in range(k):
            top, left = i * size, j * size
            bottom = n - 1 if i == k - 1 else (i + 1) * size - 1
            right = n - 1 if j == k - 1 else (j + 1) * size - 1
            rid = len(rooms)
            rooms.append(Room(rid, ROOM_KINDS[int(rng.integers(len(ROOM_KINDS)))], top, left, bottom, right))
            room_of[top : bottom + 1, left : right + 1] = rid
    return room_of, tuple(rooms)


def _place_objects(
    blocked: np.ndarray, room_of: np.ndarray, rooms: tuple[Room, ...], targets: int, rng: np.random.Generator
) -> tuple[tuple[SemObject, ...], tuple[int, ...]]:
    """``targets`` objects with distinct attribute triples, each in a region drawn by the semantic table
    (:data:`LIKELY_ROOMS`), each with two distractors (one attribute changed: colour or size in the same region, or
    the same object in another region), then as much clutter (placed by the table too)."""
    free = np.flatnonzero(~blocked.ravel())
    w = blocked.shape[1]
    cells = rng.permutation(free)
    used = 0
    objects: list[SemObject] = []
    by_room: dict[int, list[int]] = {}
    for cell in cells.tolist():
        by_room.setdefault(int(room_of.ravel()[cell]), []).append(cell)
    room_ids = [r for r in rng.permutation(len(rooms)).tolist() if len(by_room.get(r, [])) > 4]

    def put(kind: str, colour: str, size: str, room: int) -> None:
        pool = by_room[room]
        cell = pool.pop()
        objects.append(SemObject(len(objects), kind, colour, size, (cell // w, cell % w), room))

    def pick_room(kind: str, need: int) -> int:
        """A region for an object of ``kind`` (the semantic table), among those with ``need`` free cells left."""
        ok = [r for r in room_ids if len(by_room[r]) >= need] or room_ids
        if rng.random() < LIKELY_P:
            types = list(LIKELY_ROOMS[kind])
            weights = np.array([LIKELY_ROOMS[kind][k] for k in types])
            first = types[int(rng.choice(len(types), p=weights / weights.sum()))]
            for room_kind in [first] + [k for k in types if k != first]:
                pool = [r for r in ok if rooms[r].kind == room_kind]
                if pool:
                    return pool[int(rng.integers(len(pool)))]
        return ok[int(rng.integers(len(ok)))]

    triples: set[tuple[str, str, str]] = set()
    target_ids: list[int] = []
    for _ in range(targets):
        while True:
            triple = (SIZES[int(rng.integers(2))], COLOURS[int(rng.integers(4))], KINDS[int(rng.integers(5))])
            if triple not in triples:
                triples.add(triple)
                break
        size, colour, kind = triple
        room = pick_room(kind, 3)
        target_ids.append(len(objects))
        put(kind, colour, size, room)
        other_colour = COLOURS[(COLOURS.index(colour) + 1 + int(rng.integers(3))) % 4]
        put(kind, other_colour, size, room)  # differs in colour
        others = [r for r in room_ids if r != room and by_room[r]]
        other_room = others[int(rng.integers(len(others)))] if others else room
        if rooms[other_room].kind == rooms[room].kind or other_room == room:
            put(kind, colour, SIZES[1 - SIZES.index(size)], room)  # differs in size
        else:
            put(kind, colour, size, other_room)  # differs in where it is
        used += 3
    for _ in range(targets):  # clutter that matches no target's triple (placed by the table too)
        triple = (SIZES[int(rng.integers(2))], COLOURS[int(rng.integers(4))], KINDS[int(rng.integers(5))])
        room = pick_room(triple[2], 1)
        if triple not in triples and by_room[room]:
            put(triple[2], triple[1], triple[0], room)
    return tuple(objects), tuple(target_ids)


def generate(family: str, size: int, seed: int, targets: int = 3) -> ExploreMap:
    """A seeded ``size x size`` map of ``family`` with ``targets`` target objects (plus distractors and clutter)."""
    if family not in GENERATORS:
        raise BadInputError(f"map family {family!r} is unknown; choose one of {', '.join(FAMILIES)}")
    if size < 16:
        raise BadInputError(f"map size {size} is too small; use 16 or more (64, 128, 256)")
    rng = np.random.default_rng([seed, FAMILIES.index(family), size])
    blocked = _largest_component(GENERATORS[family](size, rng))
    blocked = np.ascontiguousarray(blocked, dtype=np.bool_)
    blocked.flags.writeable = False
    room_of, rooms = _regions(family, size, rng)
    objects, target_ids = _place_objects(blocked, room_of, rooms, max(1, targets), rng)
    return ExploreMap(family, seed, blocked, room_of, rooms, objects, target_ids)


def to_text(emap: ExploreMap) -> str:
    """The map as rows of ``#`` and ``.`` (objects as their kind's first letter), for people and golden files."""
    rows = [["#" if b else "." for b in row] for row in emap.blocked]
    for o in emap.objects:
        rows[o.cell[0]][o.cell[1]] = o.kind[0]
    return "\n".join("".join(r) for r in rows)
