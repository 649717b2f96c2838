"""numba kernels of the agents' kernel mean-field observations: an RBF embedding of the empirical distribution of
the neighbours (relative headings / phases on the circle, or relative positions in the plane), and the optimal
assignment (Hungarian method) behind the formation distance. Conventions and cell lists as in ``_kernels.py``;
twins in ``tests/naive/swarm.py``.

Embedding of agent ``i`` with neighbours ``J_i`` (other agents within ``r`` and, with ``fov < 2 pi``, in the field of
view): ``phi_b(i) = 1/|J_i| sum_{j in J_i} k(x_ij, c_b)``, 0 when ``J_i`` is empty.

- ``EMBED_ANGLE``: ``x_ij = wrap(values_j - values_i)``; von Mises kernel ``exp(kappa (cos(x - c_b) - 1))`` with
  ``B`` centres ``c_b = -pi + (b + 1/2) 2 pi / B`` and ``kappa = 1 / width^2``.
- ``EMBED_POSITION``: ``x_ij = (p_j - p_i + offset_noise_j) / r`` (the minimum image when periodic), turned into
  the agent's frame (``facing_i`` along +x); Gaussian kernel ``exp(-|x - c_b|^2 / (2 width^2))`` with centres
  ``c_b`` given as ``(B, 2)`` (a grid over ``[-1, 1]^2``).
"""

from __future__ import annotations

import numpy as np
from fleetmind.robots._assignment_kernels import hungarian as assignment  # noqa: F401  (square case: re-exported)
from fleetmind.sim.swarm._kernels import CHUNKS, PARALLEL_MIN_AGENTS, TWO_PI, _delta, _offsets, wrap_angle
from numba import njit, prange

EMBED_ANGLE = 0
EMBED_POSITION = 1


@njit(cache=True)
def _embed_rows(
    xs,
    ys,
    vs,
    facing,
    offset_noise,
    fov,
    centres,
    width,
    mode,
    box,
    r,
    periodic,
    order,
    start,
    ncx,
    row0,
    row1,
    emb,
    count,
):  # pragma: no cover - compiled
    r2 = r * r
    limited = fov < TWO_PI
    cos_half = np.cos(0.5 * fov)
    nb = centres.shape[0]
    kappa = 1.0 / (width * width)
    inv2w2 = 0.5 / (width * width)
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
                            m += 1
                            if mode == EMBED_ANGLE:
                                v = wrap_angle(vs[q] - vs[k])
                                for b in range(nb):
                                    emb[i, b] += np.exp(kappa * (np.cos(v - centres[b, 0]) - 1.0))
                            else:
                                j = order[q]
                                ux = (dx + offset_noise[j, 0]) / r
                                uy = (dy + offset_noise[j, 1]) / r
                                px = ux * fc + uy * fs  # into the agent's frame
                                py = -ux * fs + uy * fc
                                for b in range(nb):
                                    ex = px - centres[b, 0]
                                    ey = py - centres[b, 1]
                                    emb[i, b] += np.exp(-(ex * ex + ey * ey) * inv2w2)
                count[i] = m
                if m > 0:
                    for b in range(nb):
                        emb[i, b] /= m


@njit(cache=True, parallel=True)
def _embed_parallel(
    xs, ys, vs, facing, offset_noise, fov, centres, width, mode, box, r, periodic, order, start, ncx, emb, count
):  # pragma: no cover - compiled
    chunks = min(ncx, CHUNKS)
    for b in prange(chunks):
        _embed_rows(xs, ys, vs, facing, offset_noise, fov, centres, width, mode, box, r, periodic, order, start, ncx,
                    b * ncx // chunks, (b + 1) * ncx // chunks, emb, count)  # fmt: skip


@njit(cache=True)
def neighbour_embedding(
    pos, values, facing, offset_noise, fov, centres, width, mode, box, r, periodic, order, start, ncx
):  # pragma: no cover - compiled
    """Each agent's kernel mean embedding of its neighbours (module docstring): ``pos (N, 2)``, ``values (N,)``
    (angles, already noisy if the caller wants noise), ``facing (N,)`` (field of view and the position frame),
    ``offset_noise (N, 2)`` (added to each neighbour's relative position; EMBED_POSITION only), ``centres (B, 1)``
    angles or ``(B, 2)`` points. Neighbours are found from the true ``pos``. Returns ``(N, B) float64`` (each entry
    in [0, 1]) and ``(N,) int64`` neighbour counts."""
    n = pos.shape[0]
    emb = np.zeros((n, centres.shape[0]))
    count = np.zeros(n, dtype=np.int64)
    xs = np.empty(n)
    ys = np.empty(n)
    vs = np.empty(n)
    for k in range(n):
        xs[k] = pos[order[k], 0]
        ys[k] = pos[order[k], 1]
        vs[k] = values[order[k]]
    if n >= PARALLEL_MIN_AGENTS and ncx > 1:
        _embed_parallel(xs, ys, vs, facing, offset_noise, fov, centres, width, mode, box, r, periodic, order, start,
                        ncx, emb, count)  # fmt: skip
    else:
        # np.int64(0), not 0: numba compiles a callee again for a literal argument (Literal[int](0) != int64)
        _embed_rows(xs, ys, vs, facing, offset_noise, fov, centres, width, mode, box, r, periodic, order, start, ncx,
                    np.int64(0), ncx, emb, count)  # fmt: skip
    return emb, count
