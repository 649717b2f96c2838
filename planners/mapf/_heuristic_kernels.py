"""numba kernels of cost-to-go rows: at warehouse scale exact Dijkstra rows with one FIFO queue per distinct cell
cost (Dinitz's multiple-queue variant of Dial's algorithm), each cell queued once; the plain binary-heap Dijkstra
(:func:`dijkstra_distances`, :func:`dijkstra_rows`) and its heap (``_push``/``_pop``, shared with the A* searches of
``_kernels.py``, ``_follower_kernels.py`` and ``_lns_kernels.py``).

The multiple-queue rows have the same integer costs and the same result as :func:`dijkstra_distances` (twin:
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


@njit(cache=True)
def _push(heap_f, heap_c, size, f, c):  # pragma: no cover - compiled
    k = size
    heap_f[k] = f
    heap_c[k] = c
    while k > 0:
        p = (k - 1) // 2
        if heap_f[p] <= heap_f[k]:
            break
        heap_f[p], heap_f[k] = heap_f[k], heap_f[p]
        heap_c[p], heap_c[k] = heap_c[k], heap_c[p]
        k = p
    return size + 1


@njit(cache=True)
def _pop(heap_f, heap_c, size):  # pragma: no cover - compiled
    c = heap_c[0]
    size -= 1
    heap_f[0] = heap_f[size]
    heap_c[0] = heap_c[size]
    k = 0
    while True:
        a, b, m = 2 * k + 1, 2 * k + 2, k
        if a < size and heap_f[a] < heap_f[m]:
            m = a
        if b < size and heap_f[b] < heap_f[m]:
            m = b
        if m == k:
            break
        heap_f[m], heap_f[k] = heap_f[k], heap_f[m]
        heap_c[m], heap_c[k] = heap_c[k], heap_c[m]
        k = m
    return c, size


@njit(cache=True)
def dijkstra_distances(nbr, icost, goal, out, scale):  # pragma: no cover - compiled
    """Exact cost-to-go to ``goal`` when entering cell v costs ``icost[v]`` (``(C,) int64``, >= 1): Dijkstra with a
    bucket queue (Dial's algorithm; costs are small integers, so no heap).

    Writes ``out`` (``(C,)`` float row): the cost-to-go divided by ``scale``, ``1e30`` where the goal cannot be
    reached. Moves are symmetric, so a search from the goal gives every cell's cost to reach it.
    """
    c_total = nbr.shape[0]
    span = 1
    for c in range(c_total):
        if icost[c] + 1 > span:
            span = icost[c] + 1  # buckets in flight never lie further apart than one step's cost
    dist = np.full(c_total, np.iinfo(np.int64).max)
    head = np.full(span, -1, dtype=np.int64)  # each bucket: a linked list of queue entries
    e_cell = np.empty(4 * c_total + 1, dtype=np.int64)
    e_next = np.empty(4 * c_total + 1, dtype=np.int64)
    dist[goal] = 0
    e_cell[0], e_next[0], head[0] = goal, -1, 0
    entries, pending, cur = 1, 1, 0
    while pending > 0:
        b = cur % span
        while head[b] != -1:
            e = head[b]
            head[b] = e_next[e]
            pending -= 1
            c = e_cell[e]
            if dist[c] != cur:
                continue  # a stale entry: c was reached cheaper since
            nd = cur + icost[c]  # the reverse move v -> c enters c
            for k in range(1, 5):
                v = nbr[c, k]
                if v >= 0 and nd < dist[v]:
                    dist[v] = nd
                    e_cell[entries], e_next[entries] = v, head[nd % span]
                    head[nd % span] = entries
                    entries += 1
                    pending += 1
        cur += 1
    for c in range(c_total):
        out[c] = 1e30 if dist[c] == np.iinfo(np.int64).max else dist[c] / scale


@njit(cache=True)
def dijkstra_rows(nbr, icost, goals, rows, pool, scale):  # pragma: no cover - compiled
    """:func:`dijkstra_distances` for each ``goals[m]`` into ``pool[rows[m]]``."""
    for m in range(goals.shape[0]):
        dijkstra_distances(nbr, icost, goals[m], pool[rows[m]], scale)
