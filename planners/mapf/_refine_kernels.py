"""numba kernels of LaCAM*'s refinement stage: large neighbourhood search over whole one-shot solutions with
space-time A* (MAPF-LNS, Li et al. IJCAI 2021 / MAPF-LNS2, AAAI 2022; the refiner of LaCAM3, Okumura 2024).

Plain arrays in and out; twins in ``tests/naive/refine_planners.py``. A solution is ``paths`` ``(N, T + 1) int64``
cells (row i: agent i's cell at each time up to the horizon T, its goal from its arrival on) and ``arrival``
``(N,) int64``: the time after which the agent rests on its goal for good (its cost; the sum of costs is their sum).
``res`` ``(T + 1, C) int32`` holds who is in each cell at each time (-1: nobody); agents rest on their goals to the
horizon and, goals being distinct, beyond it.
"""

from __future__ import annotations

import numpy as np
from fleetmind.planners.mapf._lns_kernels import move_free
from numba import njit

STRATEGIES = 3  # neighbourhoods: 0 random agents, 1 around the most delayed agent, 2 around an intersection
_GAMMA = 0.01  # ALNS reaction factor (Li et al. 2021)


@njit(cache=True)
def reserve(paths, res):  # pragma: no cover - compiled
    """Fill ``res`` (``(T + 1, C)``, all -1 on entry) from ``paths`` (``(N, T + 1)``)."""
    for i in range(paths.shape[0]):
        for t in range(paths.shape[1]):
            res[t, paths[i, t]] = i


@njit(cache=True)
def st_astar(me, start, goal, d, res, nbr, limit, path, parent, stamp, tick, link, head):  # pragma: no cover
    """Space-time A* for agent ``me`` (not in ``res``) from ``start`` at time 0 to its goal, where it must be able to
    rest for good (nobody else holds the goal afterwards). Moves may not enter a held cell nor swap with its holder;
    following is allowed. ``d``: the agent's unit-step cost-to-go row; the heuristic is max(``d``, L + 1 - time),
    L the last time somebody else holds the goal (consistent: it cannot rest there before L + 1); states with f =
    time + heuristic above ``limit`` are not searched. The open list is a bucket queue on f (integers that never
    decrease along the search), last in first out within a bucket (deeper states first).

    Writes ``path`` (``(T + 1,)``: the path, then the goal to the horizon) and returns the arrival time (optimal
    around ``res``), or -1 if there is none within the horizon and ``limit``. ``parent``/``stamp``/``link``
    (``((T + 1) * C,)``) and ``head`` (``(F,)``, f values at or above F are not searched) are scratch; ``tick``
    must be new for each call."""
    c_total = nbr.shape[0]
    horizon = res.shape[0] - 1
    last = -1  # the last time somebody else holds the goal
    for t in range(horizon, -1, -1):
        holder = res[t, goal]
        if holder != -1 and holder != me:
            last = t
            break
    top = min(limit, head.shape[0] - 1)
    f0 = max(np.int64(d[start]), last + 1)  # h = max(d, last + 1 - t): it cannot rest on the goal before last + 1
    if f0 > top:
        return -1
    for f in range(f0, top + 1):
        head[f] = -1
    stamp[start] = tick
    parent[start] = -1
    link[start] = -1
    head[f0] = start
    cur = f0
    end = -1
    while cur <= top:
        s = head[cur]
        if s == -1:
            cur += 1
            continue
        head[cur] = link[s]
        t = s // c_total
        v = s - t * c_total
        if v == goal and t > last:
            end = s
            break
        if t == horizon:
            continue
        for k in range(5):
            u = nbr[v, k]
            if u < 0:
                continue
            f = max(t + 1 + np.int64(d[u]), last + 1)
            if f > top:
                continue
            if not move_free(res, t, v, u, k, me):
                continue
            s2 = (t + 1) * c_total + u
            if stamp[s2] == tick:
                continue  # time is part of the state: its first push is as cheap as any
            stamp[s2] = tick
            parent[s2] = s
            link[s2] = head[f]
            head[f] = s2
    if end < 0:
        return -1
    t_end = end // c_total
    c = end
    while c >= 0:
        t = c // c_total
        path[t] = c - t * c_total
        c = parent[c]
    for t in range(t_end + 1, horizon + 1):
        path[t] = goal
    return t_end


@njit(cache=True)
def _add(a, members, m, mark, tag):  # pragma: no cover - compiled
    """Callers pass ``a`` and ``m`` as int64 (``np.int64(...)``), never a literal or an int32 ``res`` entry: numba
    compiles ``_add`` again for each distinct argument type."""
    if mark[a] == tag:
        return m
    mark[a] = tag
    members[m] = a
    return m + 1


@njit(cache=True)
def _random_group(n, group, members, mark, tag):  # pragma: no cover - compiled
    m = np.int64(0)
    while m < min(group, n):
        m = _add(np.random.randint(n), members, m, mark, tag)
    return m


