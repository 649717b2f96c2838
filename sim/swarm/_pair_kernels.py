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

from numba import njit, prange

CHUNKS = 64  # prange blocks of cell rows (an even number of them is used)


@njit(cache=True, inline="always")
def _pairs(xs, ys, cs, ss, k, q0, q1, shx, shy, r2, acc_c, acc_s, cnt):  # pragma: no cover - compiled
    """Agent ``k`` against agents ``q0 <= q < q1`` (their coordinates shifted by ``(shx, shy)``): each pair within
    ``r`` adds ``cs``/``ss`` and 1 to both sides."""
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
        if dx * dx + dy * dy <= r2:
            ac += cs[q]
            as_ += ss[q]
            m += 1.0
            acc_c[q] += ci
            acc_s[q] += si
            cnt[q] += 1.0
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
        _half_rows(xs, ys, cs, ss, start, ncx, box, r, periodic, 0, ncx, acc_c, acc_s, cnt)
        return
    for phase in range(2):
        if threaded:
            _half_parallel(xs, ys, cs, ss, start, ncx, box, r, periodic, chunks, phase, acc_c, acc_s, cnt)
        else:
            for b in range(phase, chunks, 2):
                _half_rows(xs, ys, cs, ss, start, ncx, box, r, periodic, b * ncx // chunks, (b + 1) * ncx // chunks,
                           acc_c, acc_s, cnt)  # fmt: skip
