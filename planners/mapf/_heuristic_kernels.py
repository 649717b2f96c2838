"""numba kernel of the cost-to-go cache at warehouse scale: exact Dijkstra rows with one FIFO queue per distinct
cell cost (Dinitz's multiple-queue variant of Dial's algorithm), each cell queued once.

Same integer costs and the same result as :func:`fleetmind.planners.mapf._kernels.dijkstra_distances` (twin:
``tests/naive/mapf_planners.py`` ``dijkstra_distances``), about an order of magnitude faster on 70,000-cell maps: the
search touches each cell once, reads sequential queues instead of a linked bucket list and keeps 32-bit scratch.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange


@njit(cache=True)
def cost_classes(icost, blocked_flat):  # pragma: no cover - compiled
    """``icost`` (``(C,) int64``) of the free cells -> (``values`` ``(K,) int64`` the distinct costs, ``klass``
    ``(C,) int32`` each cell's index into ``values`` (-1 on blocked cells), ``starts`` ``(K + 1,) int64`` each
    class's segment in a queue of C cells: class k holds at most as many cells as have that cost)."""
    c_total = icost.shape[0]
    values = np.unique(icost[~blocked_flat])
    klass = np.full(c_total, -1, dtype=np.int32)
    counts = np.zeros(values.shape[0] + 1, dtype=np.int64)
    for c in range(c_total):
        if blocked_flat[c]:
            continue
        k = np.searchsorted(values, icost[c])
        klass[c] = k
        counts[k + 1] += 1
    return values, klass, np.cumsum(counts)


@njit(cache=True)
def multiqueue_rows(nbr4, values, klass, starts, goals, rows, pool, scale):  # pragma: no cover - compiled
    """For each ``goals[m]``: exact cost-to-go when entering cell v costs ``values[klass[v]]``, divided by
    ``scale``, into ``pool[rows[m]]`` (``1e30`` where the goal cannot be reached).

    ``nbr4``: ``(C, 4) int32`` the 4 neighbours (-1 where blocked). A settled cell c offers ``d(c) + cost(c)`` to
    its neighbours (the reverse move enters c); it waits in the FIFO queue of its cost class, where keys arrive in
    non-decreasing order, so the smallest key is always at the head of one of the K queues and the first offer a
    cell receives is its distance.
    """
    c_total = nbr4.shape[0]
    k_total = values.shape[0]
    unset = np.int32(-1)
    dist = np.empty(c_total, dtype=np.int32)
    queue = np.empty(c_total, dtype=np.int32)
    qkey = np.empty(c_total, dtype=np.int32)  # the key each queued cell offers: dist + its cost
    head = np.empty(k_total, dtype=np.int64)
    tail = np.empty(k_total, dtype=np.int64)
    vals = values.astype(np.int32)
    for m in range(goals.shape[0]):
        goal = goals[m]
        dist[:] = unset
        head[:] = starts[:k_total]
        tail[:] = starts[:k_total]
        out = pool[rows[m]]
        if klass[goal] < 0:  # a blocked goal: nothing reaches it (it has no neighbours)
            out[:] = 1e30
            out[goal] = 0.0
            continue
        dist[goal] = 0
        k = klass[goal]
        queue[tail[k]] = goal
        qkey[tail[k]] = vals[k]
        tail[k] += 1
        while True:
            key = np.int32(2**31 - 1)  # the smallest key at a queue head; every entry with it is popped now
            for k in range(k_total):
                if head[k] < tail[k] and qkey[head[k]] < key:
                    key = qkey[head[k]]
            if key == 2**31 - 1:
                break
            for k in range(k_total):  # new entries get keys above ``key`` (costs are >= 1): no queue refills here
                while head[k] < tail[k] and qkey[head[k]] == key:
                    c = queue[head[k]]
                    head[k] += 1
                    for q in range(4):
                        v = nbr4[c, q]
                        if v >= 0 and dist[v] == unset:
                            dist[v] = key
                            kv = klass[v]
                            queue[tail[kv]] = v
                            qkey[tail[kv]] = key + vals[kv]
                            tail[kv] += 1
        for c in range(c_total):
            out[c] = 1e30 if dist[c] == unset else dist[c] / scale


@njit(cache=True, parallel=True)
def multiqueue_rows_parallel(nbr4, values, klass, starts, goals, rows, pool, scale, threads):  # pragma: no cover
    """:func:`multiqueue_rows` with the goals dealt round-robin to ``threads`` threads (each row is milliseconds of
    work, so threads pay off from two rows on; each thread keeps its own scratch)."""
    for t in prange(threads):
        multiqueue_rows(nbr4, values, klass, starts, goals[t::threads], rows[t::threads], pool, scale)
