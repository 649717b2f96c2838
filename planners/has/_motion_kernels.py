"""numba kernels of the HAS motion (``planners/has/motion.py``) that work on buffers the motion keeps across steps:
the neighbour table updated only around cells whose status changed, and PIBT's step (the MAPF planners'
``pibt_preferences`` and ``pibt_step``, same search, same answers) on occupancy tables left clean after each call.
Plain arrays in and out; twins in ``tests/naive/mapf_planners.py`` (the same searches, on fresh buffers).
"""

from __future__ import annotations

import numpy as np
from fleetmind.planners.mapf._kernels import _pibt
from numba import njit


@njit(cache=True)
def update_neighbours(nbr, blocked, h, w, cells):  # pragma: no cover - compiled
    """Bring ``nbr`` (``(H*W, 5) int64``, ``neighbour_table`` of an earlier map) up to date for ``blocked``
    (``(H*W,) bool``) when only the cells in ``cells`` (``(K,) int64``) changed status: their rows and their
    4-neighbours' rows are written again, as ``neighbour_table`` writes them (every slot -1 on a blocked cell)."""
    dr = (0, -1, 1, 0, 0)
    dc = (0, 0, 0, -1, 1)
    for k in range(cells.shape[0]):
        r0, c0 = cells[k] // w, cells[k] % w
        for m in range(5):
            r, c = r0 + dr[m], c0 + dc[m]
            if r < 0 or r >= h or c < 0 or c >= w:
                continue
            x = r * w + c
            for s in range(5):
                nbr[x, s] = -1
            if blocked[x]:
                continue
            for s in range(5):
                nr, nc = r + dr[s], c + dc[s]
                if 0 <= nr < h and 0 <= nc < w and not blocked[nr * w + nc]:
                    nbr[x, s] = nr * w + nc


@njit(cache=True)
def pibt_move_into(
    pos, nbr, dist, drow, noise, w_occupied, priority_order, goal, swap, occ_now, occ_next, count
):  # pragma: no cover - compiled
    """``pibt_preferences(pos, nbr, dist, drow, noise, w_occupied)`` then ``pibt_step`` with those preferences
    (``(N,) int64`` chosen slots, all -1 if none is conflict-free), on the caller's ``(C,) int64`` tables
    ``occ_now``/``occ_next`` (all -1) and ``count`` (all 0): only the cells the agents stand on or next to are
    touched, and they are reset before returning, so the tables are ready for the next call."""
    n = pos.shape[0]
    for i in range(n):
        occ_now[pos[i]] = i
    order = np.empty((n, 5), dtype=np.int64)
    key = np.empty(5)
    for i in range(n):
        row = dist[drow[i]]
        for s in range(5):
            v = nbr[pos[i], s]
            if v < 0:
                key[s] = np.inf
            else:
                key[s] = float(row[v]) + noise[i, s] + (w_occupied if occ_now[v] != -1 else 0.0)
        order[i] = np.argsort(key, kind="mergesort")
    nxt = np.full(n, -1, dtype=np.int64)
    st_agent = np.empty(n + 1, dtype=np.int64)
    st_t = np.empty(n + 1, dtype=np.int64)
    st_swap = np.empty(n + 1, dtype=np.int64)
    for m in range(n):
        i = priority_order[m]
        if nxt[i] == -1:
            _pibt(i, pos, order, nbr, nxt, occ_now, occ_next, goal, dist, drow, swap, st_agent, st_t, st_swap)
    slot = np.full(n, -1, dtype=np.int64)
    ok = True
    for i in range(n):
        v = nxt[i]
        count[v] += 1
        if count[v] > 1:
            ok = False
            break
        j = occ_now[v]
        if j != -1 and j != i and nxt[j] == pos[i]:
            ok = False
            break
        for s in range(5):
            if nbr[pos[i], s] == v:
                slot[i] = s
    for i in range(n):  # every cell PIBT reserved is an agent's cell or one of its neighbours
        for s in range(5):
            v = nbr[pos[i], s]
            if v >= 0:
                occ_next[v] = -1
        occ_next[pos[i]] = -1
        occ_now[pos[i]] = -1
        if nxt[i] >= 0:
            count[nxt[i]] = 0
    if not ok:
        slot[:] = -1
    return slot
