"""numba kernels of the exploration world: what a robot senses within its radius, with line of sight.

A cell is visible from ``(r0, c0)`` when it lies within the Euclidean ``radius`` and no blocked cell lies strictly
between the two on the Bresenham line from the robot to it (the cell itself may be a wall: walls are seen).
Plain arrays in and out; the twin in ``tests/naive/explore.py`` spells out the same rule with lists and sets.
"""

from __future__ import annotations

import numpy as np
from fleetmind.tasks.mapf_lifelong._kernels import DC, DR, soft_resolve_scratch
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


@njit(cache=True)
def ray_templates(radius):  # pragma: no cover - compiled
    """The disc of ``radius`` as offsets with the Bresenham cells strictly between the centre and each, which depend
    on the offset only: ``(off_r, off_c, start, between_r, between_c)``, the offsets in row-major order, the cells
    between offset ``k`` and the centre at ``between[start[k]:start[k + 1]]``."""
    side = 2 * radius + 1
    off_r = np.empty(side * side, dtype=np.int64)
    off_c = np.empty(side * side, dtype=np.int64)
    start = np.zeros(side * side + 1, dtype=np.int64)
    between_r = np.empty(side * side * side, dtype=np.int64)
    between_c = np.empty(side * side * side, dtype=np.int64)
    n, m = 0, 0
    for dr1 in range(-radius, radius + 1):
        for dc1 in range(-radius, radius + 1):
            if dr1 * dr1 + dc1 * dc1 > radius * radius:
                continue
            off_r[n], off_c[n] = dr1, dc1
            dr, dc = abs(dr1), abs(dc1)
            sr = 1 if dr1 > 0 else -1
            sc = 1 if dc1 > 0 else -1
            err = dc - dr
            r, c = 0, 0
            while not (r == dr1 and c == dc1):
                if r != 0 or c != 0:
                    between_r[m], between_c[m] = r, c
                    m += 1
                e2 = 2 * err
                if e2 > -dr:
                    err -= dr
                    c += sc
                if e2 < dc:
                    err += dc
                    r += sr
            n += 1
            start[n] = m
    return off_r[:n], off_c[:n], start[: n + 1], between_r[:m], between_c[:m]


@njit(cache=True)
def sense_moved(blocked, rows, cols, active, moved, templates, covered, cells, counts, fresh):  # pragma: no cover
    """:func:`sense_all` in place, for the robots flagged in ``moved`` only (a robot that stays on a static map sees
    what it saw): rows of ``cells`` (``(N, K) int64``, -1 padded) and ``counts`` rewritten by walking the
    ``templates`` (:func:`ray_templates`, the same visible set and order as :func:`visible_cells`). Cells of any
    online robot not yet in ``covered`` (``(H*W,) bool``) are marked there and listed in ``fresh``; returns
    ``(how many fresh, robot-cell sightings this step)``."""
    h, w = blocked.shape
    off_r, off_c, start, between_r, between_c = templates
    reach = 0  # the template's extent: a robot at least this far from every edge needs no bounds checks
    for k in range(off_r.shape[0]):
        reach = max(reach, abs(off_r[k]), abs(off_c[k]))
    flat = blocked.reshape(h * w)
    off_f = off_r * w + off_c
    between_f = between_r * w + between_c
    n_fresh = 0
    sightings = 0
    for i in range(rows.shape[0]):
        if moved[i]:
            n = 0
            r0, c0 = rows[i], cols[i]
            if active[i] and reach <= r0 < h - reach and reach <= c0 < w - reach:  # flat offsets, no checks
                x0 = r0 * w + c0
                for k in range(off_f.shape[0]):
                    clear = True
                    for m in range(start[k], start[k + 1]):
                        if flat[x0 + between_f[m]]:
                            clear = False
                            break
                    if clear:
                        cells[i, n] = x0 + off_f[k]
                        n += 1
            elif active[i]:
                for k in range(off_r.shape[0]):
                    r, c = r0 + off_r[k], c0 + off_c[k]
                    if r < 0 or r >= h or c < 0 or c >= w:
                        continue
                    clear = True
                    for m in range(start[k], start[k + 1]):
                        if blocked[r0 + between_r[m], c0 + between_c[m]]:
                            clear = False
                            break
                    if clear:
                        cells[i, n] = r * w + c
                        n += 1
            for k in range(n, cells.shape[1]):
                cells[i, k] = -1
            counts[i] = n
        sightings += counts[i]
        for k in range(counts[i]):
            cell = cells[i, k]
            if not covered[cell]:
                covered[cell] = True
                fresh[n_fresh] = cell
                n_fresh += 1
    return n_fresh, sightings


