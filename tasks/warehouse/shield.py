"""Warehouse: shield rules, pure: the end-of-step state predicted from the observation's world data and the plan.

Always refused: two robots ending a step on one track cell, and one box picked by two robots. With ``physical``
(every backend with bodies, and the grid world unless a scenario sets ``paper_swaps``) also swaps: two robots that
trade places drive through each other, on a track (``move right`` against ``move left``) or between column 0 and
the target (one leaves for the target while another enters from it). The paper checks end-of-step cells only.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from fleetmind.robots.commands import Command, EnterTarget, EnterTrack, PickBox, TrackMove
from fleetmind.robots.fleet import Observation
from fleetmind.robots.ids import RobotId

TARGET_COL = -1
"""The target area seen from a track: a robot leaving column 0 for the target goes to ``(track, TARGET_COL)``."""


def moves(robots: Mapping[str, Sequence[Any] | None], plan: Mapping[RobotId, Command]) -> dict[str, tuple[Any, Any]]:
    """Each robot's (from, to) in track coordinates: ``(track, col)``, the target as ``(track, TARGET_COL)`` when it
    enters or leaves a track, ``None`` while it stays at the target. Robots that stay have from == to."""
    out: dict[str, tuple[Any, Any]] = {}
    for rid, p in robots.items():
        cmd = plan.get(RobotId(rid))
        cell = None if p is None else (int(p[0]), int(p[1]))
        if isinstance(cmd, EnterTrack) and cell is None:
            out[rid] = ((cmd.track, TARGET_COL), (cmd.track, 0))
        elif isinstance(cmd, EnterTarget) and cell is not None:
            out[rid] = (cell, (cell[0], TARGET_COL))
        elif isinstance(cmd, TrackMove) and cell is not None:
            out[rid] = (cell, (cell[0], cell[1] + (1 if cmd.direction == "right" else -1)))
        else:
            out[rid] = (cell, cell)
    return out


def swaps(trips: Mapping[str, tuple[Any, Any]]) -> list[tuple[str, str]]:
    """Pairs of robots (fleet order) that trade places in one step."""
    by_edge = {(a, b): rid for rid, (a, b) in trips.items() if a != b}
    out: list[tuple[str, str]] = []
    for rid, (a, b) in trips.items():
        other = by_edge.get((b, a)) if a != b else None
        if other is not None and (other, rid) not in out:
            out.append((rid, other))
    return out


def _place(cell: tuple[int, int]) -> str:
    return "the target" if cell[1] == TARGET_COL else f"track_{cell[0]} column_{cell[1]}"


def check(observation: Observation, plan: Mapping[RobotId, Command], physical: bool = True) -> list[str]:
    robots = observation.world["robots"]
    out: list[str] = []
    pickers: dict[tuple[float, int], list[RobotId]] = {}
    for rid, cmd in plan.items():
        if isinstance(cmd, PickBox):
            pickers.setdefault((cmd.row, cmd.col), []).append(rid)
    for (row, col), who in pickers.items():
        if len(who) > 1:
            out.append(f"box_{row:.1f}_{col} is picked by {' and '.join(who)} at once")
    trips = moves(robots, plan)
    end = {rid: b for rid, (_, b) in trips.items() if b is not None and b[1] != TARGET_COL}
    for cell, n in Counter(end.values()).items():
        if n > 1:
            names = " and ".join(r for r, c in end.items() if c == cell)
            out.append(f"{names} would collide on track_{cell[0]} column_{cell[1]}")
    if physical:
        for a, b in swaps(trips):
            here, there = trips[a]
            out.append(
                f"{a} and {b} would drive through each other between {_place(here)} and {_place(there)} "
                "(robots cannot swap places; one of them must wait or turn back)"
            )
    return out
