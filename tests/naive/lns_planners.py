"""Twins of ``fleetmind.planners.mapf._lns_kernels``: the window cost, and the windowed search's optimum by brute
force."""

from __future__ import annotations

import numpy as np


def window_cost(path, goal: int, d) -> float:
    for t, cell in enumerate(path):
        if cell == goal:
            return float(t)
    return len(path) - 1 + float(d[path[-1]])


def window_astar_cost(me: int, start: int, goal: int, d, res, nbr) -> float:
    """Every (time, cell) the agent can reach around the reservations, layer by layer; the cheapest ending: on the
    goal with the goal free to the end of the window (cost: that time), or anywhere at the last time (H + d)."""
    horizon = len(res) - 1

    def held(t: int, cell: int) -> bool:
        return res[t][cell] not in (-1, me)

    best = np.inf
    layer = {int(start)}
    for t in range(horizon + 1):
        for v in layer:
            if v == goal and not any(held(tt, v) for tt in range(t, horizon + 1)):
                best = min(best, float(t))
            if t == horizon:
                best = min(best, horizon + float(d[v]))
        if t == horizon:
            break
        nxt = set()
        for v in layer:
            for k in range(5):
                u = int(nbr[v, k])
                if u < 0 or held(t + 1, u):
                    continue
                other = res[t][u]
                if k != 0 and other not in (-1, me) and res[t + 1][v] == other:
                    continue
                nxt.add(u)
        layer = nxt
    return -1.0 if best == np.inf else best
