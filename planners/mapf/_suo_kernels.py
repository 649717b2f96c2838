"""numba kernel of LaCAM3's space utilisation optimisation (SUO; Han & Yu, ICRA 2022; Okumura 2024), which
gives LaCAM*'s first-solution search a preferred next cell per agent (:func:`scatter_slots`). Plain arrays in and
out; twin in ``tests/naive/refine_planners.py``.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def _scatter_cost(occ, rest, t, u):  # pragma: no cover - compiled
    """Others met on entering ``u`` at time ``t``: those planned there then, and one resting there for good."""
    cost = np.int64(occ[t, u]) if t < occ.shape[0] else np.int64(0)
    if rest[u] < t:
        cost += 1
    return cost


@njit(cache=True)
def scatter_slots(start, goal, dist, nbr, margin, orders):  # pragma: no cover - compiled
    """Space utilisation optimisation (Han & Yu, ICRA 2022; the SUO stage of LaCAM3, Okumura 2024), re-implemented:
    each agent in turn (``orders``: ``(L, N)``, one order per round, at most L rounds) takes a path on the graph, at
    most ``margin`` steps longer than its shortest, that meets the fewest others on the paths of the rest (planned in
    cell and time; one resting on its goal for good is met by whoever enters it later), then the fewest steps; rounds
    go on while the meetings drop (two at least). Swaps are not counted. Ties go to the lower cell.

    Returns ``(N, C) int8``: the slot (``nbr`` column) of each agent's next cell on its path from each cell of the
    path, -1 elsewhere (PIBT tries that slot first)."""
    n = start.shape[0]
    c_total = nbr.shape[0]
    top = 0
    for i in range(n):
        top = max(top, dist[i, start[i]] + margin)
    occ = np.zeros((top + 1, c_total), dtype=np.int32)
    rest = np.full(c_total, 1 << 40, dtype=np.int64)  # the time from which some agent rests on the cell
    paths = np.full((n, top + 1), -1, dtype=np.int64)
    length = np.zeros(n, dtype=np.int64)  # cells on the path (0: none)
    parent = np.full(c_total, -1, dtype=np.int64)
    best = np.full(c_total, -1, dtype=np.int64)  # the best key pushed for a cell (-1: none)
    done = np.zeros(c_total, dtype=np.bool_)
    heap = np.empty(5 * c_total + 1, dtype=np.int64)
    touched = np.empty(c_total, dtype=np.int64)
    shift_f, shift_c = np.int64(1) << 21, np.int64(1) << 42
    last = np.int64(-1)
    for rnd in range(orders.shape[0]):
        for q in range(n):
            i = orders[rnd, q]
            for t in range(length[i]):  # take its own path off
                occ[t, paths[i, t]] -= 1
            if length[i] > 0:
                rest[goal[i]] = 1 << 40
            s, g = start[i], goal[i]
            bound = dist[i, s] + margin
            if dist[i, s] > bound:
                continue
            m, size = 0, 0
            key = dist[i, s] * shift_f + s
            heap[0], size = key, 1
            best[s], parent[s] = key, -1
            touched[0], m = s, 1
            found = False
            while size > 0:
                key = heap[0]
                size -= 1
                heap[0] = heap[size]
                k = 0
                while True:  # sift down
                    a, b = 2 * k + 1, 2 * k + 2
                    j = k
                    if a < size and heap[a] < heap[j]:
                        j = a
                    if b < size and heap[b] < heap[j]:
                        j = b
                    if j == k:
                        break
                    heap[k], heap[j] = heap[j], heap[k]
                    k = j
                v = key % shift_f
                if done[v] or best[v] != key:
                    continue
                done[v] = True
                if v == g:
                    found = True
                    break
                coll = key // shift_c
                gv = (key % shift_c) // shift_f - dist[i, v]
                for kk in range(1, 5):
                    u = nbr[v, kk]
                    if u < 0 or u == s or done[u] or gv + 1 + dist[i, u] > bound:
                        continue
                    nk = (coll + _scatter_cost(occ, rest, gv + 1, u)) * shift_c + (gv + 1 + dist[i, u]) * shift_f + u
                    if best[u] != -1 and best[u] <= nk:
                        continue
                    if best[u] == -1:
                        touched[m] = u
                        m += 1
                    best[u], parent[u] = nk, v
                    heap[size] = nk
                    k = size
                    size += 1
                    while k > 0 and heap[(k - 1) // 2] > heap[k]:  # sift up
                        heap[(k - 1) // 2], heap[k] = heap[k], heap[(k - 1) // 2]
                        k = (k - 1) // 2
            if found:
                steps = 0
                v = g
                while v != -1:
                    steps += 1
                    v = parent[v]
                v = g
                for t in range(steps - 1, -1, -1):
                    paths[i, t] = v
                    v = parent[v]
                length[i] = steps
            for q2 in range(m):
                c = touched[q2]
                best[c], done[c], parent[c] = -1, False, -1
            for t in range(length[i]):
                occ[t, paths[i, t]] += 1
            if length[i] > 0:
                rest[goal[i]] = length[i] - 1
        met = np.int64(0)  # meetings of the round: agents sharing a cell at a time, entering a rested goal
        for t in range(top + 1):
            for c in range(c_total):
                if occ[t, c] > 1:
                    met += occ[t, c] - 1
                if occ[t, c] > 0 and rest[c] < t:
                    met += occ[t, c]
        if met == 0 or (rnd >= 1 and met >= last):
            break
        last = met
    out = np.full((n, c_total), -1, dtype=np.int8)
    for i in range(n):
        for t in range(length[i] - 1):
            v, u = paths[i, t], paths[i, t + 1]
            for kk in range(1, 5):
                if nbr[v, kk] == u:
                    out[i, v] = kk
    return out
