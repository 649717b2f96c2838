"""A group's leader as the coordinated-frontier heuristic (HAS, for robots): it deploys only its own members, to
the group's goal object when it has one, else to frontier clusters in its region with Burgard-style utility (so
members spread), the mission's semantics added (:func:`.goals.cluster_prior`). :class:`.leaders.LLMLeader` asks a
model and falls back to this one."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from fleetmind.planners.has.baselines import nearest_robot
from fleetmind.planners.has.frontier import Frontiers, assign, cluster_costs, seen_share
from fleetmind.planners.has.platform import Group, InfoPlatform


class LeaderError(AssertionError):
    """A leader assigned a robot outside its group (a bug, never a model's doing)."""


class Leader:
    """The coordinated-frontier heuristic of one group."""

    def __init__(
        self,
        group: Group,
        radius: int,
        focus: float = 0.5,
        prior: Callable[[InfoPlatform, Frontiers], np.ndarray | None] | None = None,
        beta: float = 1.0,
    ) -> None:
        self.group = group
        self.radius = radius
        self.focus = focus
        self.prior = prior
        self.beta = beta

    def assign(
        self, p: InfoPlatform, f: Frontiers, members: np.ndarray, taken: list[int] | None = None, step: int = 0
    ) -> dict[int, int]:
        """Goal cell per member index (members: indices of the group's online robots). Clusters in the group's
        region weigh ``1 + focus``, others 1, less what the targets in ``taken`` (other groups' goals) would
        already see. ``step``: unused (the LLM leader's signature)."""
        taken = taken or []
        out: dict[int, int] = {}
        if len(members) == 0:
            return out
        g = self.group
        rest = members
        if g.goal is not None and g.goal in p.objects:
            cell = p.objects[g.goal].cell
            first = nearest_robot(p, cell, members)
            out[first] = cell[0] * p.w + cell[1]
            rest = members[members != first]
        if len(rest) and len(f.reps):
            top, left, bottom, right = g.region
            rr, rc = np.divmod(f.reps, p.w)
            inside = (rr >= top) & (rr <= bottom) & (rc >= left) & (rc <= right)
            if not inside.any():  # nothing to explore inside yet: the clusters nearest to the region weigh more
                d = np.abs(rr - (top + bottom) / 2) + np.abs(rc - (left + right) / 2)
                inside = np.zeros(len(f.reps), dtype=bool)
                inside[np.argsort(d, kind="stable")[: max(2, len(rest))]] = True
            utility = 1.0 + self.focus * inside
            extra = self.prior(p, f) if self.prior is not None else None
            if extra is not None:  # the mission's semantics (goals.cluster_prior): described room, clue regions
                utility = utility + extra
            if len(taken):  # targets other leaders already gave out (on the platform): discounted, as in Burgard
                tr, tc = np.divmod(np.asarray(taken, dtype=np.int64), p.w)
                d = np.hypot(rr[:, None] - tr[None, :], rc[:, None] - tc[None, :])
                utility = utility - seen_share(d, self.radius).sum(axis=1)
            src = p.positions[rest, 0] * p.w + p.positions[rest, 1]
            costs = cluster_costs(p.known, p.h, p.w, src, f)
            choice = assign("utility", costs, f, p.w, self.radius, beta=self.beta, utility=utility)
            for i, c in zip(rest.tolist(), choice.tolist(), strict=True):
                if c >= 0:
                    out[i] = int(f.reps[c])
        if not set(out) <= set(members.tolist()):
            raise LeaderError(f"leader {g.leader} assigned robots outside group {g.name}")
        return out
