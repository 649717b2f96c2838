"""numba kernels of the HAS planners and the frontier baselines: frontier cells, BFS on the known free cells, and
the Hungarian (min-cost) assignment (Burgard's is in ``_assign_kernels.py``). Plain arrays in and out; twins in
``tests/naive/explore.py``.

Known map codes (``(H*W,) int8``): -1 unknown, 0 free, 1 wall.
"""

from __future__ import annotations

import numpy as np
from fleetmind.robots._assignment_kernels import hungarian  # noqa: F401  (re-exported: planners.has uses it from here)
from numba import njit

UNREACHED = np.int32(2**30)


@njit(cache=True)
def frontier_cells(known, h, w):  # pragma: no cover - compiled
    """``(K,) int64`` row-major indices of the frontier: known free cells with an unknown 4-neighbour (cells on the
    map's edge do not count the outside as unknown), in row-major order."""
    out = np.empty(h * w, dtype=np.int64)
    n = 0
    for r in range(h):
        for c in range(w):
            cell = r * w + c
            if known[cell] != 0:
                continue
            if (
                (r > 0 and known[cell - w] < 0)
                or (r < h - 1 and known[cell + w] < 0)
                or (c > 0 and known[cell - 1] < 0)
                or (c < w - 1 and known[cell + 1] < 0)
            ):
                out[n] = cell
                n += 1
    return out[:n]


@njit(cache=True)
def bfs_known(known, h, w, sources):  # pragma: no cover - compiled
    """``(S, H*W) int32`` 4-connected step distances from each source cell over the known free cells
    (``UNREACHED`` elsewhere); a source on a cell that is not known free reaches nothing."""
    s = sources.shape[0]
    dist = np.full((s, h * w), UNREACHED, dtype=np.int32)
    queue = np.empty(h * w, dtype=np.int64)
    for k in range(s):
        src = sources[k]
        if src < 0 or known[src] != 0:
            continue
        d = dist[k]
        d[src] = 0
        queue[0] = src
        head, tail = 0, 1
        while head < tail:
            cell = queue[head]
            head += 1
            r, c = cell // w, cell % w
            nd = d[cell] + 1
            if r > 0 and known[cell - w] == 0 and d[cell - w] == UNREACHED:
                d[cell - w] = nd
                queue[tail] = cell - w
                tail += 1
            if r < h - 1 and known[cell + w] == 0 and d[cell + w] == UNREACHED:
                d[cell + w] = nd
                queue[tail] = cell + w
                tail += 1
            if c > 0 and known[cell - 1] == 0 and d[cell - 1] == UNREACHED:
                d[cell - 1] = nd
                queue[tail] = cell - 1
                tail += 1
            if c < w - 1 and known[cell + 1] == 0 and d[cell + 1] == UNREACHED:
                d[cell + 1] = nd
                queue[tail] = cell + 1
                tail += 1
    return dist


@njit(cache=True)
def label_frontier(cells, h, w):  # pragma: no cover - compiled
    """``(K,) int64`` 4-connected cluster of each frontier cell (``cells``: ``(K,) int64`` row-major, sorted), numbered
    in the order of each cluster's first cell; the work is O(K), not O(H*W) (one scratch row of the map)."""
    return label_frontier_into(cells, h, w, np.full(h * w, -1, dtype=np.int64))


@njit(cache=True)
def label_frontier_into(cells, h, w, slot):  # pragma: no cover - compiled
    """:func:`label_frontier` on a caller's scratch ``slot`` (``(H*W,) int64``, all -1; left all -1)."""
    k = cells.shape[0]
    for i in range(k):
        slot[cells[i]] = i
    label = np.full(k, -1, dtype=np.int64)
    queue = np.empty(k, dtype=np.int64)
    current = 0
    for start in range(k):
        if label[start] >= 0:
            continue
        label[start] = current
        queue[0] = start
        head, tail = 0, 1
        while head < tail:
            i = queue[head]
            head += 1
            cell = cells[i]
            r, c = cell // w, cell % w
            for nb, ok in ((cell - w, r > 0), (cell + w, r < h - 1), (cell - 1, c > 0), (cell + 1, c < w - 1)):
                if ok:
                    j = slot[nb]
                    if j >= 0 and label[j] < 0:
                        label[j] = current
                        queue[tail] = j
                        tail += 1
        current += 1
    for i in range(k):
        slot[cells[i]] = -1
    return label


