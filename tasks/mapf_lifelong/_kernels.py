"""numba kernels of the MAPF world: POGEMA's ``soft`` collision system and BFS cost-to-go.

Plain arrays in and out. Twins in ``tests/naive/mapf_world.py`` spell out the same rules with dicts and lists.
Actions are POGEMA's: 0 wait, 1 up, 2 down, 3 left, 4 right.
"""

from __future__ import annotations

import numpy as np
from numba import njit

DR = np.array([0, -1, 1, 0, 0], dtype=np.int64)
DC = np.array([0, 0, 0, -1, 1], dtype=np.int64)
OPPOSITE = np.array([0, 2, 1, 4, 3], dtype=np.int64)
UNREACHABLE = np.int32(2**30)


@njit(cache=True)
def _revert(agent, cell, actions, home, lists, counts):  # pragma: no cover - compiled
    """POGEMA's ``_revert_action`` as a loop: the agent waits, and whoever first targeted its cell reverts too."""
    while True:
        actions[agent] = 0
        n = counts[cell]
        k = 0
        while lists[cell, k] != agent:
            k += 1
        for m in range(k, n - 1):
            lists[cell, m] = lists[cell, m + 1]
        counts[cell] = n - 1
        new_cell = home[agent]
        lists[new_cell, counts[new_cell]] = agent
        counts[new_cell] += 1
        if counts[new_cell] > 1:
            agent = lists[new_cell, 0]
            cell = new_cell
        else:
            return


@njit(cache=True)
def soft_resolve_scratch(rows, cols, actions, blocked, lists, counts, edges):  # pragma: no cover - compiled
    """:func:`soft_resolve` on scratch tables the caller keeps (the exploration world steps on them every step):
    ``lists`` ``((H+2)*(W+2), 8) int64``, ``counts`` ``((H+2)*(W+2),) int64`` and ``edges``
    ``((H+2)*(W+2)*5,) int64``, all zero on entry and zero again on return (only the cells the agents touch are
    reset), so a step costs the agents, not the map. Same executed actions."""
    n = rows.shape[0]
    h, w = blocked.shape
    pw = w + 2
    out = actions.copy()
    home = np.empty(n, dtype=np.int64)
    target = np.empty(n, dtype=np.int64)
    for i in range(n):
        home[i] = (rows[i] + 1) * pw + cols[i] + 1
    for i in range(n):
        a = out[i]
        t = home[i] + DR[a] * pw + DC[a]
        target[i] = t
        lists[t, counts[t]] = i
        counts[t] += 1
        edges[home[i] * 5 + a] = 1
        if a != 0:
            edges[t * 5 + OPPOSITE[a]] += 1
    for i in range(n):
        a = out[i]
        if edges[home[i] * 5 + a] > 1:  # a swap: go back home without cascading
            t = target[i]
            k = 0
            while lists[t, k] != i:
                k += 1
            for m in range(k, counts[t] - 1):
                lists[t, m] = lists[t, m + 1]
            counts[t] -= 1
            lists[home[i], counts[home[i]]] = i
            counts[home[i]] += 1
            out[i] = 0
    for i in range(n - 1, -1, -1):
        a = out[i]
        t = home[i] + DR[a] * pw + DC[a]
        r, c = t // pw - 1, t % pw - 1
        off = r < 0 or r >= h or c < 0 or c >= w
        if counts[t] > 1 or off or blocked[r, c]:
            _revert(i, t, out, home, lists, counts)
    for i in range(n):
        for cell in (home[i], target[i]):
            counts[cell] = 0
            for k in range(5):
                edges[cell * 5 + k] = 0
    return out


