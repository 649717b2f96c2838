"""numba kernels of the swarm worlds: cell lists and the Vicsek, Kuramoto and aggregation steps (the order
parameters, clusters and the agents' observations are in ``_measure_kernels.py``).

Plain arrays in and out; twins in ``tests/naive/swarm.py``. Agents live in a square box ``[0, box)^2``: periodic
(a torus; distances by the minimum image) or bounded (walls reflect). Neighbours of an agent are the OTHER agents at
distance ``<= r``. Angles are radians, wrapped to ``[-pi, pi)``.

Cell lists: the box is cut into ``ncx x ncx`` cells of side ``box / ncx >= r`` (``cell_count``); ``build_cells``
sorts the agents by cell (counting sort, stable) into ``order`` with ``start[c]:start[c + 1]`` the slice of cell
``c = cy * ncx + cx``. The neighbour sums gather positions in that order, so an agent's candidates are read from
contiguous memory, and find each pair once (``_pair_kernels.py``); they and the per-agent updates run on threads
(``prange``) from ``PARALLEL_MIN_AGENTS`` agents on. Every agent's sums run in a fixed order, so results do not
depend on the thread count. The Vicsek step's own kernels (records in cell order, heading sums, a polynomial sincos)
are in ``_vicsek_kernels.py``.
"""

from __future__ import annotations

import numpy as np
from fleetmind.sim.swarm._pair_kernels import neighbour_sums_into
from fleetmind.sim.swarm._vicsek_kernels import CHUNKS, _keep_inside, advance, build_cells_into, gather_into
from numba import njit, prange

TWO_PI = 2.0 * np.pi
# Below this many agents a kernel runs on the calling thread: thread start-up and barriers cost more than they save
# (and far more on a machine whose cores other processes are using).
PARALLEL_MIN_AGENTS = 20_000
# The Vicsek step's own threshold (``VicsekWorld.step`` reads it at each step; benchmarks/swarm_scaling.py times the
# other mode too). Measured with the cores free (2026-11-30 15:48 UTC): 10,000 agents 0.68 ms with 2 threads against
# 1.07 ms serial; 100,000 agents 8.0 ms against 8.7 ms. On a machine whose cores other processes hold, threads lose
# badly (10,000 agents: 73 ms against ~1 ms serial at load 8.6): raise this for such hosts.
VICSEK_PARALLEL_MIN_AGENTS = 10_000


@njit(cache=True)
def wrap_angle(a):  # pragma: no cover - compiled
    """An angle (float) wrapped to ``[-pi, pi)``."""
    return a - TWO_PI * np.floor((a + np.pi) / TWO_PI)


@njit(cache=True)
def cell_count(box, r):  # pragma: no cover - compiled
    """Cells per side: the most cells of side ``>= r`` that tile ``box`` (at least 1)."""
    return max(1, int(np.floor(box / r)))


@njit(cache=True)
def build_cells(pos, box, ncx):  # pragma: no cover - compiled
    """``(N, 2) float64`` positions -> ``order (N,) int64`` (agents sorted by cell, stable) and ``start
    (ncx * ncx + 1,) int64`` (cell ``c`` holds ``order[start[c]:start[c + 1]]``)."""
    n = pos.shape[0]
    cells = np.empty(n, np.int64)
    return build_cells_into(pos, box, ncx, cells, np.empty(n, np.int64), np.empty(ncx * ncx + 1, np.int64))


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
def _gather(pos, order, xs, ys):  # pragma: no cover - compiled
    for k in range(pos.shape[0]):
        i = order[k]
        xs[k] = pos[i, 0]
        ys[k] = pos[i, 1]


