"""Twins of ``fleetmind.planners.mapf._refine_kernels``: the reservation table by a loop over dicts, and the
space-time search's optimum by brute force (every reachable (time, cell), layer by layer)."""

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