@njit(cache=True)
def soft_resolve(rows, cols, actions, blocked):  # pragma: no cover - compiled
    """Resolve one joint move under POGEMA 1.4's ``soft`` collision system.

    ``rows``, ``cols``: ``(N,) int64`` positions; ``actions``: ``(N,) int64`` in 0..4; ``blocked``:
    ``(H, W) bool``. Returns the executed actions ``(N,) int64`` (reverted agents wait): swaps are blocked,
    moves into obstacles or off the map are reverted, and vertex conflicts are reverted in cascade (highest
    agent index first); following into a cell that is being vacated is allowed.
    """
    h, w = blocked.shape
    pw = w + 2
    npad = (h + 2) * pw
    lists = np.empty((npad, 8), dtype=np.int64)
    counts = np.zeros(npad, dtype=np.int64)
    edges = np.zeros(npad * 5, dtype=np.int64)
    return soft_resolve_scratch(rows, cols, actions, blocked, lists, counts, edges)


@njit(cache=True)
def bfs_distances(blocked, goal_row, goal_col):  # pragma: no cover - compiled
    """Exact 4-connected cost-to-go to one goal. ``blocked``: ``(H, W) bool``; returns ``(H, W) int32``
    (``UNREACHABLE`` where the goal cannot be reached)."""
    h, w = blocked.shape
    dist = np.full((h, w), UNREACHABLE, dtype=np.int32)
    queue = np.empty(h * w, dtype=np.int64)
    dist[goal_row, goal_col] = 0
    queue[0] = goal_row * w + goal_col
    head, tail = 0, 1
    while head < tail:
        cell = queue[head]
        head += 1
        r, c = cell // w, cell % w
        d = dist[r, c] + 1
        for k in range(1, 5):
            nr, nc = r + DR[k], c + DC[k]
            if 0 <= nr < h and 0 <= nc < w and not blocked[nr, nc] and dist[nr, nc] > d:
                dist[nr, nc] = d
                queue[tail] = nr * w + nc
                tail += 1
    return dist


@njit(cache=True)
def components(blocked):  # pragma: no cover - compiled
    """Connected-component label of every free cell (``(H, W) int64``, -1 on obstacles)."""
    h, w = blocked.shape
    label = np.full((h, w), -1, dtype=np.int64)
    queue = np.empty(h * w, dtype=np.int64)
    current = 0
    for start in range(h * w):
        sr, sc = start // w, start % w
        if blocked[sr, sc] or label[sr, sc] >= 0:
            continue
        label[sr, sc] = current
        queue[0] = start
        head, tail = 0, 1
        while head < tail:
            cell = queue[head]
            head += 1
            r, c = cell // w, cell % w
            for k in range(1, 5):
                nr, nc = r + DR[k], c + DC[k]
                if 0 <= nr < h and 0 <= nc < w and not blocked[nr, nc] and label[nr, nc] < 0:
                    label[nr, nc] = current
                    queue[tail] = nr * w + nc
                    tail += 1
        current += 1
    return label


@njit(cache=True)
def visible_agents(rows, cols, height, width, radius):  # pragma: no cover - compiled
    """Each agent's partial observation of the others: ``rows``, ``cols``: ``(N,) int64`` positions.

    Returns ``(N, V) int64`` cells (row-major) of the other agents within Chebyshev distance ``radius``,
    listed in window order (row by row), -1 padded, and ``(N,) int64`` counts.
    """
    n = rows.shape[0]
    occ = np.full(height * width, -1, dtype=np.int64)
    for i in range(n):
        occ[rows[i] * width + cols[i]] = i
    counts = np.zeros(n, dtype=np.int64)
    for i in range(n):
        for r in range(max(0, rows[i] - radius), min(height, rows[i] + radius + 1)):
            for c in range(max(0, cols[i] - radius), min(width, cols[i] + radius + 1)):
                j = occ[r * width + c]
                if j >= 0 and j != i:
                    counts[i] += 1
    v = 1
    for i in range(n):
        v = max(v, counts[i])
    vis = np.full((n, v), -1, dtype=np.int64)
    for i in range(n):
        k = 0
        for r in range(max(0, rows[i] - radius), min(height, rows[i] + radius + 1)):
            for c in range(max(0, cols[i] - radius), min(width, cols[i] + radius + 1)):
                j = occ[r * width + c]
                if j >= 0 and j != i:
                    vis[i, k] = r * width + c
                    k += 1
    return vis, counts
