"""numba kernels of the Vicsek step (issue 15's speed pass): the agents sorted by cell and gathered in one pass, the
neighbour sums over interleaved records, and the update with a polynomial sincos. ``_kernels.vicsek_step`` (twin in
``tests/naive/swarm.py``) and ``VicsekWorld.step`` run on these; conventions as in ``_kernels.py``.

Agents in cell order live in one ``(N, 4) float64`` record array ``p`` (x, y, cos, sin of the heading): a candidate
neighbour is one 32-byte read, not four arrays. The sums ``acc (N, 2)`` are the neighbours' heading vectors only (the
Vicsek rule normalises their sum: no count). Each pair within ``r`` is found once (a half shell: the later agents of
the own cell and the east cell as ONE slice, then the north-west / north / north-east cells as one slice away from
the seams); threads run blocks of cell rows in two phases as ``_pair_kernels.neighbour_sums_into`` does, and the
serial path runs the same blocks in the same order, so results do not depend on the thread count.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

CHUNKS = 64  # prange blocks (of cell rows or agents) per parallel loop, shared out among the threads
# Taylor coefficients of sin(y) / y and cos(y) in y^2 for |y| <= pi / 2 (11 terms each: truncation below 1e-17)
_S = tuple((-1.0) ** j / math.factorial(2 * j + 1) for j in range(11))
_C = tuple((-1.0) ** j / math.factorial(2 * j) for j in range(11))
_PI_HI = math.pi  # pi = _PI_HI + _PI_LO to twice the double precision: pi - a without losing a's last bits
_PI_LO = 1.2246467991473532e-16


@njit(cache=True)
def _cell_of(x, y, box, ncx):  # pragma: no cover - compiled
    cx = min(max(int(x * ncx / box), 0), ncx - 1)
    cy = min(max(int(y * ncx / box), 0), ncx - 1)
    return cy * ncx + cx


@njit(cache=True)
def _keep_inside(x, box, periodic):  # pragma: no cover - compiled
    """A coordinate moved back into the box: wrapped (periodic) or reflected off the walls. Returns (x, flipped)."""
    if periodic:
        if x < 0.0 or x >= box:
            if -box <= x < 0.0:  # one box off (the usual case): x - box * floor(x / box) without the division
                x += box
            elif box <= x < 2.0 * box:
                x -= box
            else:
                x = x - box * np.floor(x / box)
            if x >= box:  # -1e-17 % box == box
                x -= box
        return x, False
    flipped = False
    if x < 0.0:
        x = -x
        flipped = True
    elif x > box:
        x = 2.0 * box - x
        flipped = True
    return min(max(x, 0.0), box), flipped


@njit(cache=True, inline="always")
def _sincos_poly(x):  # pragma: no cover - compiled
    """``(sin x, cos x)`` for ``|x| <= pi`` without branches (selects; SIMD in a loop): reflected to ``[0, pi / 2]``
    (pi in two parts), Taylor in half the angle (no cancellation up to ``pi / 4``), then the double angle."""
    a = abs(x)
    far = a > 0.5 * np.pi
    b = (_PI_HI - a) + _PI_LO if far else a
    y = 0.5 * b
    z = y * y
    s = _S[10]
    c = _C[10]
    s = s * z + _S[9]
    c = c * z + _C[9]
    s = s * z + _S[8]
    c = c * z + _C[8]
    s = s * z + _S[7]
    c = c * z + _C[7]
    s = s * z + _S[6]
    c = c * z + _C[6]
    s = s * z + _S[5]
    c = c * z + _C[5]
    s = s * z + _S[4]
    c = c * z + _C[4]
    s = s * z + _S[3]
    c = c * z + _C[3]
    s = s * z + _S[2]
    c = c * z + _C[2]
    s = s * z + _S[1]
    c = c * z + _C[1]
    s = s * z + _S[0]
    c = c * z + _C[0]
    s *= y
    sin_b = 2.0 * s * c
    cos_b = 1.0 - 2.0 * s * s
    return (sin_b if x >= 0.0 else -sin_b), (-cos_b if far else cos_b)


@njit(cache=True, inline="always")
def sincos(x):  # pragma: no cover - compiled
    """``(sin x, cos x)``: for ``|x| <= pi`` the polynomial of ``_sincos_poly`` (within 1e-15 of libm), else libm."""
    if not -np.pi <= x <= np.pi:
        return np.sin(x), np.cos(x)
    return _sincos_poly(x)


@njit(cache=True)
def rotations(turn, noise, shift, scale, dt, i0, i1, out):  # pragma: no cover - compiled
    """``out[0, i], out[1, i]`` = sin, cos of agent ``i``'s turn ``turn[i] * dt + (noise[i] - shift) * scale``
    (``update``'s convention) for ``i0 <= i < i1``: a branch-free loop over rows (not ``(N, 2)``) that the compiler
    runs 4 agents at a time (0.04 against libm's 0.12-0.16 ms for 10,000 agents); angles beyond ``pi`` (large turn
    rates) are redone with libm."""
    t = turn[i0:i1]  # slices, indexed from 0 to their length: the compiler then knows no index is negative
    u = noise[i0:i1]
    sin_out = out[0, i0:i1]
    cos_out = out[1, i0:i1]
    for j in range(t.shape[0]):
        sin_out[j], cos_out[j] = _sincos_poly(t[j] * dt + (u[j] - shift) * scale)
    for j in range(t.shape[0]):
        x = t[j] * dt + (u[j] - shift) * scale
        if not -np.pi <= x <= np.pi:
            sin_out[j] = np.sin(x)
            cos_out[j] = np.cos(x)


@njit(cache=True)
def build_cells_into(pos, box, ncx, cells, order, start):  # pragma: no cover - compiled
    """``build_cells`` into preallocated int64 arrays ``cells (N,)`` (scratch), ``order (N,)`` and ``start
    (ncx * ncx + 1,)`` (both overwritten). Returns ``order, start``."""
    n = pos.shape[0]
    nc = ncx * ncx
    start[:] = 0
    for i in range(n):
        c = _cell_of(pos[i, 0], pos[i, 1], box, ncx)
        cells[i] = c
        start[c + 1] += 1
    for c in range(nc):
        start[c + 1] += start[c]
    for i in range(n - 1, -1, -1):  # from the back, each cell's last slot first: stable, no second counter array
        c = cells[i]
        start[c + 1] -= 1
        order[start[c + 1]] = i
    for c in range(nc):  # start[c + 1] now holds cell c's first slot: shift back
        start[c] = start[c + 1]
    start[nc] = n
    return order, start


@njit(cache=True)
def sort_into(pos, head, box, ncx, cell, order, start, p):  # pragma: no cover - compiled
    """The cell lists of ``pos`` (``order``, ``start`` as ``_kernels.build_cells``: a stable counting sort) and the
    agents gathered in cell order, ``p[k] = (x, y, head_x, head_y)`` of agent ``order[k]``. ``cell (N,) int64`` is
    scratch; everything is overwritten."""
    build_cells_into(pos, box, ncx, cell, order, start)
    gather_into(pos, head, order, p)


@njit(cache=True)
def gather_into(pos, head, order, p):  # pragma: no cover - compiled
    """``p[k] = (x, y, head_x, head_y)`` of agent ``order[k]`` (cell lists built elsewhere)."""
    for k in range(pos.shape[0]):
        i = order[k]
        p[k, 0] = pos[i, 0]
        p[k, 1] = pos[i, 1]
        p[k, 2] = head[i, 0]
        p[k, 3] = head[i, 1]


@njit(cache=True, inline="always")
def _pairs(p, acc, k, q0, q1, shx, shy, r2):  # pragma: no cover - compiled
    """Agent ``k`` against agents ``q0 <= q < q1`` (shifted by ``(shx, shy)``): a pair within ``r`` adds each one's
    heading to the other's sum. The test is a select, not a branch (about half the candidates pass: a branch
    mispredicts); a pair outside adds ``0.0 * value``, which leaves the sums bit for bit as the branch would."""
    xi = p[k, 0]
    yi = p[k, 1]
    ci = p[k, 2]
    si = p[k, 3]
    ac = 0.0
    as_ = 0.0
    for q in range(q0, q1):
        dx = (p[q, 0] - xi) + shx
        dy = (p[q, 1] - yi) + shy
        w = 1.0 if dx * dx + dy * dy <= r2 else 0.0
        ac += w * p[q, 2]
        as_ += w * p[q, 3]
        acc[q, 0] += w * ci
        acc[q, 1] += w * si
    acc[k, 0] += ac
    acc[k, 1] += as_


@njit(cache=True)
def _half_rows(p, start, ncx, box, r2, periodic, row0, row1, acc):  # pragma: no cover - compiled
    """The half shell of the agents in cell rows ``row0 <= cy < row1`` (writes rows ``row0 .. row1``)."""
    for cy in range(row0, row1):
        ny = cy + 1
        shy = 0.0
        above = True
        if ny >= ncx:
            if periodic:
                ny -= ncx
                shy = box
            else:
                above = False
        row = ny * ncx
        for cx in range(ncx):  # each slice of candidates against every agent of the cell (short loops, few branches)
            c = cy * ncx + cx
            k0 = start[c]
            k1 = start[c + 1]
            if k0 == k1:
                continue
            if cx + 1 < ncx:  # the east cell follows in memory: the own cell's later agents and east in one slice
                last = start[c + 2]
                for k in range(k0, k1):
                    _pairs(p, acc, k, k + 1, last, 0.0, 0.0, r2)
            else:
                for k in range(k0, k1):
                    _pairs(p, acc, k, k + 1, k1, 0.0, 0.0, r2)
                if periodic:  # east is the row's first cell, one box away
                    e0 = start[cy * ncx]
                    e1 = start[cy * ncx + 1]
                    for k in range(k0, k1):
                        _pairs(p, acc, k, e0, e1, box, 0.0, r2)
            if not above:
                continue
            if cx >= 1 and cx + 1 < ncx:  # north-west, north, north-east: one slice
                n0 = start[row + cx - 1]
                n1 = start[row + cx + 2]
                for k in range(k0, k1):
                    _pairs(p, acc, k, n0, n1, 0.0, shy, r2)
                continue
            for ox in range(-1, 2):
                nx = cx + ox
                sx = 0.0
                if nx < 0:
                    if not periodic:
                        continue
                    nx += ncx
                    sx = -box
                elif nx >= ncx:
                    if not periodic:
                        continue
                    nx -= ncx
                    sx = box
                n0 = start[row + nx]
                n1 = start[row + nx + 1]
                for k in range(k0, k1):
                    _pairs(p, acc, k, n0, n1, sx, shy, r2)


@njit(cache=True, parallel=True)
def _half_parallel(p, start, ncx, box, r2, periodic, chunks, phase, acc):  # pragma: no cover - compiled
    for h in prange(chunks // 2):
        b = 2 * h + phase
        _half_rows(p, start, ncx, box, r2, periodic, b * ncx // chunks, (b + 1) * ncx // chunks, acc)


@njit(cache=True)
def _all_pairs(p, box, r2, acc):  # pragma: no cover - compiled
    """Every pair, the minimum image per pair (a periodic grid of 1 or 2 cells a side)."""
    half = 0.5 * box
    n = p.shape[0]
    for k in range(n):
        for q in range(k + 1, n):
            dx = p[q, 0] - p[k, 0]
            dy = p[q, 1] - p[k, 1]
            if dx > half:
                dx -= box
            elif dx < -half:
                dx += box
            if dy > half:
                dy -= box
            elif dy < -half:
                dy += box
            if dx * dx + dy * dy <= r2:
                acc[k, 0] += p[q, 2]
                acc[k, 1] += p[q, 3]
                acc[q, 0] += p[k, 2]
                acc[q, 1] += p[k, 3]


@njit(cache=True)
def heading_sums_into(p, start, ncx, box, r, periodic, threaded, acc):  # pragma: no cover - compiled
    """``acc[k]`` = the sum of the heading vectors ``p[q, 2:4]`` over agent ``k``'s neighbours (the OTHER agents
    within ``r``), in cell order; ``acc (N, 2) float64`` is overwritten. ``threaded``: blocks on threads."""
    acc[:] = 0.0
    r2 = r * r
    if periodic and ncx < 3:
        _all_pairs(p, box, r2, acc)
        return
    chunks = min(ncx, CHUNKS)
    chunks -= chunks % 2
    if chunks < 2:  # one cell row (a walled box of side < 2 r)
        # np.int64(0), not 0: numba compiles a callee again for a literal argument (Literal[int](0) != int64)
        _half_rows(p, start, ncx, box, r2, periodic, np.int64(0), ncx, acc)
        return
    for phase in range(2):
        if threaded:
            _half_parallel(p, start, ncx, box, r2, periodic, chunks, phase, acc)
        else:
            for b in range(phase, chunks, 2):
                _half_rows(p, start, ncx, box, r2, periodic, b * ncx // chunks, (b + 1) * ncx // chunks, acc)


@njit(cache=True)
def update(p, acc, order, turn, noise, shift, scale, rot, box, speed, dt, coupling, periodic, k0, k1, new_pos,
           new_head):  # fmt: skip  # pragma: no cover - compiled
    """The Vicsek update of the agents ``k0 <= k < k1`` (cell order) from their neighbour sums ``acc``: the sum
    over the agent and its neighbours straight into the new heading (unit vector) and position, written at the
    agent's index ``order[k]``. The noise angle of agent ``i`` is ``(noise[i] - shift) * scale`` (a world passes
    uniform draws, ``0.5`` and ``eta``; given angles: ``0.0``, ``1.0``). With ``coupling`` 0 or 1 the turns' sin and
    cos come from ``rot (2, N)`` (``rotations``), else they are computed here. Returns the sum of the new headings."""
    step = speed * dt
    fixed = coupling == 1.0 or coupling == 0.0  # the turn does not depend on the neighbours: ``rot`` holds it
    tc = 0.0
    ts = 0.0
    for k in range(k0, k1):
        hx = p[k, 2]
        hy = p[k, 3]
        ac = acc[k, 0] + hx
        as_ = acc[k, 1] + hy
        i = order[k]
        norm = np.sqrt(ac * ac + as_ * as_)
        if norm > 0.0:
            inv = 1.0 / norm
            mx = ac * inv
            my = as_ * inv
        else:  # headings cancel exactly: atan2(0, 0) = 0
            mx = 1.0
            my = 0.0
        if fixed:
            sr = rot[0, i]
            cr = rot[1, i]
            turned = sr != 0.0 or cr != 1.0  # a turn of exactly 0 gives (0, 1); any other turn does not
            if coupling == 1.0:
                hx = mx
                hy = my
        else:  # turn by coupling * (the angle from the own heading to the mean heading) as well
            a = turn[i] * dt + (noise[i] - shift) * scale + coupling * np.arctan2(hx * my - hy * mx, hx * mx + hy * my)
            turned = a != 0.0
            sr, cr = sincos(a)
        if turned:
            hx, hy = hx * cr - hy * sr, hx * sr + hy * cr
            if coupling != 1.0:  # a heading rotated step after step (not renewed from the mean): keep it a unit vector
                inv = 1.0 / np.sqrt(hx * hx + hy * hy)
                hx *= inv
                hy *= inv
        x, fx = _keep_inside(p[k, 0] + step * hx, box, periodic)
        y, fy = _keep_inside(p[k, 1] + step * hy, box, periodic)
        if fx:  # a wall reflects the heading
            hx = -hx
        if fy:
            hy = -hy
        new_pos[i, 0] = x
        new_pos[i, 1] = y
        new_head[i, 0] = hx
        new_head[i, 1] = hy
        tc += hx
        ts += hy
    return tc, ts


@njit(cache=True, parallel=True)
def _update_parallel(p, acc, order, turn, noise, shift, scale, rot, box, speed, dt, coupling, periodic, new_pos,
                     new_head, part):  # fmt: skip  # pragma: no cover - compiled
    n = p.shape[0]
    if coupling == 1.0 or coupling == 0.0:
        for b in prange(CHUNKS):
            rotations(turn, noise, shift, scale, dt, b * n // CHUNKS, (b + 1) * n // CHUNKS, rot)
    for b in prange(CHUNKS):
        part[b, 0], part[b, 1] = update(p, acc, order, turn, noise, shift, scale, rot, box, speed, dt, coupling,
                                        periodic, b * n // CHUNKS, (b + 1) * n // CHUNKS, new_pos,
                                        new_head)  # fmt: skip


@njit(cache=True)
def advance(p, acc, rot, order, start, ncx, turn, noise, shift, scale, box, r, speed, dt, coupling, periodic, threaded,
            part, new_pos, new_head):  # fmt: skip  # pragma: no cover - compiled
    """The step after ``sort_into`` / ``gather_into``: neighbour sums into ``acc (N, 2)``, the turns' sin and cos
    into ``rot (2, N)``, the update into ``new_pos``, ``new_head`` (``update``'s noise convention); ``part
    (CHUNKS, 2)`` scratch. Returns the order parameter of the new headings (fixed blocks' sums added in block order:
    the same on any thread count)."""
    n = p.shape[0]
    if n == 0:
        return 0.0
    heading_sums_into(p, start, ncx, box, r, periodic, threaded, acc)
    if threaded:
        _update_parallel(p, acc, order, turn, noise, shift, scale, rot, box, speed, dt, coupling, periodic, new_pos,
                         new_head, part)  # fmt: skip
    else:
        if coupling == 1.0 or coupling == 0.0:
            # np.int64(0), not 0: numba compiles a callee again for a literal argument (Literal[int](0) != int64)
            rotations(turn, noise, shift, scale, dt, np.int64(0), n, rot)
        for b in range(CHUNKS):
            part[b, 0], part[b, 1] = update(p, acc, order, turn, noise, shift, scale, rot, box, speed, dt, coupling,
                                            periodic, b * n // CHUNKS, (b + 1) * n // CHUNKS, new_pos,
                                            new_head)  # fmt: skip
    c = 0.0
    s = 0.0
    for b in range(CHUNKS):
        c += part[b, 0]
        s += part[b, 1]
    return np.sqrt(c * c + s * s) / n