@njit(cache=True)
def count_conflicts(rows, cols, actions, blocked):  # pragma: no cover - compiled
    """How many vertex conflicts (cells two or more agents would end in, each agent alone: a move into a wall or off
    the map stays) and swaps (pairs trading cells) a joint move holds: ``len(vertex) + len(swaps)`` of
    ``fleetmind.tasks.mapf_lifelong.shield.conflict_pairs``, in O(N^2) without allocating per cell."""
    n = rows.shape[0]
    h, w = blocked.shape
    end = np.empty(n, dtype=np.int64)
    for i in range(n):
        a = actions[i]
        r, c = rows[i] + DR[a], cols[i] + DC[a]
        if r < 0 or r >= h or c < 0 or c >= w or blocked[r, c]:
            r, c = rows[i], cols[i]
        end[i] = r * w + c
    total = 0
    for i in range(n):
        start_i = rows[i] * w + cols[i]
        first = True
        shared = False
        for j in range(n):
            if j == i or end[j] != end[i]:
                continue
            shared = True
            if j < i:
                first = False
                break
        if shared and first:
            total += 1
        if end[i] != start_i:
            for j in range(i + 1, n):
                if end[i] == rows[j] * w + cols[j] and end[j] == start_i:
                    total += 1
    return total


@njit(cache=True)
def step_world(
    blocked, pos, active, actions, templates, covered, cells, counts, fresh, sensed_at, lists, slots, edges
):  # pragma: no cover - compiled
    """``fleetmind.sim.explore.world.ExploreWorld.step`` on its arrays in one call: the online robots' ``actions``
    (``(N,) int64``) counted for conflicts (:func:`count_conflicts`) and resolved under the soft collision rules
    (``soft_resolve_scratch`` on the world's zeroed scratch ``lists``/``slots``/``edges``), ``pos`` (``(N, 2) int64``)
    moved in place, then the robots whose cell differs from ``sensed_at`` (or that are offline) sense again
    (:func:`sense_moved`) and ``sensed_at`` is updated (``(-1, -1)`` for offline robots). Returns ``(executed (N,)
    int64, conflicts, fresh cells, sightings, fresh cells that are free)``."""
    num = pos.shape[0]
    m = 0
    for i in range(num):
        if active[i]:
            m += 1
    on = np.empty(m, dtype=np.int64)
    k = 0
    for i in range(num):
        if active[i]:
            on[k] = i
            k += 1
    rows = np.empty(m, dtype=np.int64)
    cols = np.empty(m, dtype=np.int64)
    asked = np.empty(m, dtype=np.int64)
    for k in range(m):
        rows[k], cols[k], asked[k] = pos[on[k], 0], pos[on[k], 1], actions[on[k]]
    executed = np.zeros(num, dtype=np.int64)
    conflicts = 0
    if m > 0:
        conflicts = count_conflicts(rows, cols, asked, blocked)
        done = soft_resolve_scratch(rows, cols, asked, blocked, lists, slots, edges)
        for k in range(m):
            i = on[k]
            executed[i] = done[k]
            pos[i, 0] += DR[done[k]]
            pos[i, 1] += DC[done[k]]
    moved = np.empty(num, dtype=np.bool_)
    rows = np.empty(num, dtype=np.int64)
    cols = np.empty(num, dtype=np.int64)
    for i in range(num):
        moved[i] = pos[i, 0] != sensed_at[i, 0] or pos[i, 1] != sensed_at[i, 1] or not active[i]
        rows[i], cols[i] = pos[i, 0], pos[i, 1]
    n, sightings = sense_moved(blocked, rows, cols, active, moved, templates, covered, cells, counts, fresh)
    for i in range(num):
        sensed_at[i, 0] = pos[i, 0] if active[i] else -1
        sensed_at[i, 1] = pos[i, 1] if active[i] else -1
    w = blocked.shape[1]
    free = 0
    for k in range(n):
        if not blocked[fresh[k] // w, fresh[k] % w]:
            free += 1
    return executed, conflicts, n, sightings, free
