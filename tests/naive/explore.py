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