WALL = np.int32(2**31 - 1)  # a framed map's cell no search enters (not known free, or the frame)


@njit(cache=True)
def _framed(known, h, w, cluster_of, rep_of):  # pragma: no cover - compiled
    """The map framed by a wall, ``(H+2)*(W+2)`` cells: ``dist`` (0 on known free cells, ``WALL`` elsewhere: a
    search reads one array per neighbour) and ``tag`` (``2 * cluster + 1`` on the cell that represents the cluster,
    ``2 * cluster`` on its other cells, -1 elsewhere)."""
    pw = w + 2
    size = (h + 2) * pw
    dist = np.full(size, WALL, dtype=np.int32)
    tag = np.full(size, -1, dtype=np.int32)
    for r in range(h):
        for c in range(w):
            cell = r * w + c
            x = (r + 1) * pw + c + 1
            if known[cell] == 0:
                dist[x] = 0
            if cluster_of[cell] >= 0:
                tag[x] = cluster_of[cell] * 2
            if rep_of[cell] >= 0:
                tag[x] = rep_of[cell] * 2 + 1
    return dist, tag


@njit(cache=True)
def _reach_rows(dist, tag, pw, w, sources, t, limit, slack, near, rep, queue):  # pragma: no cover - compiled
    """The searches of :func:`cluster_reach` (rows of ``near``/``rep``) on the framed ``dist`` (free cells below 1,
    ``WALL`` elsewhere) with the scratch ``queue`` (framed size, ``uint32``). Level by level; the k-th search marks
    a cell visited by writing ``base_k + steps`` (``base_k`` above every earlier search's values), so nothing is
    reset between searches (free cells end up holding stamps below ``WALL``). Indices are unsigned: numba then
    emits no negative-index wraparound per access (about half the time of a search)."""
    upw = np.uint32(pw)
    one = np.uint32(1)
    base = np.int32(1)
    for k in range(sources.shape[0]):
        src = sources[k]
        if src < 0:
            continue
        x0 = np.uint32((src // w + 1) * pw + src % w + 1)
        if dist[x0] >= base:  # a wall (a free cell holds a stamp below base)
            continue
        dist[x0] = base
        queue[0] = x0
        head, tail = np.uint32(0), np.uint32(1)
        found = 0
        stop = limit
        d = 0
        while head < tail and d <= stop and found < t:
            end = tail
            nd = np.int32(base + d + 1)
            while head < end:
                x = queue[head]
                head += one
                g = tag[x]
                if g >= 0:
                    lab = g >> 1
                    if near[k, lab] == UNREACHED:
                        near[k, lab] = d
                        stop = min(stop, d + slack)
                    if g & 1:
                        rep[k, lab] = d
                        found += 1
                        if found >= t:
                            break
                y = x - upw
                if dist[y] < base:
                    dist[y] = nd
                    queue[tail] = y
                    tail += one
                y = x + upw
                if dist[y] < base:
                    dist[y] = nd
                    queue[tail] = y
                    tail += one
                y = x - one
                if dist[y] < base:
                    dist[y] = nd
                    queue[tail] = y
                    tail += one
                y = x + one
                if dist[y] < base:
                    dist[y] = nd
                    queue[tail] = y
                    tail += one
            d += 1
        base = np.int32(base + d + 2)
        if base > 2**30:  # stamps stay below WALL: start again (free cells back to 0)
            for i in range(dist.shape[0]):
                if dist[i] < WALL:
                    dist[i] = 0
            base = np.int32(1)


@njit(cache=True)
def cluster_reach(known, h, w, sources, cluster_of, rep_of, t, limit, slack):  # pragma: no cover - compiled
    """BFS steps over the known free cells from each source to each of ``t`` frontier clusters: ``near`` ``(S, T)
    int32`` to the cluster's nearest cell and ``rep`` ``(S, T) int32`` to its representative cell (``UNREACHED``
    where not reached). ``cluster_of``/``rep_of``: ``(H*W,) int64`` a cell's cluster / the cluster it represents
    (-1: none; a representative is a cell of its own cluster). Each search stops once it has reached every
    representative, passed ``limit`` steps, or passed ``slack`` steps beyond the first cluster it reached (what a
    nearest-first rule needs), and resets only the cells it touched, so its cost is the cells it visits, not the
    map. The searches run on a copy of the map framed by a wall (no bounds checks, neighbours at fixed offsets)."""
    near = np.full((sources.shape[0], t), UNREACHED, dtype=np.int32)
    rep = np.full((sources.shape[0], t), UNREACHED, dtype=np.int32)
    dist, tag = _framed(known, h, w, cluster_of, rep_of)
    queue = np.empty(dist.shape[0], dtype=np.uint32)
    _reach_rows(dist, tag, w + 2, w, sources, t, limit, slack, near, rep, queue)
    return near, rep


@njit(cache=True)
def cluster_reach_into(
    known, h, w, sources, cells, label, reps, limit, slack, dist, tag, queue, tagged
):  # pragma: no cover - compiled
    """:func:`cluster_reach` on a caller's scratch, kept across calls on one map size: ``dist``/``tag`` the framed
    map (``dist`` rewritten here inside its ``WALL`` frame; ``tag`` -1 everywhere but at ``tagged``, the framed cells
    the last call tagged) and ``queue`` (framed size, ``uint32``). The clusters come as the frontier cells ``cells``
    with their ``label`` and the representatives ``reps`` (one cell per cluster). Returns ``near``, ``rep`` and the
    framed cells tagged now (the next call's ``tagged``)."""
    pw = w + 2
    for r in range(h):
        base = r * w
        x0 = (r + 1) * pw + 1
        for c in range(w):
            dist[x0 + c] = 0 if known[base + c] == 0 else WALL
    for i in range(tagged.shape[0]):
        tag[tagged[i]] = -1
    k, t = cells.shape[0], reps.shape[0]
    now = np.empty(k + t, dtype=np.int64)
    for i in range(k):
        x = (cells[i] // w + 1) * pw + cells[i] % w + 1
        tag[x] = label[i] * 2
        now[i] = x
    for j in range(t):
        x = (reps[j] // w + 1) * pw + reps[j] % w + 1
        tag[x] = j * 2 + 1
        now[k + j] = x
    near = np.full((sources.shape[0], t), UNREACHED, dtype=np.int32)
    rep = np.full((sources.shape[0], t), UNREACHED, dtype=np.int32)
    _reach_rows(dist, tag, pw, w, sources, t, limit, slack, near, rep, queue)
    return near, rep, now


@njit(cache=True)
def bfs_field(known, h, w, goal, row, targets, margin):  # pragma: no cover - compiled
    """Fill ``row`` (``(H*W,)`` unsigned ints) with 4-connected step distances to ``goal`` over the known free cells
    (the dtype's maximum elsewhere): a PIBT cost-to-go row written in place. The search stops ``margin`` levels after
    it has found every cell of ``targets`` (``(K,) int64``, the robots heading there; an empty array: run to the end).
    Returns the bound ``B``: every cell within ``B + 1`` steps of the goal holds its exact distance, cells beyond hold
    the maximum (``2**62`` when the search ran to the end: the whole row is exact)."""
    return _field_into(known, h, w, goal, row, targets, margin, np.empty((3, h * w), dtype=np.int64), True)


@njit(cache=True)
def bfs_fields(known, h, w, goals, pool, rows, targets, offsets, margin, scratch):  # pragma: no cover - compiled
    """:func:`bfs_field` for each goal ``goals[k]`` into ``pool[rows[k]]``, its robots' cells
    ``targets[offsets[k]:offsets[k + 1]]``, on one ``(3, H*W) int64`` scratch; ``(K,) int64`` the bounds."""
    out = np.empty(goals.shape[0], dtype=np.int64)
    for k in range(goals.shape[0]):
        t = targets[offsets[k] : offsets[k + 1]]
        out[k] = _field_into(known, h, w, goals[k], pool[rows[k]], t, margin, scratch, True)
    return out


@njit(cache=True, inline="always")
def stop_level(row, targets, top, d, margin, stop, everything):  # pragma: no cover - compiled
    """Where a goal-row search may stop once every cell of level ``d - 1`` is done: ``stop`` as it was until every
    target is reached (none: never), then ``d - 1 + margin`` (cells up to ``d`` are exact)."""
    if stop != everything or targets.shape[0] == 0:
        return stop
    for k in range(targets.shape[0]):
        if row[targets[k]] == top:
            return stop
    return d - 1 + margin


@njit(cache=True)
def _field_into(known, h, w, goal, row, targets, margin, scratch, fill):  # pragma: no cover - compiled
    top = row.dtype.type(np.iinfo(row.dtype).max)
    if fill:  # else the caller left the row at the maximum
        row[:] = top
    everything = np.int64(2**62)
    if goal < 0 or known[goal] != 0:
        return everything
    queue = scratch[0]
    qrow = scratch[1]  # rows and columns ride along: no division per cell
    qcol = scratch[2]
    row[goal] = 0
    queue[0] = goal
    qrow[0], qcol[0] = goal // w, goal % w
    head, tail = 0, 1
    level = np.int64(0)
    stop = everything
    while head < tail:
        cell = queue[head]
        r, c = qrow[head], qcol[head]
        d = np.int64(row[cell])
        if d > level:  # every cell of level d - 1 is done: cells up to d are exact
            level = d
            stop = stop_level(row, targets, top, d, margin, stop, everything)
            if d > stop:
                return stop
        head += 1
        nd = row[cell] + 1
        if r > 0 and known[cell - w] == 0 and row[cell - w] == top:
            row[cell - w] = nd
            queue[tail], qrow[tail], qcol[tail] = cell - w, r - 1, c
            tail += 1
        if r < h - 1 and known[cell + w] == 0 and row[cell + w] == top:
            row[cell + w] = nd
            queue[tail], qrow[tail], qcol[tail] = cell + w, r + 1, c
            tail += 1
        if c > 0 and known[cell - 1] == 0 and row[cell - 1] == top:
            row[cell - 1] = nd
            queue[tail], qrow[tail], qcol[tail] = cell - 1, r, c - 1
            tail += 1
        if c < w - 1 and known[cell + 1] == 0 and row[cell + 1] == top:
            row[cell + 1] = nd
            queue[tail], qrow[tail], qcol[tail] = cell + 1, r, c + 1
            tail += 1
    return everything


@njit(cache=True)
def update_frontier(known, h, w, changed, mask):  # pragma: no cover - compiled
    """Bring ``mask`` (``(H*W,) bool``, the frontier of ``known`` before the cells in ``changed`` took their values)
    up to date: only those cells and their 4-neighbours can have changed status (:func:`frontier_cells`' rule)."""
    for k in range(changed.shape[0]):
        cell = changed[k]
        r0, c0 = cell // w, cell % w
        for dr, dc in ((0, 0), (-1, 0), (1, 0), (0, -1), (0, 1)):
            r, c = r0 + dr, c0 + dc
            if r < 0 or r >= h or c < 0 or c >= w:
                continue
            x = r * w + c
            mask[x] = known[x] == 0 and (
                (r > 0 and known[x - w] < 0)
                or (r < h - 1 and known[x + w] < 0)
                or (c > 0 and known[x - 1] < 0)
                or (c < w - 1 and known[x + 1] < 0)
            )


@njit(cache=True)
def frontier_reps(cells, label, t, w):  # pragma: no cover - compiled
    """``(reps, sizes)``, ``(T,) int64`` each: per cluster ``0..T-1`` of the frontier cells ``cells`` (labels
    ``label``, both ``(K,)``), the member nearest its centroid (the first in ``cells``' order on a tie) and its size."""
    sizes = np.zeros(t, dtype=np.int64)
    sr = np.zeros(t)
    sc = np.zeros(t)
    for k in range(cells.shape[0]):
        lab = label[k]
        sizes[lab] += 1
        sr[lab] += cells[k] // w
        sc[lab] += cells[k] % w
    mr = sr / sizes
    mc = sc / sizes
    best = np.full(t, np.inf)
    reps = np.empty(t, dtype=np.int64)
    for k in range(cells.shape[0]):
        lab = label[k]
        dr = cells[k] // w - mr[lab]
        dc = cells[k] % w - mc[lab]
        off = dr * dr + dc * dc
        if off < best[lab]:
            best[lab] = off
            reps[lab] = cells[k]
    return reps, sizes
