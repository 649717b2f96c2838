"""numba kernel of the imitation-learned decentralized policy (``follower_il``): local features per agent and move.

Plain arrays in and out; twin in ``tests/naive/il_planners.py``. Cells are row-major indices; ``nbr`` is the
``(C, 5) int64`` neighbour table in POGEMA action order (stay, up, down, left, right), -1 where blocked. Agent i's
features read only its own inputs: its cell, its goal's cost-to-go row (static map), the cells where it sees other
agents now (``vis[i]``, its radius-R window) and its own memory (last cell, steps stuck, steps since its goal came).
"""

from __future__ import annotations

import numpy as np
from numba import njit

NUM_MOVE_FEATURES = 17
NUM_STATE_FEATURES = 5


@njit(cache=True)
def il_features(
    pos, hpool, hrow, nbr, vis, nvis, last_vis, last_nvis, last_pos, last_action, stuck, age, guide, width, moves, state
):  # pragma: no cover - compiled
    """Write agent i's features for each of its five moves into ``moves[i]`` (``(N, 5, 17) float64``) and its
    own state into ``state[i]`` (``(N, 5) float64``); a blocked move's row stays 0.

    Inputs: ``pos``, ``hrow``, ``nvis``, ``last_nvis``, ``last_pos``, ``last_action``, ``stuck``, ``age``: ``(N,)
    int64``; ``hpool``: ``(K, C)`` cost-to-go rows (row ``hrow[i]`` for agent i's goal); ``vis``: ``(N, V) int64``
    cells where agent i sees another agent (-1 padded, ``nvis[i]`` used), ``last_vis`` ``(N, V')`` the same one step
    earlier (its own memory); ``last_pos``: the cell it stood on before its current one; ``guide``: ``(N,) int64``
    the move agent i's own hand-written Follower (same observation) proposes.

    For move k to cell v (columns): 0 stay; 1 cost-to-go change ``h[v] - h[p]`` clipped to +-4; 2 v is the nearest
    neighbour to the goal; 3 v occupied; 4 other agents next to v / 3; 5 if occupied, v's free unoccupied exits
    besides p / 3; 6 v is the agent's last cell; 7 v's degree / 4; 8 (stay) steps stuck, capped at 8, / 8; 9 (stay)
    free unoccupied neighbours of p / 4; 10 agents seen in the quarter-plane ahead / 8 (stay: all seen / 16); 11
    column 1 times column 8's stuck term; 12 an agent two cells ahead; 13 column 1 times column 3; 14 v occupied now
    and one step earlier; 15 the agent's last move was k and it did not get through; 16 k is the Follower's move.
    State: agents seen / 16, steps stuck / 8 (capped), free unoccupied neighbours / 4, degree of p / 4, steps since
    the goal came / 64 (capped at 1).
    """
    n = pos.shape[0]
    c_total = nbr.shape[0]
    mark = np.zeros(c_total, dtype=np.int64)
    before = np.zeros(c_total, dtype=np.int64)
    cone = np.zeros(5)
    for i in range(n):
        tick = i + 1
        for k in range(last_nvis[i]):
            before[last_vis[i, k]] = tick
        p = pos[i]
        pr, pc = p // width, p % width
        cone[:] = 0.0
        for k in range(nvis[i]):
            c = vis[i, k]
            mark[c] = tick
            dr, dc = c // width - pr, c % width - pc
            if dr < 0 and abs(dc) <= -dr:
                cone[1] += 1.0
            if dr > 0 and abs(dc) <= dr:
                cone[2] += 1.0
            if dc < 0 and abs(dr) <= -dc:
                cone[3] += 1.0
            if dc > 0 and abs(dr) <= dc:
                cone[4] += 1.0
        row = hrow[i]
        hp = float(hpool[row, p])
        hmin = np.inf
        free_p = 0
        deg_p = 0
        for k in range(1, 5):
            v = nbr[p, k]
            if v >= 0:
                deg_p += 1
                hmin = min(hmin, float(hpool[row, v]))
                if mark[v] != tick:
                    free_p += 1
        s = min(stuck[i], 8) / 8.0
        state[i, 0] = nvis[i] / 16.0
        state[i, 1] = s
        state[i, 2] = free_p / 4.0
        state[i, 3] = deg_p / 4.0
        state[i, 4] = min(age[i], 64) / 64.0
        for k in range(5):
            for f in range(moves.shape[2]):
                moves[i, k, f] = 0.0
        moves[i, 0, 0] = 1.0
        moves[i, guide[i], 16] = 1.0
        moves[i, 0, 8] = s
        moves[i, 0, 9] = free_p / 4.0
        moves[i, 0, 10] = nvis[i] / 16.0
        for k in range(1, 5):
            v = nbr[p, k]
            if v < 0:
                continue
            dh = min(4.0, max(-4.0, float(hpool[row, v]) - hp))
            occ = 1.0 if mark[v] == tick else 0.0
            near = 0
            exits = 0
            deg_v = 0
            for b in range(1, 5):
                u = nbr[v, b]
                if u < 0:
                    continue
                deg_v += 1
                if u == p:
                    continue
                if mark[u] == tick:
                    near += 1
                else:
                    exits += 1
            ahead = nbr[v, k]
            moves[i, k, 1] = dh
            moves[i, k, 2] = 1.0 if float(hpool[row, v]) <= hmin + 1e-6 else 0.0
            moves[i, k, 3] = occ
            moves[i, k, 4] = near / 3.0
            moves[i, k, 5] = occ * exits / 3.0
            moves[i, k, 6] = 1.0 if v == last_pos[i] else 0.0
            moves[i, k, 7] = deg_v / 4.0
            moves[i, k, 10] = cone[k] / 8.0
            moves[i, k, 11] = dh * s
            moves[i, k, 12] = 1.0 if ahead >= 0 and mark[ahead] == tick else 0.0
            moves[i, k, 13] = dh * occ
            moves[i, k, 14] = 1.0 if occ > 0 and before[v] == tick else 0.0
            moves[i, k, 15] = 1.0 if last_action[i] == k and stuck[i] > 0 else 0.0
