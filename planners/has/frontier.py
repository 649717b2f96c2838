"""Frontiers on the known map and the four ways the baselines give them to robots.

- B1 ``nearest`` (Yamauchi 1998): each robot takes the frontier cluster whose nearest cell is closest.
- B2 ``explore_lite`` (m-explore's frontier cost, reimplemented from its formula):
  ``cost = potential_scale * distance - gain_scale * size`` with its defaults 3.0 and 1.0; each robot alone.
- B3 ``utility`` (Burgard et al. 2005): every target starts with utility 1; repeatedly the (robot, target) pair of
  highest ``U(t) - beta * V(robot, t)`` (``V``: path cost scaled to [0, 1]) is fixed and the utility of targets
  within sensing range of it drops by ``1 - d / range``.
- B4 ``hungarian``: min-cost assignment of robots to frontier clusters (path cost), clusters repeated when robots
  outnumber them.

Distances are BFS steps over the known free cells from each robot to each cluster (:func:`cluster_costs`: one
search per robot that stops once it has reached every cluster and touches only the cells it visits); a cluster out
of reach is never chosen.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from fleetmind.planners.has._assign_kernels import burgard_spread, cheapest
from fleetmind.planners.has._kernels import (
    UNREACHED,
    WALL,
    bfs_known,
    cluster_reach,
    cluster_reach_into,
    frontier_cells,
    frontier_reps,
    hungarian,
    label_frontier,
    label_frontier_into,
)

METHODS: tuple[str, ...] = ("nearest", "explore_lite", "utility", "hungarian")


@dataclass(frozen=True)
class Frontiers:
    """``cells``: ``(K,) int64`` frontier cells; ``label``: ``(K,)`` their cluster; ``reps``: ``(T,)`` one cell per
    cluster (the member nearest the cluster's centroid); ``sizes``: ``(T,)`` cells per cluster."""

    cells: np.ndarray
    label: np.ndarray
    reps: np.ndarray
    sizes: np.ndarray


class ReachScratch:
    """Buffers the frontier labelling and the cluster searches reuse from call to call on one ``(H, W)`` map, so a
    planning step allocates nothing the size of the map (:func:`frontiers`, :func:`cluster_costs`)."""

    def __init__(self, h: int, w: int) -> None:
        self.h, self.w = h, w
        size = (h + 2) * (w + 2)
        self.slot = np.full(h * w, -1, dtype=np.int64)  # label_frontier_into: all -1 between calls
        self.dist = np.full(size, WALL, dtype=np.int32)  # the framed map: WALL off the free cells (stamps on them)
        self.tag = np.full(size, -1, dtype=np.int32)  # -1 but at ``tagged``
        self.tagged = np.zeros(0, dtype=np.int64)
        self.queue = np.empty(size, dtype=np.uint32)


def frontiers(
    known: np.ndarray, h: int, w: int, cells: np.ndarray | None = None, scratch: ReachScratch | None = None
) -> Frontiers:
    """The frontier of ``known`` (``(H*W,) int8``) in 4-connected clusters; ``cells``: its frontier cells when the
    caller has them already (:func:`frontier_cells`)."""
    cells = frontier_cells(known, h, w) if cells is None else cells
    if len(cells) == 0:
        empty = np.zeros(0, dtype=np.int64)
        return Frontiers(empty, empty, empty, empty)
    label = label_frontier(cells, h, w) if scratch is None else label_frontier_into(cells, h, w, scratch.slot)
    reps, sizes = frontier_reps(cells, label, int(label.max()) + 1, w)
    return Frontiers(cells, label, reps, sizes)


@dataclass(frozen=True)
class ClusterCosts:
    """BFS steps from each robot to each frontier cluster: ``near`` ``(S, T) int32`` to its nearest cell, ``to_rep``
    ``(S, T) int32`` to its representative (``UNREACHED`` where out of reach)."""

    near: np.ndarray
    to_rep: np.ndarray

    @staticmethod
    def from_fields(dist: np.ndarray, f: Frontiers) -> ClusterCosts:
        """From whole distance fields (``(S, H*W)``, :func:`distances`)."""
        if len(f.reps) == 0:
            empty = np.zeros((dist.shape[0], 0), dtype=np.int32)
            return ClusterCosts(empty, empty)
        return ClusterCosts(cluster_min(dist, f), dist[:, f.reps])


def cluster_costs(
    known: np.ndarray,
    h: int,
    w: int,
    sources: np.ndarray,
    f: Frontiers,
    slack: int = 2**30,
    scratch: ReachScratch | None = None,
) -> ClusterCosts:
    """:class:`ClusterCosts` of the robots at cells ``sources`` (``(S,) int64``), one bounded search each
    (:func:`cluster_reach`): the same numbers as :meth:`ClusterCosts.from_fields` without whole-map fields, up to
    ``slack`` steps beyond each robot's nearest cluster (:func:`slack_for`: what a method can still choose);
    ``scratch``: buffers kept across calls (nothing the size of the map allocated)."""
    src = np.ascontiguousarray(sources, dtype=np.int64)
    t = len(f.reps)
    if t == 0:
        empty = np.zeros((len(src), 0), dtype=np.int32)
        return ClusterCosts(empty, empty)
    if scratch is not None:
        s = scratch
        near, rep, s.tagged = cluster_reach_into(
            known, h, w, src, f.cells, f.label, f.reps, 2**30, min(slack, 2**30), s.dist, s.tag, s.queue, s.tagged
        )
        return ClusterCosts(near, rep)
    cluster_of = np.full(h * w, -1, dtype=np.int64)
    cluster_of[f.cells] = f.label
    rep_of = np.full(h * w, -1, dtype=np.int64)
    rep_of[f.reps] = np.arange(t)
    near, rep = cluster_reach(known, h, w, src, cluster_of, rep_of, t, 2**30, min(slack, 2**30))
    return ClusterCosts(near, rep)


def slack_for(method: str, f: Frontiers) -> int:
    """How far beyond its nearest cluster a robot's choice can lie: B1 takes the nearest (by ``d - 1e-3 size``),
    B2's cost ``3 d - size`` cannot beat the nearest once ``3 d`` exceeds it by more than the largest size; B3/B4
    weigh every cluster (no bound)."""
    if method == "nearest":  # ties within 1e-3 * size: a cluster of 1,000 cells outweighs one step
        return int(f.sizes.max()) // 1000 if len(f.sizes) else 0
    if method == "explore_lite":
        return int(f.sizes.max()) // 3 + 1 if len(f.sizes) else 0
    return 2**30


def distances(known: np.ndarray, h: int, w: int, sources: np.ndarray) -> np.ndarray:
    """``(S, H*W) int32`` BFS steps from each source over the known free cells."""
    return bfs_known(known, h, w, np.ascontiguousarray(sources, dtype=np.int64))


def cluster_min(dist: np.ndarray, f: Frontiers) -> np.ndarray:
    """``(S, T)`` distance from each source to the nearest cell of each cluster."""
    order = np.argsort(f.label, kind="stable")
    starts = np.searchsorted(f.label[order], np.arange(len(f.reps)))
    return np.minimum.reduceat(dist[:, f.cells[order]], starts, axis=1)


def assign(
    method: str,
    costs: ClusterCosts,
    f: Frontiers,
    w: int,
    radius: int,
    beta: float = 1.0,
    utility: np.ndarray | None = None,
) -> np.ndarray:
    """``(S,) int64`` the cluster each robot should go to (-1: none reachable). ``costs``: from
    :func:`cluster_costs` (one row per robot); ``utility``: ``(T,)`` what each cluster is still worth given the targets
    of other robots (default 1): the starting utility of ``utility``, a cost term of ``hungarian``."""
    s, t = costs.to_rep.shape[0], len(f.reps)
    out = np.full(s, -1, dtype=np.int64)
    if t == 0 or s == 0:
        return out
    if method in ("nearest", "explore_lite"):  # B1 by ``d - 1e-3 size``, B2 by explore_lite's ``3 d - size``
        a, b = (1.0, 1e-3) if method == "nearest" else (3.0, 1.0)
        return cheapest(costs.near, np.asarray(f.sizes, dtype=np.int64), a, b, int(UNREACHED))
    to_rep = costs.to_rep.astype(np.float64)
    # a cluster is connected known free space: reachable as a whole (B1/B2 searches may stop before its rep)
    reach = costs.near < UNREACHED
    if method == "utility":
        out = _burgard(to_rep, reach, f, w, radius, beta, utility)
    elif method == "hungarian":
        reps = np.tile(np.arange(t), -(-s // t))
        cost = np.where(reach, to_rep, 1e7)
        if utility is not None:  # clusters other robots already head for cost more (up to a map's width)
            cost = cost + (1.0 - np.clip(utility, 0.0, 1.0))[None, :] * max(w, 1)
        cost = cost[:, reps]
        out = reps[hungarian(np.ascontiguousarray(cost))]
    else:
        raise ValueError(f"unknown frontier method {method!r}; choose one of {', '.join(METHODS)}")
    out = np.where(reach[np.arange(s), np.maximum(out, 0)], out, -1)
    return out.astype(np.int64)


def seen_share(d: np.ndarray, radius: int) -> np.ndarray:
    """Burgard's ``P(d)``: the share of a target a robot sensing at distance ``d`` of it would see."""
    return np.clip(1.0 - d / max(radius, 1), 0.0, None)


def _burgard(
    to_rep: np.ndarray,
    reach: np.ndarray,
    f: Frontiers,
    w: int,
    radius: int,
    beta: float,
    start: np.ndarray | None = None,
) -> np.ndarray:
    t = to_rep.shape[1]
    utility = np.ones(t) if start is None else np.asarray(start, dtype=np.float64)
    top = to_rep[reach].max() if reach.any() else 1.0
    v = np.where(reach, to_rep / max(top, 1.0), np.inf)
    rr, rc = np.divmod(f.reps, w)  # the drop around each fixed target: seen_share of the distance between targets
    return burgard_spread(
        np.ascontiguousarray(v), np.ascontiguousarray(utility, dtype=np.float64), rr, rc, int(radius), float(beta)
    )
