"""numba kernels of the HAS motion (``planners/has/motion.py``) that work on buffers the motion keeps across steps:
the neighbour table updated only around cells whose status changed, and PIBT's step (the MAPF planners'
``pibt_preferences`` and ``pibt_step``, same search, same answers) on occupancy tables left clean after each call.
Plain arrays in and out; twins in ``tests/naive/mapf_planners.py`` (the same searches, on fresh buffers).
"""

from __future__ import annotations

import numpy as np
from fleetmind.planners.has._kernels import stop_level
from fleetmind.planners.mapf._kernels import _pibt, rank_slots_into
from numba import njit


@njit(cache=True)
def update_neighbours(nbr, blocked, h, w, cells):  # pragma: no cover - compiled
    """Bring ``nbr`` (``(H*W, 5) int64``, ``neighbour_table`` of an earlier map) up to date for ``blocked``
    (``(H*W,) bool``) when only the cells in ``cells`` (``(K,) int64``) changed status: their rows and their
    4-neighbours' rows are written again, as ``neighbour_table`` writes them (every slot -1 on a blocked cell)."""
    dr = (0, -1, 1, 0, 0)
    dc = (0, 0, 0, -1, 1)
    for k in range(cells.shape[0]):
        r0, c0 = cells[k] // w, cells[k] % w
        for m in range(5):
            r, c = r0 + dr[m], c0 + dc[m]
            if r < 0 or r >= h or c < 0 or c >= w:
                continue
            x = r * w + c
            for s in range(5):
                nbr[x, s] = -1
            if blocked[x]:
                continue
            for s in range(5):
                nr, nc = r + dr[s], c + dc[s]
                if 0 <= nr < h and 0 <= nc < w and not blocked[nr * w + nc]:
                    nbr[x, s] = nr * w + nc


@njit(cache=True)
def pibt_move_into(
    pos, nbr, dist, drow, noise, w_occupied, priority_order, goal, swap, occ_now, occ_next, count
):  # pragma: no cover - compiled
    """``pibt_preferences(pos, nbr, dist, drow, noise, w_occupied)`` then ``pibt_step`` with those preferences
    (``(N,) int64`` chosen slots, all -1 if none is conflict-free), on the caller's ``(C,) int64`` tables
    ``occ_now``/``occ_next`` (all -1) and ``count`` (all 0): only the cells the agents stand on or next to are
    touched, and they are reset before returning, so the tables are ready for the next call."""
    n = pos.shape[0]
    for i in range(n):
        occ_now[pos[i]] = i
    order = np.empty((n, 5), dtype=np.int64)
    rank_slots_into(order, pos, nbr, dist, drow, noise, w_occupied, occ_now, np.int64(-1))  # int64, not a literal
    nxt = np.full(n, -1, dtype=np.int64)
    st_agent = np.empty(n + 1, dtype=np.int64)
    st_t = np.empty(n + 1, dtype=np.int64)
    st_swap = np.empty(n + 1, dtype=np.int64)
    for m in range(n):
        i = priority_order[m]
        if nxt[i] == -1:
            _pibt(i, pos, order, nbr, nxt, occ_now, occ_next, goal, dist, drow, swap, st_agent, st_t, st_swap)
    slot = np.full(n, -1, dtype=np.int64)
    ok = True
    for i in range(n):
        v = nxt[i]
        count[v] += 1
        if count[v] > 1:
            ok = False
            break
        j = occ_now[v]
        if j != -1 and j != i and nxt[j] == pos[i]:
            ok = False
            break
        for s in range(5):
            if nbr[pos[i], s] == v:
                slot[i] = s
    for i in range(n):  # every cell PIBT reserved is an agent's cell or one of its neighbours
        for s in range(5):
            v = nbr[pos[i], s]
            if v >= 0:
                occ_next[v] = -1
        occ_next[pos[i]] = -1
        occ_now[pos[i]] = -1
        if nxt[i] >= 0:
            count[nxt[i]] = 0
    if not ok:
        slot[:] = -1
    return slot


