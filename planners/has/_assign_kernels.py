"""numba kernels of the frontier baselines' choices (``planners/has/frontier.py: assign``): the per-robot choice of B1
nearest and B2 explore_lite, and B3's Burgard assignment with the utility drops computed only for the targets it
fixes. Plain arrays in and out; twins in ``tests/naive/explore.py``."""

from __future__ import annotations

import numpy as np
from fleetmind.planners.has._kernels import burgard_pick
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
def burgard_spread(cost, utility, rows, cols, radius, beta):  # pragma: no cover - compiled
    """``planners/has/_kernels.py: burgard(cost, utility, drop, beta)`` with Burgard's drop
    ``drop[j, k] = max(0, 1 - hypot(rows[j] - rows[k], cols[j] - cols[k]) / max(radius, 1))`` (``rows``/``cols``:
    ``(T,) int64`` the targets' cells) computed only for the S targets it fixes, not as a ``(T, T)`` matrix."""
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
