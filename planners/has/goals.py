"""What a mission asks for, matched against the platform's semantic memory: the object to reach (M3 sequential, M4
described goal in words or as a grid patch) and the attributes to look for (M2). Shared by HAS and the baselines (a
baseline explores without semantics but still recognises its goal when it sees it)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import numpy as np
from fleetmind.planners.has.platform import InfoPlatform, ObjectRecord, RegionRecord
from fleetmind.tasks.has.maps import LIKELY_P, LIKELY_ROOMS

_ROOM = re.compile(r" in the (\w+) in the ([\w-]+) of the map")


def described_room(text: str) -> tuple[str | None, str | None]:
    """``(room kind, compass direction)`` of a described goal (``None`` where the words name none)."""
    found = _ROOM.search(text)
    return (found.group(1), found.group(2)) if found else (None, None)


def patch_matches(platform: InfoPlatform, rec: ObjectRecord, patch: list[str], min_known: float = 0.6) -> bool:
    """Whether the known cells around ``rec`` agree with ``patch`` (``#`` wall or outside, ``.`` free, ``*`` the
    object) and enough of them are known."""
    half = len(patch) // 2
    r0, c0 = rec.cell
    known = platform.known.reshape(platform.h, platform.w)
    agree = total = 0
    for i, line in enumerate(patch):
        for j, ch in enumerate(line):
            r, c = r0 - half + i, c0 - half + j
            total += 1
            inside = 0 <= r < platform.h and 0 <= c < platform.w
            code = known[r, c] if inside else 1
            if code < 0:
                continue
            if (ch == "#") != (code == 1):
                return False
            agree += 1
    return agree >= min_known * total


def goal_object(platform: InfoPlatform, mission: str, goal: Mapping[str, Any]) -> ObjectRecord | None:
    """The object the mission asks to reach now, once the platform has seen it (``None``: not seen, or no such
    goal)."""
    if mission == "sequential" and goal.get("target"):
        size, colour, kind = goal["target"]
        found = platform.query(size=size, colour=colour, kind=kind)
        return found[0] if found else None
    if mission == "described_goal":
        if "patch" in goal:
            cands = [o for o in platform.query(kind=goal.get("kind")) if patch_matches(platform, o, goal["patch"])]
            return cands[0] if cands else None
        size, colour, kind = goal["attrs"]
        room, _ = described_room(goal["text"])
        found = platform.query(size=size, colour=colour, kind=kind, room=room)
        return found[0] if found else None
    return None


def wanted(mission: str, goal: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    """Attribute triples the mission looks for (M2: every target; M3/M4: the current one)."""
    if mission == "multi_search":
        return [tuple(t) for t in goal["targets"]]  # type: ignore[misc]
    if mission == "sequential" and goal.get("target"):
        return [tuple(goal["target"])]  # type: ignore[list-item]
    if mission == "described_goal" and "attrs" in goal:
        return [tuple(goal["attrs"])]  # type: ignore[list-item]
    return []


def direction_box(direction: str | None, h: int, w: int) -> tuple[int, int, int, int] | None:
    """The part of the map a compass word names, as the words are made (:func:`direction_of`: thirds of the map; a
    word without north/south means the middle third of the rows, without east/west the middle third of the
    columns), e.g. ``west`` is rows ``h/3 .. 2h/3`` and columns ``0 .. w/3``; ``None``: no word."""
    if not direction:
        return None
    lo_r, hi_r = -(-h // 3), -(-2 * h // 3)
    lo_c, hi_c = -(-w // 3), -(-2 * w // 3)
    rows = (0, lo_r - 1) if "north" in direction else (hi_r, h - 1) if "south" in direction else (lo_r, hi_r - 1)
    cols = (0, lo_c - 1) if "west" in direction else (hi_c, w - 1) if "east" in direction else (lo_c, hi_c - 1)
    return rows[0], cols[0], rows[1], cols[1]


def direction_of(box: tuple[int, int, int, int], h: int, w: int) -> str:
    """Where a region lies, in the compass words a described goal uses (its centre against the thirds of the map;
    ``centre`` when neither)."""
    r, c = (box[0] + box[2]) // 2, (box[1] + box[3]) // 2
    ns = "north" if r < h / 3 else "south" if r >= 2 * h / 3 else ""
    ew = "west" if c < w / 3 else "east" if c >= 2 * w / 3 else ""
    return "-".join(x for x in (ns, ew) if x) or "centre"


def clue_regions(p: InfoPlatform, mission: str, goal: Mapping[str, Any], found: Any = ()) -> list[RegionRecord]:
    """M2: regions where a target not found yet is likely: those holding a seen object of the target's kind that
    differs from it in size or colour only (the generator leaves such look-alikes in the target's room; an exact
    look-alike that the world does not count as found lies in another room and is no clue)."""
    if mission != "multi_search":
        return []
    done = {tuple(c) for c in found}
    out: dict[int, RegionRecord] = {}
    for size, colour, kind in wanted(mission, goal):
        same = p.query(kind=kind)
        if any(o.size == size and o.colour == colour and o.cell in done for o in same):
            continue
        for o in same:
            if (o.size == size) != (o.colour == colour):
                reg = region_record(p, o.cell)
                if reg is not None:
                    out[reg.id] = reg
    return list(out.values())


def unfound(mission: str, goal: Mapping[str, Any], p: InfoPlatform, found: Any = ()) -> list[tuple[str, str, str]]:
    """The wanted triples not found yet (M2: a seen object of that triple stands on a cell the world counts as
    found)."""
    done = {tuple(c) for c in found}
    out = []
    for size, colour, kind in wanted(mission, goal):
        same = p.query(size=size, colour=colour, kind=kind)
        if not any(o.cell in done for o in same):
            out.append((size, colour, kind))
    return out


def room_weights(kinds: list[str]) -> dict[str, float]:
    """Room type -> how likely it holds the objects of ``kinds`` still wanted, from the world's semantic table
    (:data:`~fleetmind.tasks.has.maps.LIKELY_ROOMS`): per kind its weight over the kind's most likely type (1 for
    the most likely), summed over the kinds (a kind wanted twice counts twice)."""
    out: dict[str, float] = {}
    for kind in kinds:
        table = LIKELY_ROOMS.get(kind, {})
        top = max(table.values(), default=0.0)
        for room, weight in table.items():
            out[room] = out.get(room, 0.0) + weight / top
    return out


def semantics_line() -> str:
    """The semantic table in one prompt line (for a manager's prompt)."""
    parts = [f"{k}: {', '.join(f'{r} {w:g}' for r, w in t.items())}" for k, t in LIKELY_ROOMS.items()]
    return f"objects lie in these room types with probability {LIKELY_P:g} (else anywhere): " + "; ".join(parts)


def region_record(p: InfoPlatform, cell: tuple[int, int]) -> RegionRecord | None:
    for reg in p.regions.values():
        top, left, bottom, right = reg.box
        if top <= cell[0] <= bottom and left <= cell[1] <= right:
            return reg
    return None


def cluster_prior(
    p: InfoPlatform, mission: str, goal: Mapping[str, Any], found: Any, reps: np.ndarray
) -> np.ndarray | None:
    """``(T,) float64`` extra utility of the frontier clusters with representatives ``reps`` from the mission's
    semantics (``None``: the mission has none to use). M4 words: clusters in a seen region of the described type
    whose place matches the described direction ``CANDIDATE``, in other regions there ``IN_DIRECTION``, elsewhere
    up to ``TOWARDS`` falling with the distance to the direction's part of the map. M2: clusters in a seen region of a
    room type likely for an unfound target's kind (the world's semantic table, :func:`room_weights`) ``LIKELY`` times
    the type's weight, plus ``CLUE`` in a :func:`clue_regions` region."""
    if len(reps) == 0:
        return None
    rr, rc = np.divmod(np.asarray(reps, dtype=np.int64), p.w)
    if mission == "described_goal" and "text" in goal:
        room, direction = described_room(str(goal["text"]))
        box = direction_box(direction, p.h, p.w)
        if box is None:
            return None
        d = np.maximum(np.maximum(box[0] - rr, rr - box[2]), 0) + np.maximum(np.maximum(box[1] - rc, rc - box[3]), 0)
        out = TOWARDS * np.clip(1.0 - d / (max(p.h, p.w) / 2), 0.0, 1.0)
        for reg in p.regions.values():
            if direction_of(reg.box, p.h, p.w) != direction:
                continue
            top, left, bottom, right = reg.box
            inside = (rr >= top) & (rr <= bottom) & (rc >= left) & (rc <= right)
            out[inside] = CANDIDATE if reg.kind == room else IN_DIRECTION
        return out
    if mission != "multi_search":
        return None
    out = np.zeros(len(rr))
    likely = room_weights([kind for _, _, kind in unfound(mission, goal, p, found)])
    for reg in p.regions.values():
        weight = likely.get(reg.kind, 0.0)
        if weight > 0:
            top, left, bottom, right = reg.box
            out[(rr >= top) & (rr <= bottom) & (rc >= left) & (rc <= right)] += LIKELY * weight
    clues = clue_regions(p, mission, goal, found)
    for reg in clues:
        top, left, bottom, right = reg.box
        out[(rr >= top) & (rr <= bottom) & (rc >= left) & (rc <= right)] += CLUE
    return out if likely or clues else None


CANDIDATE, IN_DIRECTION, TOWARDS, CLUE = 3.0, 1.0, 0.6, 2.0
LIKELY = 1.0
"""M2: extra utility of a frontier cluster in a seen region of a room type the semantic table names for an unfound
target's kind, per target, times the type's weight over the kind's top weight. Its effect is within the seed noise
(rooms 128x128, 16 robots, seeds 0,1,3-7, 2026-11-30 tree, M2 steps: 315.4 at 0, 339.6 at 0.5, 307.9 at 1.0, 338.4
at 1.5; B3 330.3): labels are known only for seen regions, so the prior ranks nearby frontiers, not far rooms."""


def cell_index(cell: tuple[int, int], w: int) -> int:
    return int(cell[0]) * w + int(cell[1])


__all__ = [
    "cluster_prior",
    "clue_regions",
    "described_room",
    "direction_box",
    "direction_of",
    "goal_object",
    "patch_matches",
    "room_weights",
    "semantics_line",
    "unfound",
    "wanted",
    "cell_index",
    "np",
]