@njit(cache=True)
def goal_rows(goals, pos, slot, goal_of, bound, span, pool, framed, h, w, margin, scratch, mark):  # pragma: no cover
    """:class:`fleetmind.planners.has.motion.GoalFields`' bookkeeping in one call: the rows (``(M,) int64``) of
    goal cells ``goals`` for robots at ``pos`` (``(M,) int64``, or empty: no exactness check). A cached row is
    searched again (:func:`~fleetmind.planners.has._kernels.bfs_fields`' search) when a robot of it stands where it
    is not exact; a goal without a row gets a spare row (the lowest spare first, goals in the order they first
    occur; rows of goals nobody uses now are freed when spares run short). ``slot`` (cell -> row), ``goal_of``
    (row -> cell), ``bound`` (row -> exact bound), ``span`` (``(R, 2) int64``: row -> the cell range outside which
    it holds the maximum; a search resets only that range) and ``pool`` are updated in place; ``mark``
    (``(H*W,) int64``, all 0) is left all 0. The searches run on ``framed`` (:func:`frame_known`) with the scratch
    ``scratch`` (``(2, (H+2)*(W+2)) uint32``, :func:`field_framed`). Returns ``(rows, searched, shortfall)``:
    ``shortfall > 0`` means the pool lacks that many rows even after freeing idle ones; then nothing was searched
    and the caller grows the pool and calls again."""
    m = goals.shape[0]
    top = np.int64(np.iinfo(pool.dtype).max)
    everything = np.int64(2**62)
    rows = np.empty(m, dtype=np.int64)
    for i in range(m):
        rows[i] = slot[goals[i]]
    short = np.zeros(m, dtype=np.bool_)
    if pos.shape[0] > 0:
        exact = True
        for i in range(m):
            r = rows[i]
            if r < 0:
                exact = False
                continue
            v = np.int64(pool[r, pos[i]])
            if (v == top or v > bound[r]) and bound[r] < everything:
                short[i] = True
                exact = False
        if exact:  # the usual step: every row exists and is exact around its robots
            return rows, 0, 0
    missing = np.empty(m, dtype=np.int64)
    redo = np.empty(m, dtype=np.int64)
    nm = 0
    nr = 0
    for i in range(m):  # distinct goals in the order they first occur
        g = goals[i]
        if mark[g] != 0:
            continue
        if rows[i] < 0:
            missing[nm] = g
            nm += 1
            mark[g] = 1
        elif short[i]:
            redo[nr] = g
            nr += 1
            mark[g] = 1
    for k in range(nm):
        mark[missing[k]] = 0
    for k in range(nr):
        mark[redo[k]] = 0
    spare = 0
    for r in range(goal_of.shape[0]):
        if goal_of[r] < 0:
            spare += 1
    if nm > spare:  # rows of goals nobody uses now become spare
        for i in range(m):
            mark[goals[i]] = 1
        for r in range(goal_of.shape[0]):
            g = goal_of[r]
            if g >= 0 and mark[g] == 0:
                slot[g] = -1
                goal_of[r] = -1
                spare += 1
        for i in range(m):
            mark[goals[i]] = 0
        if nm > spare:
            return rows, 0, nm - spare
    k = 0
    for r in range(goal_of.shape[0]):
        if k == nm:
            break
        if goal_of[r] < 0:
            goal_of[r] = missing[k]
            slot[missing[k]] = r
            k += 1
    nt = nm + nr
    todo = np.empty(nt, dtype=np.int64)
    todo[:nm] = missing[:nm]
    todo[nm:] = redo[:nr]
    # the robots heading to each goal searched for, grouped by goal in robot order
    offsets = np.zeros(nt + 1, dtype=np.int64)
    targets = np.empty(pos.shape[0], dtype=np.int64)
    if pos.shape[0] > 0:
        for k in range(nt):
            mark[todo[k]] = k + 1
        for i in range(m):
            t = mark[goals[i]]
            if t > 0:
                offsets[t] += 1
        for k in range(nt):
            offsets[k + 1] += offsets[k]
        fill = offsets[:nt].copy()
        for i in range(m):
            t = mark[goals[i]]
            if t > 0:
                targets[fill[t - 1]] = pos[i]
                fill[t - 1] += 1
        for k in range(nt):
            mark[todo[k]] = 0
    for k in range(nt):
        r = slot[todo[k]]
        row = pool[r]
        row[span[r, 0] : span[r, 1]] = top  # the row is at the maximum outside its span
        b = field_framed(framed, h, w, todo[k], row, targets[offsets[k] : offsets[k + 1]], margin, scratch)
        bound[r] = b
        if b >= everything:
            span[r, 0], span[r, 1] = 0, h * w
        else:  # every cell it wrote lies within b + 1 steps of the goal: within these map rows
            gr = todo[k] // w
            span[r, 0], span[r, 1] = max(0, gr - b - 1) * w, min(h, gr + b + 2) * w
    for i in range(m):
        rows[i] = slot[goals[i]]
    return rows, nt, 0


@njit(cache=True)
def frame_known(known, h, w, framed):  # pragma: no cover - compiled
    """Write the map ``known`` (``(H*W,)``, 0 free) into ``framed`` (``((H+2)*(W+2),) int8``, its frame left 1) as 0
    on free cells, 1 elsewhere: the searches of :func:`field_framed` need no bounds checks."""
    pw = w + 2
    for r in range(h):
        x0 = (r + 1) * pw + 1
        for c in range(w):
            framed[x0 + c] = 0 if known[r * w + c] == 0 else 1


