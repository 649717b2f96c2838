"""numba kernels of the HAS planners and the frontier baselines: frontier cells, BFS on the known free cells, and
the Hungarian (min-cost) assignment. Plain arrays in and out; twins in ``tests/naive/explore.py``.

Known map codes (``(H*W,) int8``): -1 unknown, 0 free, 1 wall.
"""

from __future__ import annotations

import numpy as np
from numba import njit

UNREACHED = np.int32(2**30)


@njit(cache=True)
def frontier_cells(known, h, w):  # pragma: no cover - compiled
    """``(K,) int64`` row-major indices of the frontier: known free cells with an unknown 4-neighbour (cells on the
    map's edge do not count the outside as unknown), in row-major order."""
    out = np.empty(h * w, dtype=np.int64)
    n = 0
    for r in range(h):
        for c in range(w):
            cell = r * w + c
            if known[cell] != 0:
                continue
            if (
                (r > 0 and known[cell - w] < 0)
                or (r < h - 1 and known[cell + w] < 0)
                or (c > 0 and known[cell - 1] < 0)
                or (c < w - 1 and known[cell + 1] < 0)
            ):
                out[n] = cell
                n += 1
    return out[:n]


@njit(cache=True)
def bfs_known(known, h, w, sources):  # pragma: no cover - compiled
    """``(S, H*W) int32`` 4-connected step distances from each source cell over the known free cells
    (``UNREACHED`` elsewhere); a source on a cell that is not known free reaches nothing."""
    s = sources.shape[0]
    dist = np.full((s, h * w), UNREACHED, dtype=np.int32)
    queue = np.empty(h * w, dtype=np.int64)
    for k in range(s):
        src = sources[k]
        if src < 0 or known[src] != 0:
            continue
        d = dist[k]
        d[src] = 0
        queue[0] = src
        head, tail = 0, 1
        while head < tail:
            cell = queue[head]
            head += 1
            r, c = cell // w, cell % w
            nd = d[cell] + 1
            if r > 0 and known[cell - w] == 0 and d[cell - w] == UNREACHED:
                d[cell - w] = nd
                queue[tail] = cell - w
                tail += 1
            if r < h - 1 and known[cell + w] == 0 and d[cell + w] == UNREACHED:
                d[cell + w] = nd
                queue[tail] = cell + w
                tail += 1
            if c > 0 and known[cell - 1] == 0 and d[cell - 1] == UNREACHED:
                d[cell - 1] = nd
                queue[tail] = cell - 1
                tail += 1
            if c < w - 1 and known[cell + 1] == 0 and d[cell + 1] == UNREACHED:
                d[cell + 1] = nd
                queue[tail] = cell + 1
                tail += 1
    return dist


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
