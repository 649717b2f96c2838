"""What a mission asks for, matched against the platform's semantic memory: the object to reach (M3 sequential, M4
described goal in words or as a grid patch) and the attributes to look for (M2). Shared by HAS and the baselines (a
baseline explores without semantics but still recognises its goal when it sees it)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import numpy as np
from fleetmind.planners.has.platform import InfoPlatform, ObjectRecord

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
    """The part of the map a compass word names (thirds of the map), e.g. ``north-east``; ``None``: no word."""
    if not direction:
        return None
    rows = (0, h // 3 - 1) if "north" in direction else (2 * h // 3, h - 1) if "south" in direction else (0, h - 1)
    cols = (0, w // 3 - 1) if "west" in direction else (2 * w // 3, w - 1) if "east" in direction else (0, w - 1)
    if direction == "centre":
        rows, cols = (h // 3, 2 * h // 3 - 1), (w // 3, 2 * w // 3 - 1)
    return rows[0], cols[0], rows[1], cols[1]


def cell_index(cell: tuple[int, int], w: int) -> int:
    return int(cell[0]) * w + int(cell[1])


__all__ = ["described_room", "direction_box", "goal_object", "patch_matches", "wanted", "cell_index", "np"]
