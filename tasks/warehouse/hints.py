"""Warehouse: action hints for small models (note, score; lower is better).

Collisions between robots are not judged here: the ranking asks the shield (``fleetmind.planners.llm.hints``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fleetmind.robots.commands import Command, EnterTarget, EnterTrack, PickBox, TrackMove
from fleetmind.robots.ids import RobotId
from fleetmind.tasks.boxnet1.hints import trend


def _columns(n: int) -> str:
    return f"{n} column" + ("" if n == 1 else "s")


def hint(robot: RobotId, cmd: Command, w: Mapping[str, Any]) -> tuple[str, float]:
    me = w["robots"][robot]
    boxes = [tuple(b) for b in w["boxes"]]
    if isinstance(cmd, PickBox):
        return "picks a box", -50.0
    if isinstance(cmd, EnterTarget):
        return ("delivers the box", -100.0) if me and me[2] else ("leaves the track empty-handed", 20.0)
    if isinstance(cmd, EnterTrack):
        cols = [c for r, c in boxes if abs(r - cmd.track) == 0.5]
        if not cols:
            return "no box along this track", 40.0
        return f"nearest box at column_{min(cols)}", float(min(cols))
    if isinstance(cmd, TrackMove) and me:
        track, col, carrying = me
        nxt = col + (1 if cmd.direction == "right" else -1)
        if carrying:
            return ("towards the target", -10.0) if cmd.direction == "left" else ("away from the target", 30.0)
        cols = [c for r, c in boxes if abs(r - track) == 0.5]
        if not cols:
            return "no box along this track", 25.0
        before, after = min(abs(c - col) for c in cols), min(abs(c - nxt) for c in cols)
        where = "then at a box (pick it next)" if after == 0 else f"then {_columns(after)} from the nearest box"
        return f"{where} ({trend(before, after)})", float(after - before) * 10 + after
    return "", 0.0
