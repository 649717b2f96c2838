"""Twin of ``fleetmind.planners.mapf._il_kernels``: ``follower_il``'s local features, written move by move with sets
and (row, col) arithmetic instead of the neighbour table."""

from __future__ import annotations

import numpy as np

STEP = ((0, 0), (-1, 0), (1, 0), (0, -1), (0, 1))


def il_features(blocked, pos, hpool, hrow, vis, nvis, last_vis, last_nvis, last_pos, last_action, stuck, age, guide):
    """Same features as the kernel, from the obstacle map ``(H, W) bool``; returns moves ``(N, 5, 17)``, state
    ``(N, 5)``."""
    h, w = blocked.shape
    n = len(pos)
    moves = np.zeros((n, 5, 17))
    state = np.zeros((n, 5))

    def cell(r, c):
        return r * w + c if 0 <= r < h and 0 <= c < w and not blocked[r, c] else None

    def around(r, c):
        return [x for k in range(1, 5) if (x := cell(r + STEP[k][0], c + STEP[k][1])) is not None]

    for i in range(n):
        seen = {int(x) for x in vis[i, : nvis[i]]}
        seen_before = {int(x) for x in last_vis[i, : last_nvis[i]]}
        p = int(pos[i])
        pr, pc = divmod(p, w)
        hh = hpool[hrow[i]].astype(np.float64)
        cone = [0.0] * 5
        for x in seen:
            dr, dc = x // w - pr, x % w - pc
            cone[1] += dr < 0 and abs(dc) <= -dr
            cone[2] += dr > 0 and abs(dc) <= dr
            cone[3] += dc < 0 and abs(dr) <= -dc
            cone[4] += dc > 0 and abs(dr) <= dc
        nb = around(pr, pc)
        free_p = sum(1 for x in nb if x not in seen)
        hmin = min((hh[x] for x in nb), default=np.inf)
        s = min(int(stuck[i]), 8) / 8
        state[i] = [nvis[i] / 16, s, free_p / 4, len(nb) / 4, min(int(age[i]), 64) / 64]
        moves[i, 0, [0, 8, 9, 10]] = [1.0, s, free_p / 4, nvis[i] / 16]
        moves[i, int(guide[i]), 16] = 1.0
        for k in range(1, 5):
            vr, vc = pr + STEP[k][0], pc + STEP[k][1]
            v = cell(vr, vc)
            if v is None:
                continue
            dh = float(np.clip(hh[v] - hh[p], -4, 4))
            occ = float(v in seen)
            others = [x for x in around(vr, vc) if x != p]
            ahead = cell(vr + STEP[k][0], vc + STEP[k][1])
            moves[i, k, 1] = dh
            moves[i, k, 2] = float(hh[v] <= hmin + 1e-6)
            moves[i, k, 3] = occ
            moves[i, k, 4] = sum(x in seen for x in others) / 3
            moves[i, k, 5] = occ * sum(x not in seen for x in others) / 3
            moves[i, k, 6] = float(v == last_pos[i])
            moves[i, k, 7] = len(around(vr, vc)) / 4
            moves[i, k, 10] = cone[k] / 8
            moves[i, k, 11] = dh * s
            moves[i, k, 12] = float(ahead is not None and ahead in seen)
            moves[i, k, 13] = dh * occ
            moves[i, k, 14] = float(v in seen and v in seen_before)
            moves[i, k, 15] = float(last_action[i] == k and stuck[i] > 0)
    return moves, state
