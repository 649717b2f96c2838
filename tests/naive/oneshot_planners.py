"""Twin of ``fleetmind.planners.mapf._oneshot_kernels``: the preferences by Python's stable ``sorted``."""

from __future__ import annotations

import numpy as np


def lacam_preferences(cfg, nbr, dist, noise, slots) -> np.ndarray:
    held = {int(c) for c in cfg}
    out = []
    for i, v0 in enumerate(int(c) for c in cfg):
        on = int(slots[i][v0]) if len(slots) else -1

        def key(s: int, i=i, v0=v0, on=on) -> float:  # noqa: ANN001
            v = int(nbr[v0][s])
            if v < 0:
                return float("inf")
            k = float(dist[i][v]) + float(noise[i][s]) * 0.25 + (0.5 if v in held else 0.0)
            return k - 1e6 if on > 0 and s == on else k

        out.append(sorted(range(5), key=key))
    return np.array(out, dtype=np.int64).reshape(len(cfg), 5)