@njit(cache=True)
def circular_neighbour_sums(pos, angle, box, r, periodic, order, start, ncx):  # pragma: no cover - compiled
    """For each agent, over its neighbours ``j`` (other agents within ``r``): ``sum cos(angle_j)``, ``sum
    sin(angle_j)`` (``(N,) float64`` each) and their count (``(N,) int64``). ``order``/``start`` from
    ``build_cells(pos, box, ncx)``. Each pair is checked once (``_pair_kernels``); threads from
    ``PARALLEL_MIN_AGENTS`` agents on."""
    n = pos.shape[0]
    xs = np.empty(n)
    ys = np.empty(n)
    cs = np.empty(n)
    ss = np.empty(n)
    _gather(pos, order, xs, ys)
    for k in range(n):
        cs[k] = np.cos(angle[order[k]])
        ss[k] = np.sin(angle[order[k]])
    acc = np.empty((3, n))
    neighbour_sums_into(xs, ys, cs, ss, start, ncx, box, r, periodic, n >= PARALLEL_MIN_AGENTS, acc)
    sum_c = np.empty(n)
    sum_s = np.empty(n)
    count = np.empty(n, dtype=np.int64)
    for k in range(n):
        i = order[k]
        sum_c[i] = acc[0, k]
        sum_s[i] = acc[1, k]
        count[i] = int(acc[2, k])
    return sum_c, sum_s, count


@njit(cache=True)
def vicsek_step_into(
    pos, head, turn, noise, box, r, speed, dt, coupling, periodic, order, start, ncx, scratch, new_pos, new_head
):  # pragma: no cover - compiled
    """``vicsek_step`` into preallocated ``new_pos (N, 2)`` and ``new_head (N, 2)``, with a C-contiguous ``scratch
    (rows, N) float64``: 8 or more rows hold the cell-order records, the sums and the turns (no allocation but
    1 KiB), fewer rows mean those are allocated here. Returns the order parameter of the new headings (fixed blocks'
    sums added in block order: the same on any thread count). Kernels in ``_vicsek_kernels.py``."""
    n = pos.shape[0]
    if n == 0:
        return 0.0
    if scratch.shape[0] >= 8:
        flat = scratch.reshape(scratch.shape[0] * n)
        p = flat[: 4 * n].reshape((n, 4))
        acc = flat[4 * n : 6 * n].reshape((n, 2))
        rot = flat[6 * n : 8 * n].reshape((2, n))
    else:
        p = np.empty((n, 4))
        acc = np.empty((n, 2))
        rot = np.empty((2, n))
    gather_into(pos, head, order, p)
    return advance(p, acc, rot, order, start, ncx, turn, noise, 0.0, 1.0, box, r, speed, dt, coupling, periodic,
                   n >= VICSEK_PARALLEL_MIN_AGENTS, np.empty((CHUNKS, 2)), new_pos, new_head)  # fmt: skip


@njit(cache=True)
def vicsek_step(
    pos, head, turn, noise, box, r, speed, dt, coupling, periodic, order, start, ncx
):  # pragma: no cover - compiled
    """One Vicsek step; headings are unit vectors ``head (N, 2)`` = ``(cos theta, sin theta)``. ``phi_i`` = the
    circular mean heading of agent ``i`` and its neighbours (the direction of their vector sum); the new heading is
    ``theta_i + coupling * wrap(phi_i - theta_i) + turn_i * dt + noise_i`` (``coupling = 1``: the classic ``phi_i +
    noise_i``), then the agent moves ``speed * dt`` along it. Bounded: a wall reflects the position and the heading.
    ``turn``, ``noise``: ``(N,) float64`` (rad/s, rad). Returns new ``pos (N, 2)``, ``head (N, 2)`` and the order
    parameter ``|mean head|``."""
    n = pos.shape[0]
    new_pos = np.empty_like(pos)
    new_head = np.empty((n, 2))
    order_parameter = vicsek_step_into(pos, head, turn, noise, box, r, speed, dt, coupling, periodic, order, start,
                                       ncx, np.empty((4, n)), new_pos, new_head)  # fmt: skip
    return new_pos, new_head, order_parameter


@njit(cache=True)
def _kuramoto_update(
    cs, ss, acc, order, phase, omega, control, noise, coupling, dt, k0, k1, out, trig_out
):  # pragma: no cover - compiled
    """The Kuramoto update of the agents ``k0 <= k < k1`` (cell order) from their neighbour sums ``acc``; also the
    cos/sin of the new phases in cell order (``trig_out (2, N)``: the next step's input and the order parameter,
    without trig again)."""
    for k in range(k0, k1):
        i = order[k]
        pull = 0.0
        m = acc[2, k]
        if m > 0.0:  # sum_j sin(p_j - p) = cos(p) sum_j sin(p_j) - sin(p) sum_j cos(p_j)
            pull = coupling * (cs[k] * acc[1, k] - ss[k] * acc[0, k]) / m
        p = wrap_angle(phase[i] + dt * (omega[i] + control[i] + pull) + noise[i])
        out[i] = p
        trig_out[0, k] = np.cos(p)
        trig_out[1, k] = np.sin(p)


