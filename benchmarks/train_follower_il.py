"""Train the decentralized ``follower_il`` policy by imitation of ``pibt_flow`` (BC + DAgger); prints the machine,
each iteration's figures and the training time (wall and CPU).

    .venv/bin/python benchmarks/train_follower_il.py --seed 0      # writes planners/mapf/weights/follower_il.npz

Options: see ``--help`` (``fleetmind.planners.mapf._train_il``).
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fleetmind.planners.mapf._train_il import main  # noqa: E402

if __name__ == "__main__":
    stamp = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    load = os.getloadavg()[0]
    print(f"train_follower_il | {stamp} | {platform.platform()} | {os.cpu_count()} CPUs | load {load:.1f}", flush=True)
    sys.exit(main())
