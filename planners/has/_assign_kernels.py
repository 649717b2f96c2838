"""numba kernels of the frontier baselines' choices (``planners/has/frontier.py: assign``): the per-robot choice of B1
nearest and B2 explore_lite, B3's Burgard assignment (also with the utility drops computed only for the targets it
fixes), and B1/B2's whole step of goals. Plain arrays in and out; twins in ``tests/naive/explore.py``."""

from __future__ import annotations

import numpy as np
from fleetmind.planners.has._kernels import (
    UNREACHED,
    cluster_reach_into,
    frontier_reps,
    label_frontier_into,
)
from numba import njit


@njit(cache=True)
def cheapest(near, sizes, a, b, unreached):  # pragma: no cover - compiled
    """``(S,) int64``: per robot (row of ``near``, ``(S, T)`` steps to each cluster's nearest cell) the cluster of
    least ``a * near - b * size`` (``sizes``: ``(T,) int64``) among those it reaches (``near < unreached``); the first
    on a tie, -1 where it reaches none."""
    s, t = near.shape
    out = np.full(s, -1, dtype=np.int64)
    for i in range(s):
        best = np.inf
        for j in range(t):
            if near[i, j] >= unreached:
                continue
            cost = a * np.float64(near[i, j]) - b * np.float64(sizes[j])
            if out[i] < 0 or cost < best:
                best = cost
                out[i] = j
    return out


@njit(cache=True)
def burgard_pick(cost, u, free, beta):  # pragma: no cover - compiled
    """The free (robot, target) pair of highest ``u - beta * cost`` (first in row-major order on ties; -1, -1: none
    above ``-inf``)."""
    s, t = cost.shape
    best = -np.inf
    bi, bj = -1, -1
    for i in range(s):
        if not free[i]:
            continue
        for j in range(t):
            score = u[j] - beta * cost[i, j]
            if score > best:
                best, bi, bj = score, i, j
    return bi, bj


@njit(cache=True)
def burgard_spread(cost, utility, rows, cols, radius, beta):  # pragma: no cover - compiled
    """Burgard et al.'s coordinated assignment of S robots to T targets: ``cost`` ``(S, T)`` (``inf``: unreachable),
    ``utility`` ``(T,)`` each target's utility. Repeatedly fixes the free (robot, target) pair of highest
    ``utility - beta * cost`` (first in row-major order on ties) and lowers every target's utility by Burgard's drop
    ``max(0, 1 - hypot(rows[j] - rows[k], cols[j] - cols[k]) / max(radius, 1))`` around the fixed target ``j``
    (``rows``/``cols``: ``(T,) int64`` the targets' cells), computed only for the S targets it fixes, not as a
    ``(T, T)`` matrix. ``(S,) int64`` target per robot (-1: none)."""
    s, t = cost.shape
    u = utility.copy()
    out = np.full(s, -1, dtype=np.int64)
    free = np.ones(s, dtype=np.bool_)
    r = np.float64(max(radius, 1))
    for _ in range(s):
        bi, bj = burgard_pick(cost, u, free, beta)
        if bi < 0:
            break
        out[bi] = bj
        free[bi] = False
        for j in range(t):
            share = 1.0 - np.hypot(np.float64(rows[bj] - rows[j]), np.float64(cols[bj] - cols[j])) / r
            u[j] -= share if share > 0.0 else 0.0
    return out


@njit(cache=True)
def goals_alone(
    goal,
    active,
    positions,
    w,
    known,
    h,
    fcells,
    fmask,
    replan,
    a,
    b,
    slack_div,
    slack_add,
    slot,
    dist,
    tag,
    queue,
    tagged,
):  # pragma: no cover - compiled
    """One step of B1/B2's goals on one shared map (``planners/has/baselines.py: FrontierCore.goals`` for a method
    that plans each robot alone) in one call: with ``replan`` every online robot, else those whose ``goal`` (``(N,)
    int64``, updated in place) is unset, reached or no longer a frontier cell (``fmask``), gets the cluster of least
    ``a * near - b * size`` (:func:`cheapest`) among the clusters of the frontier cells ``fcells`` (labelled on the
    kept ``slot``, searched on the kept framed map ``dist``/``tag``/``queue``, ``tagged`` as in
    ``cluster_reach_into``), searched up to ``largest size // slack_div + slack_add`` steps beyond the nearest one,
    and heads for its representative (-1: none reached). Returns the framed cells tagged now (the next ``tagged``)."""
    n = active.shape[0]
    robots = np.empty(n, dtype=np.int64)
    m = 0
    for i in range(n):
        if not active[i]:
            continue
        g = goal[i]
        if replan or g < 0 or g == positions[i, 0] * w + positions[i, 1] or not fmask[g]:
            robots[m] = i
            m += 1
    if m == 0:
        return tagged
    robots = robots[:m]
    src = np.empty(m, dtype=np.int64)
    for k in range(m):
        goal[robots[k]] = -1
        src[k] = positions[robots[k], 0] * w + positions[robots[k], 1]
    if fcells.shape[0] == 0:
        return tagged
    label = label_frontier_into(fcells, h, w, slot)
    t = label.max() + 1
    reps, sizes = frontier_reps(fcells, label, t, w)
    slack = min(sizes.max() // slack_div + slack_add, 2**30)
    near, _, tagged = cluster_reach_into(
        known, h, w, src, fcells, label, reps, np.int64(2**30), slack, dist, tag, queue, tagged
    )  # np.int64: a literal 2**30 compiles cluster_reach_into a 2nd time (Python callers' ints are int64)
    choice = cheapest(near, sizes, a, b, UNREACHED)
    for k in range(m):
        goal[robots[k]] = reps[choice[k]] if choice[k] >= 0 else -1
    return tagged
