"""Min-cost assignment (the Hungarian method): one kernel for every package that matches things to things
(HAS's frontier clusters to robots, a swarm formation's agents to shape points). Plain-Python twin:
``tests/naive/explore.py`` (``hungarian``), checked against every permutation in the swarm tests too."""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def hungarian(cost):  # pragma: no cover - compiled
    """Min-cost assignment of rows to columns (``cost``: ``(R, C) float64``, ``R <= C``): ``(R,) int64`` the column
    of each row. Shortest augmenting paths with potentials (Jonker-Volgenant style), O(R^2 C)."""
    r_n, c_n = cost.shape
    inf = np.inf
    u = np.zeros(r_n + 1)
    v = np.zeros(c_n + 1)
    p = np.zeros(c_n + 1, dtype=np.int64)  # p[j]: row (1-based) matched to column j; 0 none
    way = np.zeros(c_n + 1, dtype=np.int64)
    for i in range(1, r_n + 1):
        p[0] = i
        j0 = 0
        minv = np.full(c_n + 1, inf)
        used = np.zeros(c_n + 1, dtype=np.bool_)
        while True:
            used[j0] = True
            i0 = p[j0]
            delta = inf
            j1 = 0
            for j in range(1, c_n + 1):
                if not used[j]:
                    cur = cost[i0 - 1, j - 1] - u[i0] - v[j]
                    if cur < minv[j]:
                        minv[j] = cur
                        way[j] = j0
                    if minv[j] < delta:
                        delta = minv[j]
                        j1 = j
            for j in range(c_n + 1):
                if used[j]:
                    u[p[j]] += delta
                    v[j] -= delta
                else:
                    minv[j] -= delta
            j0 = j1
            if p[j0] == 0:
                break
        while True:
            j1 = way[j0]
            p[j0] = p[j1]
            j0 = j1
            if j0 == 0:
                break
    out = np.full(r_n, -1, dtype=np.int64)
    for j in range(1, c_n + 1):
        if p[j] > 0:
            out[p[j] - 1] = j - 1
    return out
