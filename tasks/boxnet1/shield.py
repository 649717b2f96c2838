"""BoxNet1: shield rules, pure: the end-of-step boxes predicted from the observation's world data and the plan.

Boxes never collide in BoxNet1 (a cell holds any number), so the rule is conservation: a robot moves only a box
that is in its own cell, and no cell gives away more boxes of a colour, or fills more targets of a colour, than it
holds. A plan made for another state (a stale observation, a robot that is not there) is refused here rather than
half executed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping

from fleetmind.robots.commands import Command, MoveBoxToCell, MoveBoxToTarget
from fleetmind.robots.fleet import Observation
from fleetmind.robots.ids import RobotId


def check(observation: Observation, plan: Mapping[RobotId, Command]) -> list[str]:
    w = observation.world
    cells = {rid: (int(rc[0]), int(rc[1])) for rid, rc in w["robots"].items()}
    boxes = Counter((int(r), int(c), colour) for r, c, colour in w["boxes"])
    targets = Counter((int(r), int(c), colour) for r, c, colour in w["targets"])
    taken: Counter[tuple[int, int, str]] = Counter()
    filled: Counter[tuple[int, int, str]] = Counter()
    out: list[str] = []
    for rid, cmd in plan.items():
        if not isinstance(cmd, MoveBoxToCell | MoveBoxToTarget):
            continue
        if rid not in cells:
            out.append(f"{rid} is not a robot of this grid; robots are {', '.join(cells)}")
            continue
        key = (*cells[rid], cmd.colour)
        taken[key] += 1
        if isinstance(cmd, MoveBoxToTarget):
            filled[key] += 1
    for (r, c, colour), n in taken.items():
        if n > boxes[(r, c, colour)]:
            held = boxes[(r, c, colour)]
            out.append(f"{n} box_{colour} would leave square[{r + 0.5:.1f}, {c + 0.5:.1f}], which holds {held}")
    for (r, c, colour), n in filled.items():
        if n > targets[(r, c, colour)]:
            out.append(
                f"{n} box_{colour} would go into target_{colour} of square[{r + 0.5:.1f}, {c + 0.5:.1f}], "
                f"which has {targets[(r, c, colour)]}"
            )
    return out
