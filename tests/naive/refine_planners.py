"""Twins of ``fleetmind.planners.mapf._refine_kernels`` (the reservation table by a loop over dicts, and the
space-time search's optimum by brute force: every reachable (time, cell), layer by layer) and of
``fleetmind.planners.mapf._suo_kernels`` (:func:`scatter_slots` by dicts and heapq)."""

from __future__ import annotations

import numpy as np


def reserve(paths, num_cells: int) -> np.ndarray:
    horizon = len(paths[0]) - 1 if len(paths) else 0
    held: dict[tuple[int, int], int] = {}
    for i, path in enumerate(paths):
        for t, cell in enumerate(path):
            held[(t, int(cell))] = i
    res = np.full((horizon + 1, num_cells), -1, dtype=np.int32)
    for (t, cell), i in held.items():
        res[t, cell] = i
    return res


def st_astar_cost(me: int, start: int, goal: int, d, res, nbr, limit: int) -> int:
    """The earliest time the agent can stand on its goal with nobody else there afterwards, moving around ``res``
    (no entering a held cell, no swap with its holder) and never where time + ``d`` exceeds ``limit``; -1 if none."""
    horizon = len(res) - 1

    def held(t: int, cell: int) -> bool:
        return res[t][cell] not in (-1, me)

    if d[start] > limit:
        return -1
    layer = {int(start)}
    for t in range(horizon + 1):
        if goal in layer and not any(held(tt, goal) for tt in range(t, horizon + 1)):
            return t
        if t == horizon:
            break
        nxt = set()
        for v in layer:
            for k in range(5):
                u = int(nbr[v, k])
                if u < 0 or held(t + 1, u) or t + 1 + d[u] > limit:
                    continue
                other = res[t][u]
                if k != 0 and other not in (-1, me) and res[t + 1][v] == other:
                    continue
                nxt.add(u)
        layer = nxt
    return -1


def scatter_slots(start, goal, dist, nbr, margin: int, orders) -> np.ndarray:
    """SUO by dicts and heapq: per agent in each round's order, Dijkstra on (others met, path length + distance,
    cell) over paths at most ``margin`` longer than the shortest, never back through the start; rounds while the
    meetings drop (two at least); the next slot along each path."""
    import heapq

    n, num_cells = len(start), len(nbr)
    top = max((int(dist[i][start[i]]) + margin for i in range(n)), default=0)
    paths: dict[int, list[int]] = {}
    last = None
    for rnd in range(len(orders)):
        for i in (int(a) for a in orders[rnd]):
            paths.pop(i, None)
            occ: dict[tuple[int, int], int] = {}
            for path in paths.values():
                for t, c in enumerate(path):
                    occ[(t, c)] = occ.get((t, c), 0) + 1
            rest = {int(goal[j]): len(p) - 1 for j, p in paths.items()}

            def met(t: int, u: int, occ=occ, rest=rest) -> int:  # noqa: ANN001
                return (occ.get((t, u), 0) if t <= top else 0) + (1 if rest.get(u, 1 << 40) < t else 0)

            s, g, bound = int(start[i]), int(goal[i]), int(dist[i][start[i]]) + margin
            best = {s: (0, int(dist[i][s]), s)}
            parent = {s: -1}
            heap, done = [best[s]], set()
            while heap:
                key = heapq.heappop(heap)
                coll, f, v = key
                if v in done or best[v] != key:
                    continue
                done.add(v)
                if v == g:
                    path = [v]
                    while parent[path[-1]] != -1:
                        path.append(parent[path[-1]])
                    paths[i] = path[::-1]
                    break
                gv = f - int(dist[i][v])
                for k in range(1, 5):
                    u = int(nbr[v, k])
                    if u < 0 or u == s or u in done or gv + 1 + int(dist[i][u]) > bound:
                        continue
                    nk = (coll + met(gv + 1, u), gv + 1 + int(dist[i][u]), u)
                    if u in best and best[u] <= nk:
                        continue
                    best[u], parent[u] = nk, v
                    heapq.heappush(heap, nk)
        occ = {}
        for path in paths.values():
            for t, c in enumerate(path):
                occ[(t, c)] = occ.get((t, c), 0) + 1
        rest = {int(goal[j]): len(p) - 1 for j, p in paths.items()}
        total = sum(k - 1 for k in occ.values() if k > 1)
        total += sum(k for (t, c), k in occ.items() if rest.get(c, 1 << 40) < t)
        if total == 0 or (rnd >= 1 and total >= last):
            break
        last = total
    out = np.full((n, num_cells), -1, dtype=np.int8)
    for i, path in paths.items():
        for v, u in zip(path[:-1], path[1:], strict=True):
            out[i, v] = [k for k in range(1, 5) if nbr[v, k] == u][0]
    return out
