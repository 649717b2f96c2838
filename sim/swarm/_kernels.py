"""numba kernels of the swarm worlds: cell lists, Vicsek, Kuramoto and aggregation steps, order parameters and the
agents' partial observations (neighbour histograms).

Plain arrays in and out; twins in ``tests/naive/swarm.py``. Agents live in a square box ``[0, box)^2``: periodic
(a torus; distances by the minimum image) or bounded (walls reflect). Neighbours of an agent are the OTHER agents at
distance ``<= r``. Angles are radians, wrapped to ``[-pi, pi)``.

Cell lists: the box is cut into ``ncx x ncx`` cells of side ``box / ncx >= r`` (``cell_count``); ``build_cells``
sorts the agents by cell (counting sort, stable) into ``order`` with ``start[c]:start[c + 1]`` the slice of cell
``c = cy * ncx + cx``. The neighbour loops gather positions in that order, so an agent's candidates are read from
contiguous memory, and run over blocks of cell rows with ``prange`` from ``PARALLEL_MIN_AGENTS`` agents on. Every
agent's sums run in a fixed order, so results do not depend on the thread count.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

TWO_PI = 2.0 * np.pi
# Below this many agents a kernel runs on the calling thread: thread start-up and barriers cost more than they save
# (and far more on a machine whose cores other processes are using).
PARALLEL_MIN_AGENTS = 20_000
CHUNKS = 64  # prange blocks (of cell rows or agents) per parallel loop, shared out among the threads


@njit(cache=True)
def wrap_angle(a):  # pragma: no cover - compiled
    """An angle (float) wrapped to ``[-pi, pi)``."""
    return a - TWO_PI * np.floor((a + np.pi) / TWO_PI)


@njit(cache=True)
def cell_count(box, r):  # pragma: no cover - compiled
    """Cells per side: the most cells of side ``>= r`` that tile ``box`` (at least 1)."""
    return max(1, int(np.floor(box / r)))


@njit(cache=True)
def _cell_of(x, y, box, ncx):  # pragma: no cover - compiled
    cx = min(max(int(x * ncx / box), 0), ncx - 1)
    cy = min(max(int(y * ncx / box), 0), ncx - 1)
    return cy * ncx + cx


@njit(cache=True)
def build_cells(pos, box, ncx):  # pragma: no cover - compiled
    """``(N, 2) float64`` positions -> ``order (N,) int64`` (agents sorted by cell, stable) and ``start
    (ncx * ncx + 1,) int64`` (cell ``c`` holds ``order[start[c]:start[c + 1]]``)."""
    n = pos.shape[0]
    cells = np.empty(n, dtype=np.int64)
    start = np.zeros(ncx * ncx + 1, dtype=np.int64)
    for i in range(n):
        c = _cell_of(pos[i, 0], pos[i, 1], box, ncx)
        cells[i] = c
        start[c + 1] += 1
    for c in range(ncx * ncx):
        start[c + 1] += start[c]
    fill = start[:-1].copy()
    order = np.empty(n, dtype=np.int64)
    for i in range(n):
        c = cells[i]
        order[fill[c]] = i
        fill[c] += 1
    return order, start


@njit(cache=True)
def _offsets(ncx, periodic):  # pragma: no cover - compiled
    """Neighbour-cell offsets ``lo..hi`` along one axis; a periodic grid narrower than 3 cells visits each cell once."""
    if periodic and ncx < 3:
        return 0, ncx - 1
    return -1, 1


@njit(cache=True)
def _delta(a, b, box, periodic):  # pragma: no cover - compiled
    """``b - a`` along one axis (the minimum image when periodic)."""
    d = b - a
    if periodic:
        half = 0.5 * box
        if d > half:
            d -= box
        elif d < -half:
            d += box
    return d


@njit(cache=True)
def _sums_rows(
    xs, ys, cs, ss, order, start, ncx, box, r, periodic, row0, row1, sum_c, sum_s, count
):  # pragma: no cover
    """``circular_neighbour_sums`` over cell rows ``row0 <= cy < row1`` (agents in cell order, results by agent)."""
    r2 = r * r
    lo, hi = _offsets(ncx, periodic)
    for cy in range(row0, row1):
        for cx in range(ncx):
            c = cy * ncx + cx
            for k in range(start[c], start[c + 1]):
                xi = xs[k]
                yi = ys[k]
                ac = 0.0
                as_ = 0.0
                m = 0
                for oy in range(lo, hi + 1):
                    ny = cy + oy
                    if periodic:
                        ny %= ncx
                    elif ny < 0 or ny >= ncx:
                        continue
                    for ox in range(lo, hi + 1):
                        nx = cx + ox
                        if periodic:
                            nx %= ncx
                        elif nx < 0 or nx >= ncx:
                            continue
                        nc = ny * ncx + nx
                        for q in range(start[nc], start[nc + 1]):
                            if q == k:
                                continue
                            dx = _delta(xi, xs[q], box, periodic)
                            dy = _delta(yi, ys[q], box, periodic)
                            if dx * dx + dy * dy <= r2:
                                ac += cs[q]
                                as_ += ss[q]
                                m += 1
                i = order[k]
                sum_c[i] = ac
                sum_s[i] = as_
                count[i] = m


@njit(cache=True, parallel=True)
def _sums_parallel(xs, ys, cs, ss, order, start, ncx, box, r, periodic, sum_c, sum_s, count):  # pragma: no cover
    chunks = min(ncx, CHUNKS)
    for b in prange(chunks):
        row0 = b * ncx // chunks
        row1 = (b + 1) * ncx // chunks
        _sums_rows(xs, ys, cs, ss, order, start, ncx, box, r, periodic, row0, row1, sum_c, sum_s, count)


@njit(cache=True)
def circular_neighbour_sums(pos, angle, box, r, periodic, order, start, ncx):  # pragma: no cover - compiled
    """For each agent, over its neighbours ``j`` (other agents within ``r``): ``sum cos(angle_j)``, ``sum
    sin(angle_j)`` (``(N,) float64`` each) and their count (``(N,) int64``). ``order``/``start`` from
    ``build_cells(pos, box, ncx)``. Threads from ``PARALLEL_MIN_AGENTS`` agents on."""
    n = pos.shape[0]
    xs = np.empty(n)
    ys = np.empty(n)
    cs = np.empty(n)
    ss = np.empty(n)
    for k in range(n):
        i = order[k]
        xs[k] = pos[i, 0]
        ys[k] = pos[i, 1]
        cs[k] = np.cos(angle[i])
        ss[k] = np.sin(angle[i])
    sum_c = np.zeros(n)
    sum_s = np.zeros(n)
    count = np.zeros(n, dtype=np.int64)
    if n >= PARALLEL_MIN_AGENTS and ncx > 1:
        _sums_parallel(xs, ys, cs, ss, order, start, ncx, box, r, periodic, sum_c, sum_s, count)
    else:
        _sums_rows(xs, ys, cs, ss, order, start, ncx, box, r, periodic, 0, ncx, sum_c, sum_s, count)
    return sum_c, sum_s, count


@njit(cache=True)
def _keep_inside(x, box, periodic):  # pragma: no cover - compiled
    """A coordinate moved back into the box: wrapped (periodic) or reflected off the walls. Returns (x, flipped)."""
    if periodic:
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


@njit(cache=True)
def _vicsek_range(
    pos, theta, turn, noise, box, speed, dt, coupling, periodic, sc, ss, i0, i1, new_pos, new_theta
):  # pragma: no cover
    step = speed * dt
    for i in range(i0, i1):
        th = theta[i]
        phi = np.arctan2(ss[i] + np.sin(th), sc[i] + np.cos(th))
        th = wrap_angle(th + coupling * wrap_angle(phi - th) + turn[i] * dt + noise[i])
        x, fx = _keep_inside(pos[i, 0] + step * np.cos(th), box, periodic)
        y, fy = _keep_inside(pos[i, 1] + step * np.sin(th), box, periodic)
        if fx:
            th = wrap_angle(np.pi - th)
        if fy:
            th = wrap_angle(-th)
        new_pos[i, 0] = x
        new_pos[i, 1] = y
        new_theta[i] = th


@njit(cache=True, parallel=True)
def _vicsek_parallel(
    pos, theta, turn, noise, box, speed, dt, coupling, periodic, sc, ss, new_pos, new_theta
):  # pragma: no cover
    n = pos.shape[0]
    chunks = CHUNKS
    for b in prange(chunks):
        i0 = b * n // chunks
        i1 = (b + 1) * n // chunks
        _vicsek_range(pos, theta, turn, noise, box, speed, dt, coupling, periodic, sc, ss, i0, i1, new_pos, new_theta)


@njit(cache=True)
def vicsek_step(
    pos, theta, turn, noise, box, r, speed, dt, coupling, periodic, order, start, ncx
):  # pragma: no cover - compiled
    """One Vicsek step. ``phi_i`` = the circular mean heading of agent ``i`` and its neighbours; the new heading is
    ``theta_i + coupling * wrap(phi_i - theta_i) + turn_i * dt + noise_i`` (``coupling = 1``: the classic
    ``phi_i + noise_i``), then the agent moves ``speed * dt`` along it. Bounded: a wall reflects the position and
    the heading. ``turn``, ``noise``: ``(N,) float64`` (rad/s, rad). Returns new ``pos (N, 2)`` and ``theta (N,)``."""
    n = pos.shape[0]
    sc, ss, _ = circular_neighbour_sums(pos, theta, box, r, periodic, order, start, ncx)
    new_pos = np.empty_like(pos)
    new_theta = np.empty(n)
    if n >= PARALLEL_MIN_AGENTS:
        _vicsek_parallel(pos, theta, turn, noise, box, speed, dt, coupling, periodic, sc, ss, new_pos, new_theta)
    else:
        _vicsek_range(pos, theta, turn, noise, box, speed, dt, coupling, periodic, sc, ss, 0, n, new_pos, new_theta)
    return new_pos, new_theta


@njit(cache=True)
def _kuramoto_range(phase, omega, control, noise, coupling, dt, sc, ss, count, i0, i1, out):  # pragma: no cover
    for i in range(i0, i1):
        p = phase[i]
        pull = 0.0
        if count[i] > 0:  # sum_j sin(p_j - p) = cos(p) sum_j sin(p_j) - sin(p) sum_j cos(p_j)
            pull = coupling * (np.cos(p) * ss[i] - np.sin(p) * sc[i]) / count[i]
        out[i] = wrap_angle(p + dt * (omega[i] + control[i] + pull) + noise[i])


@njit(cache=True, parallel=True)
def _kuramoto_parallel(phase, omega, control, noise, coupling, dt, sc, ss, count, out):  # pragma: no cover
    n = phase.shape[0]
    chunks = CHUNKS
    for b in prange(chunks):
        _kuramoto_range(phase, omega, control, noise, coupling, dt, sc, ss, count, b * n // chunks,
                        (b + 1) * n // chunks, out)  # fmt: skip


@njit(cache=True)
def kuramoto_step(
    pos, phase, omega, control, noise, box, r, coupling, dt, periodic, order, start, ncx
):  # pragma: no cover - compiled
    """One Euler step of Kuramoto oscillators coupled to their neighbours (agents at fixed positions):
    ``phase_i += dt * (omega_i + control_i + coupling / n_i * sum_j sin(phase_j - phase_i)) + noise_i`` over the
    ``n_i`` neighbours (no coupling term when ``n_i = 0``). Returns the new ``(N,) float64`` phases, wrapped."""
    n = pos.shape[0]
    sc, ss, count = circular_neighbour_sums(pos, phase, box, r, periodic, order, start, ncx)
    out = np.empty(n)
    if n >= PARALLEL_MIN_AGENTS:
        _kuramoto_parallel(phase, omega, control, noise, coupling, dt, sc, ss, count, out)
    else:
        _kuramoto_range(phase, omega, control, noise, coupling, dt, sc, ss, count, 0, n, out)
    return out


@njit(cache=True)
def aggregation_step(pos, velocity, noise, box, vmax, dt, periodic):  # pragma: no cover - compiled
    """Agents follow velocity commands ``(N, 2)``, each capped at speed ``vmax``, for ``dt``, plus a position noise
    ``(N, 2)``; wrapped or reflected into the box. Returns the new ``(N, 2) float64`` positions."""
    n = pos.shape[0]
    out = np.empty_like(pos)
    for i in range(n):
        vx = velocity[i, 0]
        vy = velocity[i, 1]
        v = np.sqrt(vx * vx + vy * vy)
        if v > vmax:
            vx *= vmax / v
            vy *= vmax / v
        out[i, 0] = _keep_inside(pos[i, 0] + dt * vx + noise[i, 0], box, periodic)[0]
        out[i, 1] = _keep_inside(pos[i, 1] + dt * vy + noise[i, 1], box, periodic)[0]
    return out


@njit(cache=True)
def polar_order(angle):  # pragma: no cover - compiled
    """``|mean exp(i angle)|`` of ``(N,) float64`` angles: Vicsek's order parameter, Kuramoto's phase order (1 when
    all are equal, ~0 when spread uniformly); 0 for no agents."""
    n = angle.shape[0]
    if n == 0:
        return 0.0
    c = 0.0
    s = 0.0
    for i in range(n):
        c += np.cos(angle[i])
        s += np.sin(angle[i])
    return np.sqrt(c * c + s * s) / n


@njit(cache=True)
def centroid_distance(pos, box, periodic):  # pragma: no cover - compiled
    """Mean distance of the agents to their centroid (``(N, 2)`` -> float). Periodic: the centroid per axis is the
    circular mean of ``2 pi x / box`` mapped back (Bai and Breen), distances by the minimum image."""
    n = pos.shape[0]
    if n == 0:
        return 0.0
    centre = np.empty(2)
    for a in range(2):
        if periodic:
            c = 0.0
            s = 0.0
            for i in range(n):
                c += np.cos(TWO_PI * pos[i, a] / box)
                s += np.sin(TWO_PI * pos[i, a] / box)
            ang = np.arctan2(s, c)
            if ang < 0.0:
                ang += TWO_PI
            centre[a] = ang * box / TWO_PI
        else:
            centre[a] = pos[:, a].sum() / n
    total = 0.0
    for i in range(n):
        dx = _delta(centre[0], pos[i, 0], box, periodic)
        dy = _delta(centre[1], pos[i, 1], box, periodic)
        total += np.sqrt(dx * dx + dy * dy)
    return total / n


@njit(cache=True)
def _root(parent, i):  # pragma: no cover - compiled
    while parent[i] != i:
        parent[i] = parent[parent[i]]
        i = parent[i]
    return i


@njit(cache=True)
def cluster_labels(pos, box, r, periodic, order, start, ncx):  # pragma: no cover - compiled
    """Connected components of the graph "within ``r``": ``(N,) int64``, each agent labelled by the smallest agent
    index of its component (union-find, the smaller root always wins)."""
    n = pos.shape[0]
    parent = np.arange(n)
    r2 = r * r
    lo, hi = _offsets(ncx, periodic)
    for c in range(ncx * ncx):
        cy = c // ncx
        cx = c % ncx
        for k in range(start[c], start[c + 1]):
            i = order[k]
            for oy in range(lo, hi + 1):
                ny = cy + oy
                if periodic:
                    ny %= ncx
                elif ny < 0 or ny >= ncx:
                    continue
                for ox in range(lo, hi + 1):
                    nx = cx + ox
                    if periodic:
                        nx %= ncx
                    elif nx < 0 or nx >= ncx:
                        continue
                    nc = ny * ncx + nx
                    for q in range(start[nc], start[nc + 1]):
                        j = order[q]
                        if j <= i:
                            continue
                        dx = _delta(pos[i, 0], pos[j, 0], box, periodic)
                        dy = _delta(pos[i, 1], pos[j, 1], box, periodic)
                        if dx * dx + dy * dy <= r2:
                            a = _root(parent, i)
                            b = _root(parent, j)
                            if a < b:
                                parent[b] = a
                            elif b < a:
                                parent[a] = b
    labels = np.empty(n, dtype=np.int64)
    for i in range(n):
        labels[i] = _root(parent, i)
    return labels


# What a histogram bins for each neighbour j of agent i (``mode`` of ``neighbour_histograms``).
HIST_VALUE = 0  # values[j]
HIST_RELATIVE = 1  # wrap(values[j] - values[i])
HIST_BEARING = 2  # the direction to j relative to facing[i]: wrap(atan2(dy, dx) - facing[i])


@njit(cache=True)
def _hist_rows(
    xs, ys, vs, facing, fov, bins, mode, box, r, periodic, order, start, ncx, row0, row1, hist, count
):  # pragma: no cover
    r2 = r * r
    limited = fov < TWO_PI
    cos_half = np.cos(0.5 * fov)
    width = TWO_PI / bins
    lo, hi = _offsets(ncx, periodic)
    for cy in range(row0, row1):
        for cx in range(ncx):
            c = cy * ncx + cx
            for k in range(start[c], start[c + 1]):
                i = order[k]
                fc = np.cos(facing[i])
                fs = np.sin(facing[i])
                m = 0
                for oy in range(lo, hi + 1):
                    ny = cy + oy
                    if periodic:
                        ny %= ncx
                    elif ny < 0 or ny >= ncx:
                        continue
                    for ox in range(lo, hi + 1):
                        nx = cx + ox
                        if periodic:
                            nx %= ncx
                        elif nx < 0 or nx >= ncx:
                            continue
                        nc = ny * ncx + nx
                        for q in range(start[nc], start[nc + 1]):
                            if q == k:
                                continue
                            dx = _delta(xs[k], xs[q], box, periodic)
                            dy = _delta(ys[k], ys[q], box, periodic)
                            d2 = dx * dx + dy * dy
                            if d2 > r2:
                                continue
                            if limited and dx * fc + dy * fs < cos_half * np.sqrt(d2):
                                continue
                            if mode == HIST_VALUE:
                                v = wrap_angle(vs[q])
                            elif mode == HIST_RELATIVE:
                                v = wrap_angle(vs[q] - vs[k])
                            else:
                                v = wrap_angle(np.arctan2(dy, dx) - facing[i])
                            b = min(int((v + np.pi) / width), bins - 1)
                            hist[i, b] += 1.0
                            m += 1
                count[i] = m
                if m > 0:
                    for b in range(bins):
                        hist[i, b] /= m


@njit(cache=True, parallel=True)
def _hist_parallel(
    xs, ys, vs, facing, fov, bins, mode, box, r, periodic, order, start, ncx, hist, count
):  # pragma: no cover
    chunks = min(ncx, CHUNKS)
    for b in prange(chunks):
        _hist_rows(xs, ys, vs, facing, fov, bins, mode, box, r, periodic, order, start, ncx, b * ncx // chunks,
                   (b + 1) * ncx // chunks, hist, count)  # fmt: skip


@njit(cache=True)
def neighbour_histograms(
    pos, values, facing, fov, bins, mode, box, r, periodic, order, start, ncx
):  # pragma: no cover - compiled
    """Each agent's partial observation: the empirical distribution over ``bins`` equal bins of ``[-pi, pi)`` of an
    angle of its neighbours (``mode``: HIST_VALUE, HIST_RELATIVE or HIST_BEARING), and the neighbour count. With
    ``fov < 2 pi`` only neighbours in the field of view count: ``dx cos(facing_i) + dy sin(facing_i) >= cos(fov / 2)
    * |d|`` (a neighbour on the agent's own spot is seen). Returns ``(N, bins) float64`` (rows sum to 1, or 0 without
    neighbours) and ``(N,) int64`` counts."""
    n = pos.shape[0]
    hist = np.zeros((n, bins))
    count = np.zeros(n, dtype=np.int64)
    xs = np.empty(n)
    ys = np.empty(n)
    vs = np.empty(n)
    for k in range(n):
        xs[k] = pos[order[k], 0]
        ys[k] = pos[order[k], 1]
        vs[k] = values[order[k]]
    if n >= PARALLEL_MIN_AGENTS and ncx > 1:
        _hist_parallel(xs, ys, vs, facing, fov, bins, mode, box, r, periodic, order, start, ncx, hist, count)
    else:
        _hist_rows(xs, ys, vs, facing, fov, bins, mode, box, r, periodic, order, start, ncx, 0, ncx, hist, count)
    return hist, count
