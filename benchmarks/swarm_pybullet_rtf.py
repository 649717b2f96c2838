"""Real-time factor of a swarm in PyBullet (kinematic): quadrotors (and diff-drive robots) aligning their headings.

    .venv/bin/python benchmarks/swarm_pybullet_rtf.py --quick --out runs/bench     # 16 and 50 vehicles, 10 s
    .venv/bin/python benchmarks/swarm_pybullet_rtf.py --out runs/bench             # 20 s simulated each

Each run is a ``PyBulletSwarmFleet`` (``fleetmind.sim.pybullet.swarm``): N unicycle vehicles in a periodic box at one
vehicle per square metre, commanded every 0.1 s by a Vicsek-style alignment law on their own neighbour histograms
(velocity 0.3 m/s), replayed in PyBullet at 240 Hz kinematic (bodies set along each arc where poses are read: at the
vehicle-vehicle contact checks every 4 ticks and at each step's end). RTF = simulated seconds / wall-clock seconds, the
whole loop included (observations, the law, the model). Target (issue 15): >= 1x real time at 50 quadrotors. For
reference, Crazyswarm2's simulator runs 16 Crazyflies at about 0.05x real time (crazyswarm2 issue 890; a physics
simulator with its firmware in the loop, so more work per vehicle than a kinematic replay). Prints the machine and
writes ``OUT/swarm_pybullet_rtf.json``.
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fleetmind.robots.commands import Command, SetVelocity  # noqa: E402
from fleetmind.robots.fleet import Observation  # noqa: E402
from fleetmind.robots.ids import RobotId  # noqa: E402
from fleetmind.sim.pybullet.swarm import PyBulletSwarmFleet  # noqa: E402
from fleetmind.sim.swarm.fleet import SwarmFleet  # noqa: E402

from fleetmind.app.argtypes import positive  # noqa: E402

CRAZYSWARM2_RTF_16 = 0.05
TARGET_RTF_50 = 1.0


def align(obs: Observation, bins: int = 8, speed: float = 0.3, gain: float = 3.0) -> dict[RobotId, Command]:
    """Turn towards the circular mean of the neighbours' relative headings (the histogram's bin centres)."""
    centres = -math.pi + (np.arange(bins) + 0.5) * 2 * math.pi / bins
    out: dict[RobotId, Command] = {}
    for rid, ro in obs.robots.items():
        h = np.asarray(ro.data["observation"])
        turn = math.atan2((h * np.sin(centres)).sum(), (h * np.cos(centres)).sum()) if h.sum() > 0 else 0.0
        out[rid] = SetVelocity(speed, max(-2.0, min(2.0, gain * turn)))
    return out


def measure(kind: str, vehicles: int, sim_seconds: float, hz: int = 240) -> dict:
    steps = round(sim_seconds / 0.1)
    fleet = PyBulletSwarmFleet(SwarmFleet(vehicles, box=math.sqrt(vehicles), dt=0.1, step_limit=steps + 1), kind, hz)
    obs = fleet.reset(0)
    first = float(obs.world["order"])
    t0, c0 = time.perf_counter(), time.process_time()
    for _ in range(steps):
        result = fleet.step(align(obs))
        obs = result.observation
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    sim = float(obs.world["sim_time"])
    fleet.close()
    return {
        "kind": kind,
        "vehicles": vehicles,
        "real_time_factor": round(sim / wall, 2),
        "cpu_real_time_factor": round(sim / cpu, 2),
        "sim_seconds": round(sim, 2),
        "wall_seconds": round(wall, 3),
        "physics_hz": hz,
        "order_start": round(first, 3),
        "order_end": round(float(obs.world["order"]), 3),
        "contacts": int(result.metrics["contacts"]),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="10 s simulated per run (default 20 s)")
    ap.add_argument("--out", type=Path, default=Path("runs/bench"), help="folder for swarm_pybullet_rtf.json")
    ap.add_argument("--vehicles", type=positive, nargs="+", default=[16, 50])
    ap.add_argument("--kinds", nargs="+", default=["quadrotor", "diff_drive"], choices=["quadrotor", "diff_drive"])
    args = ap.parse_args(argv)
    if any(v < 1 for v in args.vehicles):
        ap.error(f"--vehicles {args.vehicles}: give whole numbers >= 1")
    load = os.getloadavg() if hasattr(os, "getloadavg") else (math.nan,) * 3
    machine = {"node": platform.node(), "cpus": os.cpu_count(), "python": platform.python_version(),
               "load_average": [round(x, 2) for x in load]}  # fmt: skip
    stamp = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    print(
        f"swarm_pybullet_rtf | {stamp} | {machine['node']} | {machine['cpus']} cores | load {machine['load_average']}"
    )
    if load[0] > 0.5 * (os.cpu_count() or 1):
        print("note: machine busy (load above half the cores): RTF counts waiting for a core; cpu RTF is the work")
    sim_seconds = 10.0 if args.quick else 20.0
    rows = []
    print(f"{'kind':<11}{'vehicles':>9}{'RTF':>8}{'cpu RTF':>9}{'order':>15}{'contacts':>10}  verdict")
    for kind in args.kinds:
        for n in args.vehicles:
            row = measure(kind, n, sim_seconds)
            verdict = "-"
            if kind == "quadrotor" and n == 50:
                verdict = (
                    f"target >= {TARGET_RTF_50:g}x: {'PASS' if row['real_time_factor'] >= TARGET_RTF_50 else 'MISS'}"
                )
            elif kind == "quadrotor" and n == 16:
                verdict = f"Crazyswarm2 sim: {CRAZYSWARM2_RTF_16}x at 16"
            rows.append(row | {"verdict": verdict})
            order = f"{row['order_start']:.2f} -> {row['order_end']:.2f}"
            print(f"{kind:<11}{n:>9}{row['real_time_factor']:>8.2f}{row['cpu_real_time_factor']:>9.2f}{order:>15}"
                  f"{row['contacts']:>10}  {verdict}", flush=True)  # fmt: skip
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / "swarm_pybullet_rtf.json"
    path.write_text(json.dumps({"machine": machine, "time": stamp, "sim_seconds": sim_seconds, "rows": rows}, indent=1))
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
