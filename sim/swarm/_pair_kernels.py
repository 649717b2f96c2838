"""numba kernel of the neighbour sums behind the Vicsek and Kuramoto steps: every pair of agents within ``r`` is
found ONCE (a half shell of neighbour cells) and added to both agents' sums. Conventions and cell lists as in
``_kernels.py`` (its ``circular_neighbour_sums`` is the public face, with a twin in ``tests/naive/swarm.py``).

Agents come in cell order (``xs``, ``ys``, ``cs``, ``ss``: coordinates and the two summed quantities, e.g. cos and
sin of headings). For each agent ``k`` in cell ``(cx, cy)`` the candidates are the later agents of its own cell and
the agents of four neighbour cells: east, and north-west / north / north-east (one contiguous slice away from the
seams); periodic images come from per-cell shifts, so a pair's offset is ``(x_q - x_k) + shift``, the same number
the minimum image gives from 3 cells a side on. A periodic grid of fewer than 3 cells a side checks every pair with
the minimum image.

Threads: the cell rows are cut into an even number of blocks; a block writes its own rows and the first row of the
next block, so the even blocks run together, then the odd ones. The serial path runs the very same blocks in the
same order, so results do not depend on the thread count.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

CHUNKS = 64  # prange blocks of cell rows (an even number of them is used)


@njit(cache=True, inline="always")
def _pairs(xs, ys, cs, ss, k, q0, q1, shx, shy, r2, acc_c, acc_s, cnt):  # pragma: no cover - compiled
    """Agent ``k`` against agents ``q0 <= q < q1`` (their coordinates shifted by ``(shx, shy)``): each pair within
    ``r`` adds ``cs``/``ss`` and 1 to both sides. The test is a select, not a branch: about half the candidates
    pass, so a branch mispredicts often (the select costs a third less); a pair outside adds ``0.0 * value``, which
    leaves every sum bit for bit as the branch would (finite values)."""
    xi = xs[k]
    yi = ys[k]
    ci = cs[k]
    si = ss[k]
    ac = 0.0
    as_ = 0.0
    m = 0.0
    for q in range(q0, q1):
        dx = (xs[q] - xi) + shx
        dy = (ys[q] - yi) + shy
        w = 1.0 if dx * dx + dy * dy <= r2 else 0.0
        ac += w * cs[q]
        as_ += w * ss[q]
        m += w
        acc_c[q] += w * ci
        acc_s[q] += w * si
        cnt[q] += w
    acc_c[k] += ac
    acc_s[k] += as_
    cnt[k] += m


@njit(cache=True)
def _half_rows(xs, ys, cs, ss, start, ncx, box, r, periodic, row0, row1, acc_c, acc_s, cnt):  # pragma: no cover
    """The half shell of the agents in cell rows ``row0 <= cy < row1`` (writes rows ``row0 .. row1``)."""
    r2 = r * r
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
        for cx in range(ncx):
            c = cy * ncx + cx
            ex = cx + 1
            shx = 0.0
            east = True
            if ex >= ncx:
                if periodic:
                    ex -= ncx
                    shx = box
                else:
                    east = False
            e = cy * ncx + ex
            for k in range(start[c], start[c + 1]):
                _pairs(xs, ys, cs, ss, k, k + 1, start[c + 1], 0.0, 0.0, r2, acc_c, acc_s, cnt)
                if east:
                    _pairs(xs, ys, cs, ss, k, start[e], start[e + 1], shx, 0.0, r2, acc_c, acc_s, cnt)
                if not above:
                    continue
                if cx >= 1 and cx + 1 < ncx:  # north-west, north, north-east: one slice
                    _pairs(xs, ys, cs, ss, k, start[row + cx - 1], start[row + cx + 2], 0.0, shy, r2, acc_c, acc_s,
                           cnt)  # fmt: skip
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
                    _pairs(xs, ys, cs, ss, k, start[row + nx], start[row + nx + 1], sx, shy, r2, acc_c, acc_s, cnt)


@njit(cache=True, parallel=True)
def _half_parallel(xs, ys, cs, ss, start, ncx, box, r, periodic, chunks, phase, acc_c, acc_s, cnt):  # pragma: no cover
    for h in prange(chunks // 2):
        b = 2 * h + phase
        _half_rows(xs, ys, cs, ss, start, ncx, box, r, periodic, b * ncx // chunks, (b + 1) * ncx // chunks, acc_c,
                   acc_s, cnt)  # fmt: skip


@njit(cache=True)
def _all_pairs(xs, ys, cs, ss, box, r, acc_c, acc_s, cnt):  # pragma: no cover - compiled
    """Every pair, the minimum image per pair (a periodic grid of 1 or 2 cells a side)."""
    r2 = r * r
    half = 0.5 * box
    n = xs.shape[0]
    for k in range(n):
        for q in range(k + 1, n):
            dx = xs[q] - xs[k]
            dy = ys[q] - ys[k]
            if dx > half:
                dx -= box
            elif dx < -half:
                dx += box
            if dy > half:
                dy -= box
            elif dy < -half:
                dy += box
            if dx * dx + dy * dy <= r2:
                acc_c[k] += cs[q]
                acc_s[k] += ss[q]
                cnt[k] += 1.0
                acc_c[q] += cs[k]
                acc_s[q] += ss[k]
                cnt[q] += 1.0


@njit(cache=True)
def neighbour_sums_into(xs, ys, cs, ss, start, ncx, box, r, periodic, threaded, acc):  # pragma: no cover - compiled
    """Over each agent's neighbours (the OTHER agents within ``r``), in cell order: ``acc[0]`` = sum of ``cs``,
    ``acc[1]`` = sum of ``ss``, ``acc[2]`` = their count (float); ``acc`` is ``(3, N) float64``, overwritten.
    ``threaded``: the blocks of a phase run on threads (same results)."""
    acc_c = acc[0]
    acc_s = acc[1]
    cnt = acc[2]
    acc_c[:] = 0.0
    acc_s[:] = 0.0
    cnt[:] = 0.0
    if periodic and ncx < 3:
        _all_pairs(xs, ys, cs, ss, box, r, acc_c, acc_s, cnt)
        return
    chunks = min(ncx, CHUNKS)
    chunks -= chunks % 2
    if chunks < 2:  # one cell row (a walled box of side < 2 r)
        # np.int64(0), not 0: numba compiles a callee again for a literal argument (Literal[int](0) != int64)
        _half_rows(xs, ys, cs, ss, start, ncx, box, r, periodic, np.int64(0), ncx, acc_c, acc_s, cnt)
        return
    for phase in range(2):
        if threaded:
            _half_parallel(xs, ys, cs, ss, start, ncx, box, r, periodic, chunks, phase, acc_c, acc_s, cnt)
        else:
            for b in range(phase, chunks, 2):
                _half_rows(xs, ys, cs, ss, start, ncx, box, r, periodic, b * ncx // chunks, (b + 1) * ncx // chunks,
                           acc_c, acc_s, cnt)  # fmt: skip


@njit(cache=True)
def _scan(xs, ys, start, ncx, box, r2, periodic, k, cx, cy, nbr, at):  # pragma: no cover - compiled
    """Agent ``k``'s neighbours (cell order, itself excluded) over its 3 x 3 cells: written to ``nbr[at:]`` when
    ``nbr`` is long enough, else only counted. Returns the count."""
    m = 0
    fill = nbr.shape[0] > 0
    if periodic and ncx < 3:
        half = 0.5 * box
        for q in range(xs.shape[0]):
            dx = xs[q] - xs[k]
            dy = ys[q] - ys[k]
            if dx > half:
                dx -= box
            elif dx < -half:
                dx += box
            if dy > half:
                dy -= box
            elif dy < -half:
                dy += box
            if q != k and dx * dx + dy * dy <= r2:
                if fill:
                    nbr[at + m] = q
                m += 1
        return m
    for oy in range(-1, 2):
        ny = cy + oy
        shy = 0.0
        if ny < 0 or ny >= ncx:
            if not periodic:
                continue
            shy = -box if ny < 0 else box
            ny = ny + ncx if ny < 0 else ny - ncx
        for ox in range(-1, 2):
            nx = cx + ox
            shx = 0.0
            if nx < 0 or nx >= ncx:
                if not periodic:
                    continue
                shx = -box if nx < 0 else box
                nx = nx + ncx if nx < 0 else nx - ncx
            c = ny * ncx + nx
            for q in range(start[c], start[c + 1]):
                dx = (xs[q] - xs[k]) + shx
                dy = (ys[q] - ys[k]) + shy
                if q != k and dx * dx + dy * dy <= r2:
                    if fill:
                        nbr[at + m] = q
                    m += 1
    return m


@njit(cache=True)
def neighbour_lists(xs, ys, start, ncx, box, r, periodic):  # pragma: no cover - compiled
    """Every agent's neighbours (the OTHER agents within ``r``) as compressed rows in cell order: agent ``k``'s are
    ``nbr[first[k]:first[k + 1]]`` (cell-order indices, in cell order). For agents that do not move (Kuramoto):
    built once, then every step sums over the lists without a distance check. Returns ``first (N + 1,) int64`` and
    ``nbr (M,) int64``."""
    n = xs.shape[0]
    r2 = r * r
    first = np.zeros(n + 1, dtype=np.int64)
    none = np.empty(0, dtype=np.int64)
    for c in range(ncx * ncx):
        for k in range(start[c], start[c + 1]):
            # np.int64(0), not 0: numba compiles a callee again for a literal argument (Literal[int](0) != int64)
            first[k + 1] = _scan(xs, ys, start, ncx, box, r2, periodic, k, c % ncx, c // ncx, none, np.int64(0))
    for k in range(n):
        first[k + 1] += first[k]
    nbr = np.empty(first[n], dtype=np.int64)
    for c in range(ncx * ncx):
        for k in range(start[c], start[c + 1]):
            _scan(xs, ys, start, ncx, box, r2, periodic, k, c % ncx, c // ncx, nbr, first[k])
    return first, nbr


@njit(cache=True)
def _kuramoto_lists(
    cs, ss, first, nbr, order, phase, omega, control, noise, coupling, dt, k0, k1, out, trig_out
):  # pragma: no cover - compiled
    two_pi = 2.0 * np.pi
    for k in range(k0, k1):
        a = 0.0
        b = 0.0
        for t in range(first[k], first[k + 1]):
            q = nbr[t]
            a += cs[q]
            b += ss[q]
        m = first[k + 1] - first[k]
        i = order[k]
        pull = 0.0
        if m > 0:  # sum_j sin(p_j - p) = cos(p) sum_j sin(p_j) - sin(p) sum_j cos(p_j)
            pull = coupling * (cs[k] * b - ss[k] * a) / m
        p = phase[i] + dt * (omega[i] + control[i] + pull) + noise[i]
        p -= two_pi * np.floor((p + np.pi) / two_pi)  # wrapped to [-pi, pi)
        out[i] = p
        trig_out[0, k] = np.cos(p)
        trig_out[1, k] = np.sin(p)


@njit(cache=True, parallel=True)
def _kuramoto_lists_parallel(
    cs, ss, first, nbr, order, phase, omega, control, noise, coupling, dt, out, trig_out
):  # pragma: no cover - compiled
    n = cs.shape[0]
    for b in prange(CHUNKS):
        _kuramoto_lists(cs, ss, first, nbr, order, phase, omega, control, noise, coupling, dt, b * n // CHUNKS,
                        (b + 1) * n // CHUNKS, out, trig_out)  # fmt: skip


@njit(cache=True)
def kuramoto_step_lists(
    phase, omega, control, noise, coupling, dt, order, first, nbr, trig_in, fresh, threaded, out, trig_out
):  # pragma: no cover - compiled
    """``_kernels.kuramoto_step`` over the neighbour lists of ``neighbour_lists`` (same cells): no distance check.
    ``trig_in (2, N)``: cos/sin of ``phase`` in cell order (computed here unless ``fresh``); ``trig_out`` receives
    those of ``out (N,)``. ``threaded``: blocks of agents on threads (same results). Returns the order parameter."""
    n = phase.shape[0]
    if not fresh:
        for k in range(n):
            i = order[k]
            trig_in[0, k] = np.cos(phase[i])
            trig_in[1, k] = np.sin(phase[i])
    cs = trig_in[0]
    ss = trig_in[1]
    if threaded:
        _kuramoto_lists_parallel(cs, ss, first, nbr, order, phase, omega, control, noise, coupling, dt, out, trig_out)
    else:
        # np.int64(0), not 0: numba compiles a callee again for a literal argument (Literal[int](0) != int64)
        _kuramoto_lists(cs, ss, first, nbr, order, phase, omega, control, noise, coupling, dt, np.int64(0), n, out,
                        trig_out)  # fmt: skip
    c = 0.0
    s = 0.0
    for k in range(n):
        c += trig_out[0, k]
        s += trig_out[1, k]
    return np.sqrt(c * c + s * s) / n if n else 0.0