@njit(cache=True)
def field_framed(framed, h, w, goal, row, targets, margin, scratch):  # pragma: no cover - compiled
    """``planners/has/_kernels.py: bfs_field`` (same row, same bound) on a row the caller left at the maximum: the
    search reads the framed map (:func:`frame_known`) at fixed neighbour offsets, no bounds checks, and queues
    (framed cell, cell) pairs in ``scratch`` (``(2, (H+2)*(W+2)) uint32``); unsigned indices (numba then emits no
    negative-index wraparound per access)."""
    top = row.dtype.type(np.iinfo(row.dtype).max)
    everything = np.int64(2**62)
    pw = w + 2
    if goal < 0 or framed[(goal // w + 1) * pw + goal % w + 1] != 0:
        return everything
    qx = scratch[0]
    qc = scratch[1]
    upw, uw, one = np.uint64(pw), np.uint64(w), np.uint64(1)
    row[np.uint64(goal)] = 0
    qx[0] = (goal // w + 1) * pw + goal % w + 1
    qc[0] = goal
    head, tail = np.uint64(0), np.uint64(1)
    level = np.int64(0)
    stop = everything
    while head < tail:
        x = np.uint64(qx[head])
        cell = np.uint64(qc[head])
        d = np.int64(row[cell])
        if d > level:  # every cell of level d - 1 is done: cells up to d are exact
            level = d
            stop = stop_level(row, targets, top, d, margin, stop, everything)
            if d > stop:
                return stop
        head += one
        nd = row[cell] + 1
        for y, z in ((x - upw, cell - uw), (x + upw, cell + uw), (x - one, cell - one), (x + one, cell + one)):
            if framed[y] == 0 and row[z] == top:
                row[z] = nd
                qx[tail] = y
                qc[tail] = z
                tail += one
    return everything


@njit(cache=True)
def off_map(free, pos, goal):  # pragma: no cover - compiled
    """``(robot, goal)``: does a robot's cell ``pos`` (``(M,) int64``) lie off ``free`` (``(H*W,) bool``), does a
    goal ``goal`` (``(M,) int64``, -1: none) that is set?"""
    robot = False
    target = False
    for k in range(pos.shape[0]):
        if not free[pos[k]]:
            robot = True
        if goal[k] >= 0 and not free[goal[k]]:
            target = True
    return robot, target


@njit(cache=True)
def prioritise(free, robots, pos, goal, prio, last):  # pragma: no cover - compiled
    """PIBT's goals and priorities for robots ``robots`` (ids, ``(M,) int64``) at ``pos`` heading to ``goal``: a goal
    off ``free`` is replaced by the robot's last goal if that one is free, else by its cell; a robot with a new goal,
    or standing on it, starts again at ``(id % 97) * 1e-4``, the others gain 1. ``prio``/``last`` (per id) are
    updated in place. Returns ``(goals (M,) int64, ranked (M,) int64)``: the robots' order, highest priority first
    (ties by position in ``robots``)."""
    m = robots.shape[0]
    out = np.empty(m, dtype=np.int64)
    p = np.empty(m)
    for k in range(m):
        r = robots[k]
        before = last[r]
        g = goal[k]
        if not (g >= 0 and free[g]):
            g = before if before >= 0 and free[before] else pos[k]
        if before != g or pos[k] == g:
            p[k] = (r % 97) * 1e-4
        else:
            p[k] = prio[r] + 1.0
        prio[r] = p[k]
        last[r] = g
        out[k] = g
    return out, np.argsort(-p, kind="mergesort").astype(np.int64)


@njit(cache=True)
def move_step(
    free,
    robots,
    pos,
    goal,
    prio,
    last,
    slot,
    goal_of,
    bound,
    span,
    pool,
    framed,
    h,
    w,
    margin,
    scratch,
    mark,
    nbr,
    noise,
    occ_now,
    occ_next,
    count,
):  # pragma: no cover - compiled
    """A step of :class:`fleetmind.planners.has.motion.Motion` after its rebuild check, in one call:
    :func:`prioritise`, :func:`goal_rows` (the rows of the goals, searched where needed) and :func:`pibt_move_into`
    on the kept tables (``noise``: ``(M, 5)`` the step's tie-breaking draws). Returns ``(slots, goals, searched,
    shortfall)``: with ``shortfall > 0`` (the pool lacks rows) nothing was searched nor moved (``slots`` empty) and
    the caller grows the pool, then finishes the step with ``goals``."""
    goals, ranked = prioritise(free, robots, pos, goal, prio, last)
    rows, searched, short = goal_rows(goals, pos, slot, goal_of, bound, span, pool, framed, h, w, margin, scratch, mark)
    if short > 0:
        return np.zeros(0, dtype=np.int64), goals, searched, short
    slots = pibt_move_into(pos, nbr, pool, rows, noise, 0.5, ranked, goals, True, occ_now, occ_next, count)
    return slots, goals, searched, 0
