"""numba kernels of ``pibt_lns``: windowed space-time A* and large neighbourhood search over a short joint plan.

Plain arrays in and out; twins in ``tests/naive/lns_planners.py``. A plan is ``(H + 1, N) int64`` cells: row t holds
every agent's cell at time t (row 0: where they are now). An agent's window cost is the time it first stands on its
goal, or ``H + d[cell at H]`` (``d``: its cost-to-go row) if it does not get there within the window.
"""

from __future__ import annotations

import numpy as np
from fleetmind.planners.mapf._heuristic_kernels import _pop, _push
from numba import njit


@njit(cache=True)
def window_cost(path, goal, d):  # pragma: no cover - compiled
    """One agent's window cost: first arrival time at ``goal`` along ``path`` (``(H + 1,)``), else ``H + d[end]``."""
    horizon = path.shape[0] - 1
    for t in range(horizon + 1):
        if path[t] == goal:
            return float(t)
    return horizon + float(d[path[horizon]])


@njit(cache=True, inline="always")
def move_free(res, t, v, u, k, me):  # pragma: no cover - compiled
    """Whether agent ``me`` may move from cell ``v`` at ``t`` to ``u`` at ``t + 1`` (``k`` 0: stay) given the
    reservations ``res`` (``(T, C)``, -1 free): no vertex conflict and no swap with an agent coming the other way."""
    holder = res[t + 1, u]
    if holder != -1 and holder != me:
        return False
    if k != 0:
        other = res[t, u]
        if other != -1 and other != me and res[t + 1, v] == other:
            return False
    return True


@njit(cache=True)
def _free_from(res, cell, t, me):  # pragma: no cover - compiled
    """Nobody but ``me`` holds ``cell`` from time ``t`` to the end of the window."""
    for tt in range(t, res.shape[0]):  # noqa: SIM110 - numba compiles loops, not all() over generators
        if res[tt, cell] != -1 and res[tt, cell] != me:
            return False
    return True


@njit(cache=True)
def window_astar(me, start, goal, d, res, nbr, path, parent, stamp, tick, heap_f, heap_c):  # pragma: no cover
    """Space-time A* for agent ``me`` over the window of ``res`` (``(H + 1, C) int64``: who holds each cell at each
    time, -1 nobody). Moves may not enter a held cell nor swap with its holder; following is allowed. Ends at the
    goal once the goal stays free to the end of the window (cost: arrival time; the agent then waits there) or at
    time H (cost ``H + d[cell]``); ``d`` also guides the search.
    Writes ``path`` (``(H + 1,)``) and returns the cost (optimal when ``d`` is the unit-step cost-to-go), or -1
    if every move is blocked at some point.
    ``parent``/``stamp`` (``((H + 1) * C,)``) and the heaps are scratch; ``tick`` must be new for each call."""
    c_total = nbr.shape[0]
    horizon = res.shape[0] - 1
    stamp[start] = tick
    parent[start] = -1
    # np.int64 size, np.float64 key (numba's float() keeps a float32): _push compiles for one type only
    size = _push(heap_f, heap_c, np.int64(0), np.float64(d[start]), start)
    end = -1
    cost = -1.0
    while size > 0:
        s, size = _pop(heap_f, heap_c, size)
        t = s // c_total
        v = s - t * c_total
        if v == goal and _free_from(res, goal, t, me):
            end, cost = s, float(t)
            break
        if t == horizon:
            end, cost = s, horizon + float(d[v])
            break
        for k in range(5):
            u = nbr[v, k]
            if u < 0:
                continue
            if not move_free(res, t, v, u, k, me):
                continue
            s2 = (t + 1) * c_total + u
            if stamp[s2] == tick:
                continue
            stamp[s2] = tick
            parent[s2] = s
            size = _push(heap_f, heap_c, size, float(t + 1) + float(d[u]), s2)
    if end < 0:
        return -1.0
    t_end = end // c_total
    c = end
    while c >= 0:
        t = c // c_total
        path[t] = c - t * c_total
        c = parent[c]
    for t in range(t_end + 1, horizon + 1):
        path[t] = path[t_end]
    return cost


@njit(cache=True)
def lns_improve(plan, goal, dist, drow, nbr, width, iters, group, seed):  # pragma: no cover - compiled
    """Large neighbourhood search on a conflict-free ``plan`` (improved in place): ``iters`` times, take an agent
    that is late (window cost above its cost-to-go) and the ``group`` - 1 agents nearest to it now, replan them one
    by one in random order with :func:`window_astar` around everybody else, and keep the new paths only if their
    summed window cost drops. Returns the number of kept neighbourhoods. ``dist``/``drow``: cost-to-go rows;
    ``width``: the map's width (for nearness); ``seed`` fixes numba's random stream."""
    np.random.seed(seed)
    horizon = plan.shape[0] - 1
    n = plan.shape[1]
    if n == 0:
        return 0  # no agent: nothing to improve
    c_total = nbr.shape[0]
    res = np.full((horizon + 1, c_total), -1, dtype=np.int64)
    for t in range(horizon + 1):
        for i in range(n):
            res[t, plan[t, i]] = i
    cost = np.empty(n)
    for i in range(n):
        cost[i] = window_cost(plan[:, i], goal[i], dist[drow[i]])
    states = (horizon + 1) * c_total
    parent = np.empty(states, dtype=np.int64)
    stamp = np.zeros(states, dtype=np.int64)
    heap_f = np.empty(5 * states + 8)
    heap_c = np.empty(5 * states + 8, dtype=np.int64)
    m = min(group, n)
    old = np.empty((horizon + 1, m), dtype=np.int64)
    new_cost = np.empty(m)
    near = np.empty(n)
    tick = 0
    kept = 0
    for _ in range(iters):
        a = np.random.randint(n)
        if cost[a] <= min(float(dist[drow[a], plan[0, a]]), float(horizon)):
            continue  # on time: nothing to gain around it
        ra, ca = plan[0, a] // width, plan[0, a] % width
        for i in range(n):
            near[i] = abs(plan[0, i] // width - ra) + abs(plan[0, i] % width - ca) + 0.5 * np.random.random()
        members = np.argsort(near)[:m]
        before = 0.0
        for q in range(m):
            i = members[q]
            before += cost[i]
            for t in range(horizon + 1):
                old[t, q] = plan[t, i]
                res[t, plan[t, i]] = -1
        after = 0.0
        ok = True
        for q in np.random.permutation(m):
            i = members[q]
            tick += 1
            c = window_astar(
                i, plan[0, i], goal[i], dist[drow[i]], res, nbr, plan[:, i], parent, stamp, tick, heap_f, heap_c
            )
            if c < 0:
                ok = False
                break
            for t in range(horizon + 1):
                res[t, plan[t, i]] = i
            new_cost[q] = window_cost(plan[:, i], goal[i], dist[drow[i]])  # passing the goal counts too
            after += new_cost[q]
        if ok and after < before:
            for q in range(m):
                cost[members[q]] = new_cost[q]
            kept += 1
            continue
        for q in range(m):  # put the old paths back
            i = members[q]
            for t in range(horizon + 1):
                if res[t, plan[t, i]] == i:
                    res[t, plan[t, i]] = -1
        for q in range(m):
            i = members[q]
            for t in range(horizon + 1):
                plan[t, i] = old[t, q]
                res[t, old[t, q]] = i
    return kept
