"""numba kernels that measure the swarm worlds: order parameters, clusters, and the agents' partial observations
(neighbour histograms). Conventions and cell lists as in ``_kernels.py``; twins in ``tests/naive/swarm.py``."""

from __future__ import annotations

import numpy as np
from fleetmind.sim.swarm._kernels import CHUNKS, PARALLEL_MIN_AGENTS, TWO_PI, _delta, _offsets, wrap_angle
from numba import njit, prange


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
        # np.int64(0), not 0: numba compiles a callee again for a literal argument (Literal[int](0) != int64)
        _hist_rows(xs, ys, vs, facing, fov, bins, mode, box, r, periodic, order, start, ncx, np.int64(0), ncx, hist,
                   count)  # fmt: skip
    return hist, count
