"""Twin of ``fleetmind.planners.mapf._search_kernels``: LaCAM*'s first-solution search as the paper writes it
(a stack of configurations, a ``deque`` of constraints per configuration, a dict of the explored ones), with the
same splitmix64 draws in the same order as the kernel, the twins of PIBT and of the preferences."""

from __future__ import annotations

from collections import deque

import numpy as np

from naive.mapf_planners import pibt_configure
from naive.oneshot_planners import lacam_preferences

MASK = (1 << 64) - 1
GOLDEN = 0x9E3779B97F4A7C15


def mix64(z: int) -> int:
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
    return z ^ (z >> 31)


class Rng:
    def __init__(self, seed: int) -> None:
        self.state = seed & MASK

    def next(self) -> int:
        self.state = (self.state + GOLDEN) & MASK
        return mix64(self.state)


def unit(z: int) -> float:
    return (z >> 11) * 2.0**-53


def noise(seed: int, n: int) -> np.ndarray:
    out = np.empty((n, 5))
    state = seed
    for i in range(n):
        for s in range(5):
            state = (state + GOLDEN) & MASK
            out[i, s] = unit(mix64(state))
    return out


def first_solution(start, goal, dist, nbr, seed, slots=None, swap=True, tries=1, max_nodes=10**9, stats=None):
    """``(found, configurations explored, (T+1, N) cells or None)``; ``found`` is None when ``max_nodes`` ran out.
    ``stats``: a dict that gets ``restarts``, how often the search pushed the root again (LaCAM*'s restart)."""
    n = len(start)
    goal = [int(x) for x in goal]
    slots = np.zeros((0, 0), dtype=np.int8) if slots is None else slots
    rng = Rng(seed)
    configs, parents, prios, orders, seeds, trees = [], [], [], [], [], []
    index: dict[tuple[int, ...], int] = {}
    stack: list[int] = []

    def add(cfg: tuple[int, ...], par: int) -> None:
        d = np.array([dist[i][c] for i, c in enumerate(cfg)], dtype=np.int64)
        if par < 0:
            prio = d / max(1, int(d.max()) if n else 0) * 0.99
        else:
            old = prios[par]
            prio = np.array([old[i] + 1.0 if cfg[i] != goal[i] else old[i] - np.floor(old[i]) for i in range(n)])
        configs.append(cfg)
        parents.append(par)
        prios.append(prio)
        orders.append(np.argsort(-prio, kind="stable").astype(np.int64))
        seeds.append(rng.next())
        trees.append(deque([((), ())]))
        index[cfg] = len(configs) - 1
        stack.append(len(configs) - 1)

    add(tuple(int(x) for x in start), -1)
    while stack:
        v = stack[-1]
        cur = configs[v]
        if all(dist[i][c] == 0 for i, c in enumerate(cur)):
            path = []
            while v >= 0:
                path.append(configs[v])
                v = parents[v]
            return True, len(configs), np.array(path[::-1], dtype=np.int64).reshape(-1, n)
        if len(configs) >= max_nodes:
            return None, len(configs), None
        if not trees[v]:
            stack.pop()
            continue
        who, where = trees[v].popleft()
        depth = len(who)
        if depth < n:
            i = int(orders[v][depth])
            cand = [k for k in range(5) if nbr[cur[i]][k] >= 0]
            for a in range(len(cand) - 1, 0, -1):
                b = rng.next() % (a + 1)
                cand[a], cand[b] = cand[b], cand[a]
            trees[v].extend((who + (i,), where + (k,)) for k in cand)
        pos = np.array(cur, dtype=np.int64)
        best, best_f = None, 0
        for draw in range(max(1, tries)):
            prefs = lacam_preferences(pos, nbr, dist, noise(seeds[v] if draw == 0 else rng.next(), n), slots)
            got = pibt_configure(
                pos, prefs, nbr, orders[v], len(nbr), np.array(who, dtype=np.int64), np.array(where, dtype=np.int64),
                np.array(goal, dtype=np.int64), dist, np.arange(n), swap,
            )  # fmt: skip
            if n and got[0] < 0:
                continue
            if tries <= 1:
                best = got
                break
            nxt = [int(nbr[pos[i]][got[i]]) for i in range(n)]
            f = sum(int(dist[i][nxt[i]]) + (cur[i] != goal[i] or nxt[i] != goal[i]) for i in range(n))
            if best is None or f < best_f:
                best, best_f = got, f
        if best is None:
            continue
        cfg = tuple(int(nbr[cur[i]][best[i]]) for i in range(n))
        if cfg in index:
            stack.append(index[cfg])
            if unit(rng.next()) < 0.001:
                stack.append(0)
                if stats is not None:
                    stats["restarts"] = stats.get("restarts", 0) + 1
            continue
        add(cfg, v)
    return False, len(configs), None
