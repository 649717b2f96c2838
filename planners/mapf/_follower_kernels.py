"""numba kernels of the Follower-style planner: each agent's A* (whole path kept for reuse) and its memory.

Plain arrays in and out; twins in ``tests/naive/follower_planners.py``. Cells are row-major indices; ``nbr`` is the
``(C, 5) int64`` neighbour table in POGEMA action order (stay, up, down, left, right), -1 where blocked. Every
kernel works agent by agent on that agent's own rows only (its position, goal, view and memory).
"""

from __future__ import annotations

import numpy as np
from fleetmind.planners.mapf._heuristic_kernels import _pop, _push
from numba import njit


@njit(cache=True)
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
):  # pragma: no cover - compiled
    """A* for each agent ``i`` in ``agents`` (``(M,) int64``) from ``pos[i]`` towards ``goal[i]`` on its own cost map.

    Moving from cell c by action k into cell v costs ``1 + w_static * static[v] + w_dyn * dyn[i, v] /
    max(1, dyn_steps[i]) + move_cost[c, k]``, plus ``vis_cost[i, j]`` if v is ``vis[i, j]`` (a cell where agent
    i sees an agent now). The heuristic ``h_weight * hpool[hrow[i]]``, the exact cost-to-go on the static part
    (unit steps + centrality), keeps A* optimal at ``h_weight = 1`` when ``move_cost >= 0``. With ``window > 0``
    the search ends at the first cell it takes from the open list that lies more than ``window`` cells
    (Chebyshev, on a map ``width`` wide) from the start, or at the goal: beyond the window only the static cost
    counts, and ``hpool`` is exact there. Shapes: ``pos``, ``goal``, ``hrow``, ``dyn_steps``, ``nvis``: ``(N,)``;
    ``hpool``: ``(K, C)``; ``static``: ``(C,) float64``; ``dyn``: ``(N, C) float32``; ``vis``: ``(N, V) int64``;
    ``vis_cost``: ``(N, V) float64``; ``move_cost``: ``(C, 5) float64``; ``paths``: ``(N, P) int64``.
    Writes the first ``P - 1`` cells after the start of agent i's path (to the goal or the window's edge) into
    ``paths[i, 1:]`` and their count into ``paths[i, 0]`` (0 at the goal or if the goal is unreachable).
    Returns ``(M,) float64`` path costs (the path's cost plus ``hpool`` at its end; 0 at the goal, -1 if
    unreachable).
    """
    c_total = nbr.shape[0]
    p_max = paths.shape[1] - 1
    out = np.zeros(agents.shape[0])
    g = np.zeros(c_total)
    parent = np.full(c_total, -1, dtype=np.int64)
    seen = np.zeros(c_total, dtype=np.int64)
    closed = np.zeros(c_total, dtype=np.int64)
    mark = np.zeros(c_total, dtype=np.int64)
    mark_cost = np.zeros(c_total)
    heap_f = np.empty(4 * c_total + 8)
    heap_c = np.empty(4 * c_total + 8, dtype=np.int64)
    for m in range(agents.shape[0]):
        i = agents[m]
        tick = m + 1
        for k in range(nvis[i]):
            mark[vis[i, k]] = tick
            mark_cost[vis[i, k]] = vis_cost[i, k]
        start, target = pos[i], goal[i]
        h = hpool[hrow[i]]
        inv = 1.0 / max(1, dyn_steps[i])
        g[start] = 0.0
        seen[start] = tick
        parent[start] = -1
        # np.int64 size, np.float64 key (numba's float() keeps a float32): _push compiles for one type only
        size = _push(heap_f, heap_c, np.int64(0), np.float64(h_weight * h[start]), start)
        sr, sc = start // width, start % width
        end = -1
        while size > 0:
            c, size = _pop(heap_f, heap_c, size)
            if closed[c] == tick:
                continue
            closed[c] = tick
            if c == target or (window > 0 and max(abs(c // width - sr), abs(c % width - sc)) > window):
                end = c
                break
            for k in range(1, 5):
                v = nbr[c, k]
                if v < 0:
                    continue
                step = 1.0 + w_static * static[v] + w_dyn * dyn[i, v] * inv + move_cost[c, k]
                if mark[v] == tick:
                    step += mark_cost[v]
                ng = g[c] + step
                if seen[v] != tick or ng < g[v]:
                    seen[v] = tick
                    g[v] = ng
                    parent[v] = c
                    size = _push(heap_f, heap_c, size, np.float64(ng + h_weight * h[v]), v)
        paths[i, 0] = 0
        if end < 0 or start == target:
            out[m] = 0.0 if start == target else -1.0
            continue
        out[m] = g[end] + h[end]
        length = 0
        c = end
        while c != start:
            length += 1
            c = parent[c]
        # walk back again, keeping the first p_max cells
        c = end
        k = length
        while c != start:
            if k <= p_max:
                paths[i, k] = c
            k -= 1
            c = parent[c]
        paths[i, 0] = min(length, p_max)
    return out


@njit(cache=True)
def still_runs(vis, nvis, last_vis, last_nvis, last_run, num_cells):  # pragma: no cover - compiled
    """How many steps running each agent has seen each cell it sees occupied now occupied (1 = only now).

    ``vis``: ``(N, V) int64`` / ``nvis``: ``(N,)`` this step's views; ``last_vis``/``last_nvis``/``last_run``
    (``(N, V') int64``) the previous step's views and runs. Returns ``(N, V) int64``.
    """
    n, v = vis.shape
    out = np.zeros((n, v), dtype=np.int64)
    stamp = np.full(num_cells, -1, dtype=np.int64)
    run = np.zeros(num_cells, dtype=np.int64)
    for i in range(n):
        for k in range(last_nvis[i]):
            stamp[last_vis[i, k]] = i
            run[last_vis[i, k]] = last_run[i, k]
        for k in range(nvis[i]):
            c = vis[i, k]
            out[i, k] = run[c] + 1 if stamp[c] == i else 1
    return out