@njit(cache=True, parallel=True)
def _kuramoto_update_parallel(
    cs, ss, acc, order, phase, omega, control, noise, coupling, dt, out, trig_out
):  # pragma: no cover - compiled
    n = cs.shape[0]
    for b in prange(CHUNKS):
        _kuramoto_update(cs, ss, acc, order, phase, omega, control, noise, coupling, dt, b * n // CHUNKS,
                         (b + 1) * n // CHUNKS, out, trig_out)  # fmt: skip


@njit(cache=True)
def kuramoto_step_into(
    pos,
    phase,
    omega,
    control,
    noise,
    box,
    r,
    coupling,
    dt,
    periodic,
    order,
    start,
    ncx,
    xy,
    trig_in,
    fresh,
    out,
    trig_out,
):  # pragma: no cover - compiled
    """``kuramoto_step`` into preallocated ``out (N,)``. ``xy (2, N)``: positions in cell order (gathered here unless
    ``fresh``); ``trig_in (2, N)``: cos/sin of ``phase`` in cell order (computed here unless ``fresh``, e.g. the
    previous step's ``trig_out``); ``trig_out (2, N)`` receives those of ``out``. Positions do not move: a caller
    keeps ``xy`` and swaps ``trig_in``/``trig_out`` between steps. Returns the order parameter of the new phases."""
    n = pos.shape[0]
    if not fresh:
        for k in range(n):
            i = order[k]
            xy[0, k] = pos[i, 0]
            xy[1, k] = pos[i, 1]
            trig_in[0, k] = np.cos(phase[i])
            trig_in[1, k] = np.sin(phase[i])
    cs = trig_in[0]
    ss = trig_in[1]
    acc = np.empty((3, n))
    threaded = n >= PARALLEL_MIN_AGENTS
    neighbour_sums_into(xy[0], xy[1], cs, ss, start, ncx, box, r, periodic, threaded, acc)
    if threaded:
        _kuramoto_update_parallel(cs, ss, acc, order, phase, omega, control, noise, coupling, dt, out, trig_out)
    else:
        # np.int64(0), not 0: numba compiles a callee again for a literal argument (Literal[int](0) != int64)
        _kuramoto_update(cs, ss, acc, order, phase, omega, control, noise, coupling, dt, np.int64(0), n, out, trig_out)
    c = 0.0
    s = 0.0
    for k in range(n):
        c += trig_out[0, k]
        s += trig_out[1, k]
    return np.sqrt(c * c + s * s) / n if n else 0.0


@njit(cache=True)
def kuramoto_step(
    pos, phase, omega, control, noise, box, r, coupling, dt, periodic, order, start, ncx
):  # pragma: no cover - compiled
    """One Euler step of Kuramoto oscillators coupled to their neighbours (agents at fixed positions):
    ``phase_i += dt * (omega_i + control_i + coupling / n_i * sum_j sin(phase_j - phase_i)) + noise_i`` over the
    ``n_i`` neighbours (no coupling term when ``n_i = 0``). Returns the new ``(N,) float64`` phases, wrapped."""
    n = pos.shape[0]
    out = np.empty(n)
    kuramoto_step_into(pos, phase, omega, control, noise, box, r, coupling, dt, periodic, order, start, ncx,
                       np.empty((2, n)), np.empty((2, n)), False, out, np.empty((2, n)))  # fmt: skip
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
def vector_order(head):  # pragma: no cover - compiled
    """``|mean head|`` of ``(N, 2)`` unit vectors: ``polar_order`` of their angles without trig; 0 for no agents."""
    n = head.shape[0]
    if n == 0:
        return 0.0
    c = 0.0
    s = 0.0
    for i in range(n):
        c += head[i, 0]
        s += head[i, 1]
    return np.sqrt(c * c + s * s) / n
