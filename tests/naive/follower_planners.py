"""Twins of ``fleetmind.planners.mapf._follower_kernels``: the Follower's windowed A* with ``heapq`` and its view
memory with dicts."""

from __future__ import annotations

import heapq

import numpy as np


def follower_paths(
    agents,
    pos,
    goal,
    hpool,
    hrow,
    static,
    dyn,
    dyn_steps,
    vis,
    nvis,
    vis_cost,
    nbr,
    move_cost,
    w_static,
    w_dyn,
    h_weight,
    width,
    window,
    paths,
):
    """Same contract as the kernel; paths may differ between equal-cost ties, costs may not."""
    p_max = paths.shape[1] - 1
    out = np.zeros(len(agents))
    for m, i in enumerate(agents):
        extra = {int(vis[i, k]): float(vis_cost[i, k]) for k in range(nvis[i])}
        start, target = int(pos[i]), int(goal[i])
        h = hpool[hrow[i]]
        inv = 1.0 / max(1, int(dyn_steps[i]))
        g = {start: 0.0}
        parent = {start: -1}
        closed = set()
        heap = [(h_weight * float(h[start]), start)]
        sr, sc = divmod(start, width)
        end = -1
        while heap:
            _, c = heapq.heappop(heap)
            if c in closed:
                continue
            closed.add(c)
            r, cc = divmod(c, width)
            if c == target or (window > 0 and max(abs(r - sr), abs(cc - sc)) > window):
                end = c
                break
            for k in range(1, 5):
                v = int(nbr[c, k])
                if v < 0:
                    continue
                step = 1.0 + w_static * static[v] + w_dyn * float(dyn[i, v]) * inv + move_cost[c, k]
                step += extra.get(v, 0.0)
                ng = g[c] + step
                if v not in g or ng < g[v]:
                    g[v] = ng
                    parent[v] = c
                    heapq.heappush(heap, (ng + h_weight * float(h[v]), v))
        paths[i, 0] = 0
        if end < 0 or start == target:
            out[m] = 0.0 if start == target else -1.0
            continue
        out[m] = g[end] + h[end]
        cells = []
        c = end
        while c != start:
            cells.append(c)
            c = parent[c]
        cells.reverse()
        cells = cells[:p_max]
        paths[i, 1 : 1 + len(cells)] = cells
        paths[i, 0] = len(cells)
    return out


def still_runs(vis, nvis, last_vis, last_nvis, last_run, num_cells):
    out = np.zeros(vis.shape, dtype=np.int64)
    for i in range(vis.shape[0]):
        before = {int(last_vis[i, k]): int(last_run[i, k]) for k in range(last_nvis[i])}
        for k in range(nvis[i]):
            out[i, k] = before.get(int(vis[i, k]), 0) + 1
    return out


def cost_to_go(nbr, cell_cost, goal) -> np.ndarray:
    """Dijkstra from ``goal`` when entering cell v costs ``cell_cost[v]``: ``(C,) float64``, 1e30 if unreachable."""
    dist = np.full(nbr.shape[0], 1e30)
    dist[goal] = 0.0
    heap = [(0.0, int(goal))]
    while heap:
        d, c = heapq.heappop(heap)
        if d > dist[c]:
            continue
        for k in range(1, 5):
            v = int(nbr[c, k])
            if v >= 0 and d + cell_cost[c] < dist[v]:
                dist[v] = d + cell_cost[c]
                heapq.heappush(heap, (dist[v], v))
    return dist
