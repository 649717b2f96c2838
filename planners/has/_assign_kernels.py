"""numba kernel of the frontier baselines' per-robot choice (B1 nearest, B2 explore_lite: ``planners/has/frontier.py:
assign``). Plain arrays in and out; twin in ``tests/naive/explore.py``."""

from __future__ import annotations

import numpy as np
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
