"""``check_paths``: validate whole joint MAPF paths (the tests and the one-shot benchmark check planners with it; the
shield checks one joint step at a time in :mod:`fleetmind.tasks.mapf_lifelong.shield`)."""

from __future__ import annotations

import numpy as np


def check_paths(
    paths: np.ndarray,
    blocked: np.ndarray,
    starts: np.ndarray | None = None,
    goals: np.ndarray | None = None,
) -> list[str]:
    """Problems of a joint plan; an empty list means valid.

    ``paths``: ``(T+1, N, 2) int`` (row, col) of every agent at every time step; ``blocked``: ``(H, W) bool``.
    Checks: cells on the map and free, moves of at most one 4-connected step, no vertex conflict (two agents
    in one cell), no edge swap, and (if given) ``starts``/``goals`` ``(N, 2)`` match the first/last rows.
    Following into a cell that is being vacated is allowed.
    """
    p = np.asarray(paths, dtype=np.int64)
    problems: list[str] = []
    if p.ndim != 3 or p.shape[2] != 2 or p.shape[0] < 1:
        return [f"paths must have shape (T+1, N, 2), got {p.shape}"]
    h, w = blocked.shape
    steps = p.shape[0]
    rows, cols = p[..., 0], p[..., 1]
    off = (rows < 0) | (rows >= h) | (cols < 0) | (cols >= w)
    for t, i in np.argwhere(off)[:5]:
        problems.append(f"agent {i} leaves the map at t={t}: {tuple(p[t, i])}")
    if off.any():
        return problems
    for t, i in np.argwhere(blocked[rows, cols])[:5]:
        problems.append(f"agent {i} is on an obstacle at t={t}: {tuple(p[t, i])}")
    if steps > 1:
        jump = np.abs(np.diff(p, axis=0)).sum(axis=2)
        for t, i in np.argwhere(jump > 1)[:5]:
            problems.append(f"agent {i} jumps at t={t}->{t + 1}: {tuple(p[t, i])} -> {tuple(p[t + 1, i])}")
    cells = rows * w + cols
    for t in range(steps):
        uniq, counts = np.unique(cells[t], return_counts=True)
        for cell in uniq[counts > 1][:3]:
            who = np.flatnonzero(cells[t] == cell).tolist()
            problems.append(f"vertex conflict at t={t} in {divmod(int(cell), w)}: agents {who}")
    for t in range(steps - 1):
        a, b = cells[t], cells[t + 1]
        moving = a != b
        index = {int(c): i for i, c in enumerate(a)}
        for i in np.flatnonzero(moving):
            j = index.get(int(b[i]))
            if j is not None and j != i and b[j] == a[i] and i < j:
                problems.append(f"edge swap at t={t}->{t + 1}: agents {i} and {j}")
    if starts is not None and not np.array_equal(p[0], np.asarray(starts)):
        problems.append("paths do not begin at the starts")
    if goals is not None and not np.array_equal(p[-1], np.asarray(goals)):
        bad = np.flatnonzero(np.any(p[-1] != np.asarray(goals), axis=1)).tolist()
        problems.append(f"agents {bad[:10]} do not end on their goals")
    return problems
