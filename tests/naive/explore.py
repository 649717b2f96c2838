"""Twins of ``fleetmind.sim.explore._kernels``: line of sight by the textbook Bresenham line, as lists and sets."""

from __future__ import annotations

import numpy as np


def bresenham(r0: int, c0: int, r1: int, c1: int) -> list[tuple[int, int]]:
    """Every cell of the line from ``(r0, c0)`` to ``(r1, c1)``, both ends included."""
    cells = []
    dr, dc = abs(r1 - r0), abs(c1 - c0)
    sr, sc = (1 if r1 > r0 else -1), (1 if c1 > c0 else -1)
    err = dc - dr
    r, c = r0, c0
    while True:
        cells.append((r, c))
        if (r, c) == (r1, c1):
            return cells
        e2 = 2 * err
        if e2 > -dr:
            err -= dr
            c += sc
        if e2 < dc:
            err += dc
            r += sr


def visible(blocked: np.ndarray, r0: int, c0: int, radius: int) -> list[int]:
    """Row-major indices of the cells visible from ``(r0, c0)``, sorted."""
    h, w = blocked.shape
    out = []
    for r in range(h):
        for c in range(w):
            if (r - r0) ** 2 + (c - c0) ** 2 > radius**2:
                continue
            between = bresenham(r0, c0, r, c)[1:-1]
            if not any(blocked[cell] for cell in between):
                out.append(r * w + c)
    return out


def frontier_cells(known: np.ndarray, h: int, w: int) -> list[int]:
    """Known free cells (code 0) with an unknown (-1) 4-neighbour inside the map."""
    out = []
    for r in range(h):
        for c in range(w):
            if known[r * w + c] != 0:
                continue
            nbrs = [(r + dr, c + dc) for dr, dc in ((-1, 0), (1, 0), (0, -1), (0, 1))]
            if any(0 <= a < h and 0 <= b < w and known[a * w + b] == -1 for a, b in nbrs):
                out.append(r * w + c)
    return out


def bfs_known(known: np.ndarray, h: int, w: int, source: int) -> dict[int, int]:
    """Step distances over known free cells from ``source`` (cells not reached are absent)."""
    from collections import deque

    if known[source] != 0:
        return {}
    dist = {source: 0}
    queue = deque([source])
    while queue:
        cell = queue.popleft()
        r, c = divmod(cell, w)
        for a, b in ((r - 1, c), (r + 1, c), (r, c - 1), (r, c + 1)):
            nxt = a * w + b
            if 0 <= a < h and 0 <= b < w and known[nxt] == 0 and nxt not in dist:
                dist[nxt] = dist[cell] + 1
                queue.append(nxt)
    return dist


def assignment_cost(cost: np.ndarray) -> float:
    """The least total cost of giving each row its own column, by trying every choice (small matrices only)."""
    from itertools import permutations

    rows, cols = cost.shape
    return min(sum(cost[i, p[i]] for i in range(rows)) for p in permutations(range(cols), rows))


def label_frontier(cells: list[int], h: int, w: int) -> list[int]:
    """4-connected clusters of ``cells`` (sorted), numbered by their first cell, by flood fill over a set."""
    label: dict[int, int] = {}
    members = set(cells)
    for start in cells:
        if start in label:
            continue
        current = len(set(label.values()))
        stack = [start]
        label[start] = current
        while stack:
            r, c = divmod(stack.pop(), w)
            for a, b in ((r - 1, c), (r + 1, c), (r, c - 1), (r, c + 1)):
                nxt = a * w + b
                if 0 <= a < h and 0 <= b < w and nxt in members and nxt not in label:
                    label[nxt] = current
                    stack.append(nxt)
    return [label[c] for c in cells]


def cluster_reach(
    known: np.ndarray, h: int, w: int, source: int, clusters: list[list[int]], reps: list[int]
) -> tuple[list[int | None], list[int | None]]:
    """From one source: steps to the nearest cell of each cluster and to each representative (None: unreached)."""
    dist = bfs_known(known, h, w, source)
    near = [min((dist[c] for c in cells if c in dist), default=None) for cells in clusters]
    return near, [dist.get(r) for r in reps]


def burgard(cost: np.ndarray, utility: np.ndarray, drop: np.ndarray, beta: float) -> list[int]:
    """Burgard's greedy assignment with whole-matrix numpy (argmax takes the first maximum in row-major order)."""
    s = cost.shape[0]
    u = utility.astype(float).copy()
    out = [-1] * s
    free = np.ones(s, dtype=bool)
    for _ in range(s):
        with np.errstate(invalid="ignore"):
            score = u[None, :] - beta * cost
        score[~free] = -np.inf
        i, j = np.unravel_index(np.argmax(score), score.shape)
        if not np.isfinite(score[i, j]):
            break
        out[int(i)] = int(j)
        free[i] = False
        u = u - drop[j]
    return out
