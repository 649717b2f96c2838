"""Warehouse: shield rules, pure: the end-of-step state predicted from the observation's world data and the plan."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping

from fleetmind.robots.commands import Command, EnterTarget, EnterTrack, PickBox, TrackMove
from fleetmind.robots.fleet import Observation
from fleetmind.robots.ids import RobotId


def check(observation: Observation, plan: Mapping[RobotId, Command]) -> list[str]:
    pos = observation.world["robots"]
    out: list[str] = []
    pickers: dict[tuple[float, int], list[RobotId]] = {}
    end: dict[RobotId, tuple[int, int] | None] = {}
    for rid, p in pos.items():
        cmd = plan.get(rid)
        cell = None if p is None else (p[0], p[1])
        if isinstance(cmd, EnterTrack):
            cell = (cmd.track, 0)
        elif isinstance(cmd, EnterTarget):
            cell = None
        elif isinstance(cmd, TrackMove) and cell is not None:
            cell = (cell[0], cell[1] + (1 if cmd.direction == "right" else -1))
        elif isinstance(cmd, PickBox):
            pickers.setdefault((cmd.row, cmd.col), []).append(rid)
        end[rid] = cell
    for (row, col), robots in pickers.items():
        if len(robots) > 1:
            out.append(f"box_{row:.1f}_{col} is picked by {' and '.join(robots)} at once")
    for cell, n in Counter(c for c in end.values() if c is not None).items():
        if n > 1:
            names = " and ".join(r for r, c in end.items() if c == cell)
            out.append(f"{names} would collide on track_{cell[0]} column_{cell[1]}")
    return out
