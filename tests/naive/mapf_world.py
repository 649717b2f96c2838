"""Twins of ``fleetmind.tasks.mapf_lifelong._kernels``: POGEMA 1.4's soft collision system written as POGEMA writes
it."""

from __future__ import annotations

from collections import deque

import numpy as np

MOVES = [(0, 0), (-1, 0), (1, 0), (0, -1), (0, 1)]


def soft_resolve(rows, cols, actions, blocked) -> np.ndarray:
    """``Pogema.move_agents`` for ``collision_system='soft'`` (dicts of lists, recursion), returning actions."""
    h, w = blocked.shape
    actions = [int(a) for a in actions]
    xy = [(int(r), int(c)) for r, c in zip(rows, cols, strict=True)]

    def has_obstacle(x: int, y: int) -> bool:
        return not (0 <= x < h and 0 <= y < w) or bool(blocked[x, y])

    def revert(agent: int, cell: tuple[int, int]) -> None:
        actions[agent] = 0
        used_cells[cell].remove(agent)
        new_cell = xy[agent]
        if new_cell in used_cells and len(used_cells[new_cell]) > 0:
            used_cells[new_cell].append(agent)
            revert(used_cells[new_cell][0], new_cell)
        else:
            used_cells.setdefault(new_cell, []).append(agent)

    used_cells: dict[tuple[int, int], list[int]] = {}
    used_edges: dict[tuple[int, int, int, int], list[int]] = {}
    for i, (x, y) in enumerate(xy):
        dx, dy = MOVES[actions[i]]
        used_cells.setdefault((x + dx, y + dy), []).append(i)
        used_edges[x, y, x + dx, y + dy] = [i]
        if dx != 0 or dy != 0:
            used_edges.setdefault((x + dx, y + dy, x, y), []).append(i)
    for i, (x, y) in enumerate(xy):
        dx, dy = MOVES[actions[i]]
        if len(used_edges[x, y, x + dx, y + dy]) > 1:
            used_cells[x + dx, y + dy].remove(i)
            used_cells.setdefault((x, y), []).append(i)
            actions[i] = 0
    for i in reversed(range(len(xy))):
        x, y = xy[i]
        dx, dy = MOVES[actions[i]]
        if len(used_cells[x + dx, y + dy]) > 1 or has_obstacle(x + dx, y + dy):
            revert(i, (x + dx, y + dy))
    return np.array(actions, dtype=np.int64)


def bfs_distances(blocked, goal_row: int, goal_col: int) -> np.ndarray:
    h, w = blocked.shape
    dist = np.full((h, w), 2**30, dtype=np.int32)
    dist[goal_row, goal_col] = 0
    queue = deque([(goal_row, goal_col)])
    while queue:
        r, c = queue.popleft()
        for dr, dc in MOVES[1:]:
            nr, nc = r + dr, c + dc
            if 0 <= nr < h and 0 <= nc < w and not blocked[nr, nc] and dist[nr, nc] > dist[r, c] + 1:
                dist[nr, nc] = dist[r, c] + 1
                queue.append((nr, nc))
    return dist


def components(blocked) -> np.ndarray:
    h, w = blocked.shape
    label = np.full((h, w), -1, dtype=np.int64)
    current = 0
    for r in range(h):
        for c in range(w):
            if blocked[r, c] or label[r, c] >= 0:
                continue
            label[r, c] = current
            queue = deque([(r, c)])
            while queue:
                a, b = queue.popleft()
                for dr, dc in MOVES[1:]:
                    na, nb = a + dr, b + dc
                    if 0 <= na < h and 0 <= nb < w and not blocked[na, nb] and label[na, nb] < 0:
                        label[na, nb] = current
                        queue.append((na, nb))
            current += 1
    return label


def visible_agents(rows, cols, height: int, width: int, radius: int) -> tuple[np.ndarray, np.ndarray]:
    """Pairwise Chebyshev distances; each view sorted in window (row-major cell) order."""
    pos = np.stack([rows, cols], axis=1)
    near = np.abs(pos[:, None, :] - pos[None, :, :]).max(axis=2) <= radius
    np.fill_diagonal(near, False)
    views = [sorted(int(r * width + c) for r, c in pos[near[i]]) for i in range(len(pos))]
    v = max([1] + [len(x) for x in views])
    vis = np.full((len(pos), v), -1, dtype=np.int64)
    for i, cells in enumerate(views):
        vis[i, : len(cells)] = cells
    return vis, np.array([len(x) for x in views], dtype=np.int64)
