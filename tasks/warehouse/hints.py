"""Warehouse: action hints for small models (note, score; lower is better)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fleetmind.robots.commands import Command, EnterTarget, EnterTrack, PickBox, TrackMove
from fleetmind.robots.ids import RobotId


def hint(robot: RobotId, cmd: Command, w: Mapping[str, Any]) -> tuple[str, float]:
    me = w["robots"][robot]
    boxes = [tuple(b) for b in w["boxes"]]
    if isinstance(cmd, PickBox):
        return "picks a box", -50.0
    if isinstance(cmd, EnterTarget):
        return ("delivers the box", -100.0) if me and me[2] else ("leaves the track empty-handed", 20.0)
    if isinstance(cmd, EnterTrack):
        cols = [c for r, c in boxes if abs(r - cmd.track) == 0.5]
        return (f"nearest box {min(cols)} columns in", float(min(cols))) if cols else ("no box along this track", 40.0)
    if isinstance(cmd, TrackMove) and me:
        track, col, carrying = me
        nxt = col + (1 if cmd.direction == "right" else -1)
        if carrying:
            return ("towards the target", -10.0) if cmd.direction == "left" else ("away from the target", 30.0)
        cols = [c for r, c in boxes if abs(r - track) == 0.5]
        if not cols:
            return "no box along this track", 25.0
        before, after = min(abs(c - col) for c in cols), min(abs(c - nxt) for c in cols)
        return (
            f"box {after} columns away" + (" (closer)" if after < before else ""),
            float(after - before) * 10 + after,
        )
    return "", 0.0
