"""The five HAS missions as one pure state machine: what counts as found or reached, when an episode ends and the
figures it reports. The world (:mod:`fleetmind.sim.explore`) calls :meth:`MissionState.update` after every step.

- explore / reorg: done at 99% coverage of the reachable free cells; success at 90%. T50/T90/T99: the steps at
  which coverage first reached 50/90/99% (``None``: never).
- multi_search: a target is found when a robot sees its cell; done when every target is found.
- sequential: only the current target is public; it is reached when a robot stands on its cell, and the next one is
  revealed. Done after the last.
- described_goal: the goal (words or a patch) is reached when a robot stands on its cell. SPL-style score:
  ``success * L / max(L, T)``, ``L`` the shortest path from the nearest start to the goal, ``T`` the steps taken.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from fleetmind.tasks.has.maps import ExploreMap

THRESHOLDS = (0.5, 0.9, 0.99)


@dataclass
class MissionState:
    mission: str
    emap: ExploreMap
    goal_form: str = "words"
    shortest: int = 0
    """described_goal: the shortest path length from the nearest start to the goal (set by the world)."""
    coverage: float = 0.0
    t_cov: dict[float, int | None] = field(default_factory=lambda: dict.fromkeys(THRESHOLDS))
    found: dict[int, int] = field(default_factory=dict)
    """Target object id -> the step it was found (multi_search) or reached (sequential, described_goal)."""
    index: int = 0
    """sequential: the current target's place in the sequence."""

    @property
    def targets(self) -> tuple[int, ...]:
        return self.emap.targets

    def public(self) -> dict[str, Any]:
        """What every planner is told about the goal (no positions)."""
        objs = self.emap.objects
        if self.mission == "multi_search":
            return {"targets": [list(objs[t].attrs()) for t in self.targets]}
        if self.mission == "sequential":
            if self.index >= len(self.targets):
                return {"target": None, "index": self.index, "of": len(self.targets)}
            return {
                "target": list(objs[self.targets[self.index]].attrs()),
                "index": self.index,
                "of": len(self.targets),
            }
        if self.mission == "described_goal":
            goal = objs[self.targets[0]]
            if self.goal_form == "patch":
                return {"patch": list(self.emap.patch(goal)), "kind": goal.kind}
            return {"text": self.emap.describe(goal), "attrs": list(goal.attrs())}
        return {}

    def update(self, step: int, coverage: float, seen: np.ndarray, robot_cells: np.ndarray) -> list[str]:
        """Advance after a step. ``seen``: ``(H*W,) bool`` cells visible this step; ``robot_cells``: ``(M,) int64``
        cells of the online robots. Returns event lines (``found ...``, ``reached ...``)."""
        self.coverage = coverage
        for t in THRESHOLDS:
            if self.t_cov[t] is None and coverage >= t:
                self.t_cov[t] = step
        w = self.emap.shape[1]
        events: list[str] = []
        here = set(robot_cells.tolist())
        objs = self.emap.objects
        if self.mission == "multi_search":
            for t in self.targets:
                r, c = objs[t].cell
                if t not in self.found and seen[r * w + c]:
                    self.found[t] = step
                    events.append(f"found {objs[t].label} at {objs[t].cell}")
        elif self.mission in ("sequential", "described_goal"):
            while self.index < len(self.targets):
                t = self.targets[self.index]
                r, c = objs[t].cell
                if r * w + c not in here:
                    break
                self.found[t] = step
                events.append(f"reached {objs[t].label} at {objs[t].cell}")
                self.index += 1
                if self.mission == "described_goal":
                    break
        return events

    @property
    def done(self) -> bool:
        if self.mission in ("explore", "reorg"):
            return self.coverage >= THRESHOLDS[-1]
        if self.mission == "described_goal":
            return self.targets[0] in self.found
        return len(self.found) == len(self.targets)

    @property
    def success(self) -> bool:
        if self.mission in ("explore", "reorg"):
            return self.t_cov[0.9] is not None
        return self.done

    def metrics(self, steps: int) -> dict[str, Any]:
        out: dict[str, Any] = {
            "coverage": round(self.coverage, 4),
            "t50": self.t_cov[0.5],
            "t90": self.t_cov[0.9],
            "t99": self.t_cov[0.99],
        }
        if self.mission in ("multi_search", "sequential", "described_goal"):
            found = sorted(self.found.values())
            out["targets_found"] = len(found)
            out["time_to_find"] = found[-1] if self.done and found else None
            out["targets_per_1000_steps"] = round(1000.0 * len(found) / max(1, steps), 2)
        if self.mission == "described_goal":
            ok = self.done
            taken = self.found.get(self.targets[0], steps)
            out["spl"] = round(self.shortest / max(self.shortest, taken), 4) if ok and self.shortest else 0.0
        return out