@njit(cache=True)
def _delay_group(paths, arrival, lb, goal, d_of, res, nbr, group, members, mark, tag):  # pragma: no cover
    """The most delayed of 8 random agents, and the agents in the way of its shortest moves: random walks that
    always step closer to its goal, from random points of its path (Li et al.'s agent-based neighbourhood)."""
    n = paths.shape[0]
    horizon = paths.shape[1] - 1
    a, worst = np.int64(-1), 0
    for _ in range(8):
        i = np.random.randint(n)
        if arrival[i] - lb[i] > worst:
            a, worst = i, arrival[i] - lb[i]
    if a < 0:
        return 0
    m = _add(a, members, np.int64(0), mark, tag)
    d = d_of[a]
    for _ in range(4 * group):
        if m >= group:
            break
        t = np.random.randint(arrival[a])
        v = paths[a, t]
        while t < horizon and m < group and v != goal[a]:
            count, nxt = 0, -1
            for k in range(1, 5):
                u = nbr[v, k]
                if u >= 0 and d[u] < d[v]:
                    count += 1
                    if np.random.randint(count) == 0:
                        nxt = u
            if nxt < 0:
                break
            t += 1
            v = nxt
            holder = res[t, v]
            if holder != -1:
                m = _add(np.int64(holder), members, m, mark, tag)
    return m


@njit(cache=True)
def _hub_group(hubs, res, nbr, group, members, mark, tag, seen, queue):  # pragma: no cover - compiled
    """Agents that pass a random intersection or the cells nearest to it, breadth first (map-based)."""
    n = mark.shape[0]
    m = np.int64(0)
    head, tail = 0, 1
    queue[0] = hubs[np.random.randint(hubs.shape[0])]
    seen[queue[0]] = tag
    while head < tail and m < min(group, n):
        c = queue[head]
        head += 1
        for t in range(res.shape[0]):
            holder = res[t, c]
            if holder != -1:
                m = _add(np.int64(holder), members, m, mark, tag)
                if m >= group:
                    break
        for k in range(1, 5):
            u = nbr[c, k]
            if u >= 0 and seen[u] != tag:
                seen[u] = tag
                queue[tail] = u
                tail += 1
    return m


@njit(cache=True)
def lns_refine(
    paths, arrival, res, goal, d_of, nbr, hubs, weights, iters, group, seed, tick, parent, stamp, link, head
):  # pragma: no cover - compiled
    """Large neighbourhood search on a solution (improved in place: ``paths``, ``arrival``, ``res``): ``iters`` times
    pick a neighbourhood of up to ``group`` agents (strategy drawn in proportion to ``weights`` (``(3,) float64``,
    adapted as Li et al.'s ALNS), remove their paths, replan them one by one in random order with :func:`st_astar`
    around everybody else, and keep the new paths unless their sum of costs rises (the search is cut where it
    would). ``d_of``: ``(N, C)`` unit-step cost-to-go rows; ``hubs``: cells to centre map-based neighbourhoods on.
    ``tick`` continues the scratch stamps of earlier calls. Returns (neighbourhoods that lowered the sum of costs,
    the next tick)."""
    np.random.seed(seed)
    n, width = paths.shape
    c_total = nbr.shape[0]
    lb = np.empty(n, dtype=np.int64)
    for i in range(n):
        lb[i] = d_of[i, paths[i, 0]]
    members = np.empty(max(group, 1), dtype=np.int64)
    old = np.empty((max(group, 1), width), dtype=np.int64)
    new_arrival = np.empty(max(group, 1), dtype=np.int64)
    mark = np.full(n, -1, dtype=np.int64)
    seen = np.full(c_total, -1, dtype=np.int64)
    queue = np.empty(c_total, dtype=np.int64)
    kept = 0
    if n == 0:
        return kept, tick
    for it in range(iters):
        r = np.random.random() * weights.sum()
        strategy = 0
        while strategy < STRATEGIES - 1 and r >= weights[strategy]:
            r -= weights[strategy]
            strategy += 1
        if strategy == 1:
            m = _delay_group(paths, arrival, lb, goal, d_of, res, nbr, group, members, mark, it)
        elif strategy == 2 and hubs.shape[0] > 0:
            m = _hub_group(hubs, res, nbr, group, members, mark, it, seen, queue)
        else:
            m = _random_group(n, group, members, mark, it)
        if m == 0:
            weights[strategy] = max((1.0 - _GAMMA) * weights[strategy], 1e-3)
            continue
        before = 0
        remaining = 0
        for q in range(m):
            i = members[q]
            before += arrival[i]
            remaining += lb[i]
            for t in range(width):
                old[q, t] = paths[i, t]
                if res[t, paths[i, t]] == i:
                    res[t, paths[i, t]] = -1
        after = 0
        ok = True
        for q in np.random.permutation(m):
            i = members[q]
            remaining -= lb[i]
            tick += 1
            a = st_astar(
                i, paths[i, 0], goal[i], d_of[i], res, nbr, before - after - remaining, paths[i], parent, stamp,
                tick, link, head,
            )  # fmt: skip
            if a < 0:
                ok = False
                break
            for t in range(width):
                res[t, paths[i, t]] = i
            new_arrival[q] = a
            after += a
        if ok:  # no worse: kept (moves on plateaus help the search on)
            for q in range(m):
                arrival[members[q]] = new_arrival[q]
            if after < before:
                kept += 1
            weights[strategy] = (1.0 - _GAMMA) * weights[strategy] + _GAMMA * (before - after) / m
            continue
        weights[strategy] = max((1.0 - _GAMMA) * weights[strategy], 1e-3)
        for q in range(m):  # put the old paths back
            i = members[q]
            for t in range(width):
                if res[t, paths[i, t]] == i:
                    res[t, paths[i, t]] = -1
        for q in range(m):
            i = members[q]
            for t in range(width):
                paths[i, t] = old[q, t]
                res[t, old[q, t]] = i
    return kept, tick
