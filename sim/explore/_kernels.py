"""numba kernels of the exploration world: what a robot senses within its radius, with line of sight.

A cell is visible from ``(r0, c0)`` when it lies within the Euclidean ``radius`` and no blocked cell lies strictly
between the two on the Bresenham line from the robot to it (the cell itself may be a wall: walls are seen).
Plain arrays in and out; the twin in ``tests/naive/explore.py`` spells out the same rule with lists and sets.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def line_clear(blocked, r0, c0, r1, c1):  # pragma: no cover - compiled
    """Whether no blocked cell lies strictly between ``(r0, c0)`` and ``(r1, c1)`` on their Bresenham line."""
    dr = abs(r1 - r0)
    dc = abs(c1 - c0)
    sr = 1 if r1 > r0 else -1
    sc = 1 if c1 > c0 else -1
    err = dc - dr
    r, c = r0, c0
    while True:
        if r == r1 and c == c1:
            return True
        if (r != r0 or c != c0) and blocked[r, c]:
            return False
        e2 = 2 * err
        if e2 > -dr:
            err -= dr
            c += sc
        if e2 < dc:
            err += dc
            r += sr


@njit(cache=True)
def visible_cells(blocked, r0, c0, radius, out):  # pragma: no cover - compiled
    """Fill ``out`` (``((2R+1)^2,) int64``) with the row-major indices of the cells visible from ``(r0, c0)``, in
    row-major order; returns how many."""
    h, w = blocked.shape
    n = 0
    r2 = radius * radius
    for r in range(max(0, r0 - radius), min(h, r0 + radius + 1)):
        for c in range(max(0, c0 - radius), min(w, c0 + radius + 1)):
            if (r - r0) * (r - r0) + (c - c0) * (c - c0) > r2:
                continue
            if line_clear(blocked, r0, c0, r, c):
                out[n] = r * w + c
                n += 1
    return n


@njit(cache=True)
def sense_all(blocked, rows, cols, active, radius):  # pragma: no cover - compiled
    """Every active robot's visible cells: ``(cells (N, (2R+1)^2) int64, counts (N,) int64)``; inactive robots
    see nothing (count 0). ``rows``, ``cols``: ``(N,) int64``; ``active``: ``(N,) bool``."""
    n = rows.shape[0]
    k = (2 * radius + 1) * (2 * radius + 1)
    cells = np.full((n, k), -1, dtype=np.int64)
    counts = np.zeros(n, dtype=np.int64)
    for i in range(n):
        if active[i]:
            counts[i] = visible_cells(blocked, rows[i], cols[i], radius, cells[i])
    return cells, counts
