"""Twins of ``planners.mapf._kernels``: PIBT as the paper writes it (recursion) and A* with ``heapq``."""

from __future__ import annotations

import heapq

import numpy as np

MOVES = [(0, 0), (-1, 0), (1, 0), (0, -1), (0, 1)]


def neighbour_table(blocked) -> np.ndarray:
    h, w = blocked.shape
    nbr = np.full((h * w, 5), -1, dtype=np.int64)
    for r in range(h):
        for c in range(w):
            if blocked[r, c]:
                continue
            for k, (dr, dc) in enumerate(MOVES):
                nr, nc = r + dr, c + dc
                if 0 <= nr < h and 0 <= nc < w and not blocked[nr, nc]:
                    nbr[r * w + c, k] = nr * w + nc
    return nbr


def _pibt(i, parent, pos, order, nbr, slot, occ_now, occ_next) -> bool:
    for s in order[i]:
        v = nbr[pos[i], s]
        if v < 0 or v in occ_next:
            continue
        if parent is not None and v == pos[parent]:
            continue
        j = occ_now.get(v)
        if j is not None and j != i and slot[j] is not None and nbr[pos[j], slot[j]] == pos[i]:
            continue
        occ_next[v] = i
        slot[i] = s
        if j is not None and j != i and slot[j] is None and not _pibt(j, i, pos, order, nbr, slot, occ_now, occ_next):
            continue
        return True
    occ_next[pos[i]] = i
    slot[i] = 0
    return False


def pibt_configure(pos, order, nbr, priority_order, num_cells, fixed_agents, fixed_slots) -> np.ndarray:
    n = len(pos)
    occ_now = {int(p): i for i, p in enumerate(pos)}
    occ_next: dict[int, int] = {}
    slot: list[int | None] = [None] * n
    fail = np.full(n, -1, dtype=np.int64)
    for i, s in zip(fixed_agents, fixed_slots, strict=True):
        v = nbr[pos[i], s]
        j = occ_now.get(int(v))
        if (
            v < 0
            or v in occ_next
            or (j is not None and j != i and slot[j] is not None and nbr[pos[j], slot[j]] == pos[i])
        ):
            return fail
        occ_next[int(v)] = int(i)
        slot[i] = int(s)
    for i in priority_order:
        if slot[i] is None:
            _pibt(int(i), None, pos, order, nbr, slot, occ_now, occ_next)
    targets = [int(nbr[pos[i], slot[i]]) for i in range(n)]
    if len(set(targets)) < n:
        return fail
    for i in range(n):
        j = occ_now.get(targets[i])
        if j is not None and j != i and targets[j] == pos[i]:
            return fail
    return np.array(slot, dtype=np.int64)


def pibt_step(pos, order, nbr, priority_order, num_cells) -> np.ndarray:
    empty = np.zeros(0, dtype=np.int64)
    return pibt_configure(pos, order, nbr, priority_order, num_cells, empty, empty)


def astar_cost(start, goal, nbr, cell_cost) -> float:
    """Cheapest path cost from ``start`` to ``goal`` with step cost ``1 + cell_cost[v]`` (Dijkstra)."""
    best = {int(start): 0.0}
    heap = [(0.0, int(start))]
    while heap:
        g, c = heapq.heappop(heap)
        if c == goal:
            return g
        if g > best[c]:
            continue
        for v in nbr[c, 1:]:
            if v < 0:
                continue
            ng = g + 1.0 + cell_cost[v]
            if ng < best.get(int(v), np.inf):
                best[int(v)] = ng
                heapq.heappush(heap, (ng, int(v)))
    return -1.0


def seen_before(vis, nvis, last_vis, last_nvis, num_cells) -> np.ndarray:
    out = np.zeros(vis.shape, dtype=bool)
    for i in range(len(vis)):
        before = set(last_vis[i, : last_nvis[i]].tolist())
        for k in range(nvis[i]):
            out[i, k] = int(vis[i, k]) in before
    return out


def dijkstra_distances(nbr, cell_cost, goal: int) -> np.ndarray:
    """Cost-to-go by brute force: Bellman-Ford style relaxation until nothing changes."""
    dist = np.full(len(nbr), np.inf)
    dist[goal] = 0.0
    changed = True
    while changed:
        changed = False
        for u in range(len(nbr)):
            for v in nbr[u, 1:]:
                if v >= 0 and dist[v] + cell_cost[v] < dist[u] - 1e-12:
                    dist[u] = dist[v] + cell_cost[v]
                    changed = True
    return dist
