"""numba kernels of one-shot LaCAM*'s search (``lacam.py``): each configuration's action preferences in one pass
with no per-agent allocation (an insertion sort instead of an ``argsort`` per agent; the search computes them once
per configuration, so at 400 agents they were a sixth of its time through the general ``pibt_preferences``).

Plain arrays in and out; twins in ``tests/naive/oneshot_planners.py``.
"""

from __future__ import annotations

import numpy as np
from numba import njit

_NOISE = 0.25  # random tie-breaks: below the unit step between cost-to-go values
_OCCUPIED = 0.5  # a cell somebody holds now: after a free one as near to the goal
_ON_PATH = 1e6  # the next cell of the agent's SUO path: first


@njit(cache=True)
def lacam_preferences(cfg, nbr, dist, noise, slots):  # pragma: no cover - compiled
    """``(N, 5) int64`` action slots per agent, best first, by the key cost-to-go of the cell (``dist[i]``) +
    0.25 ``noise`` (``(N, 5)`` in [0, 1)) + 0.5 if some agent holds the cell now - 1e6 for the next slot of the
    agent's SUO path (``slots`` ``(N, C) int8``, -1 off the path; ``(0, 0)``: none); blocked slots last. Ties keep
    the slot order (as a stable sort)."""
    out = np.empty((cfg.shape[0], 5), dtype=np.int64)
    lacam_preferences_into(cfg, nbr, dist, noise, slots, np.zeros(nbr.shape[0], dtype=np.bool_), out)
    return out


@njit(cache=True)
def lacam_preferences_into(cfg, nbr, dist, noise, slots, occupied, out):  # pragma: no cover - compiled
    """:func:`lacam_preferences` into ``out`` ``(N, 5) int64``, with ``occupied`` ``(C,) bool`` scratch, all False
    on entry and again on return (no per-call allocation of the map's size: at 256x256 that was most of a call)."""
    n = cfg.shape[0]
    for i in range(n):
        occupied[cfg[i]] = True
    key = np.empty(5)
    use_slots = slots.shape[0] > 0
    for i in range(n):
        v0 = cfg[i]
        on = slots[i, v0] if use_slots else -1
        for s in range(5):
            v = nbr[v0, s]
            if v < 0:
                key[s] = np.inf
            else:
                key[s] = float(dist[i, v]) + noise[i, s] * _NOISE + (_OCCUPIED if occupied[v] else 0.0)
                if on > 0 and s == on:
                    key[s] -= _ON_PATH
            out[i, s] = s
        for a in range(1, 5):  # insertion sort: stable
            s = out[i, a]
            b = a - 1
            while b >= 0 and key[out[i, b]] > key[s]:
                out[i, b + 1] = out[i, b]
                b -= 1
            out[i, b + 1] = s
    for i in range(n):
        occupied[cfg[i]] = False
