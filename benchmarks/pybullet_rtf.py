"""Real-time factor of the PyBullet backend: 16, 64 and 256 diff-drive robots, kinematic and dynamic.

Each robot drives back and forth between random waypoints in its own 1.5 m square (the motion layer
every task uses: ``fleetmind.sim.pybullet.motion.Executor``), robot-robot contacts checked every 4 ticks, physics
at 240 Hz. RTF = simulated seconds / wall-clock seconds. Targets (issue 5): 16 robots >= 10x real time
kinematic and >= 2x dynamic.

    .venv/bin/python benchmarks/pybullet_rtf.py --quick --out runs/bench
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import platform
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fleetmind.sim.pybullet.motion import Drive, Executor, Script  # noqa: E402
from fleetmind.sim.pybullet.world import PhysicsWorld  # noqa: E402

from fleetmind.app.argtypes import positive  # noqa: E402

SPACING = 1.5


def measure(robots: int, mode: str, sim_seconds: float, hz: int = 240, seed: int = 0) -> dict[str, float | int | str]:
    world = PhysicsWorld(mode == "kinematic", hz, "diff_drive")
    world.reset()
    side = math.ceil(math.sqrt(robots))
    homes = []
    for k in range(robots):
        x, y = (k % side) * SPACING, (k // side) * SPACING
        world.add_robot(f"robot_{k}", x, y, 0.0)
        homes.append((x, y))
    executor = Executor(world, contact_every=4)
    executor.reset()
    rng = random.Random(seed)
    t0 = time.perf_counter()
    ticks0 = 0
    while world.t < sim_seconds:
        scripts = [
            Script(f"robot_{k}", [Drive(hx + rng.uniform(-0.5, 0.5), hy + rng.uniform(-0.5, 0.5))])
            for k, (hx, hy) in enumerate(homes)
        ]
        executor.run(scripts, timeout=min(5.0, sim_seconds - world.t + world.dt))
        ticks0 += 1
    wall = time.perf_counter() - t0
    world.close()
    return {
        "robots": robots,
        "mode": mode,
        "real_time_factor": round(world.t / wall, 2),
        "sim_seconds": round(world.t, 3),
        "wall_seconds": round(wall, 3),
        "physics_hz": hz,
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="shorter runs (about a minute on 2 cores)")
    p.add_argument("--out", type=Path, default=Path("runs/bench"), help="folder for pybullet_rtf.json")
    p.add_argument("--robots", type=positive, nargs="+", default=[16, 64, 256])
    args = p.parse_args(argv)
    load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    machine = {
        "node": platform.node(),
        "machine": platform.machine(),
        "processor": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "load_average": [round(x, 2) for x in load],
    }
    stamp = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    print(
        f"pybullet_rtf {stamp} on {machine['node']} ({machine['processor']}, {machine['cpus']} cpus, "
        f"load {machine['load_average']}), python {machine['python']}"
    )
    rows = []
    for mode in ("kinematic", "dynamic"):
        for n in args.robots:
            if args.quick:
                seconds = 10.0 if mode == "kinematic" else (4.0 if n <= 16 else 1.0)
            else:
                seconds = 30.0 if mode == "kinematic" else (20.0 if n <= 64 else 5.0)
            row = measure(n, mode, seconds)
            rows.append(row)
            print(
                f"  {mode:<9} {n:>4} robots: {row['real_time_factor']:>8.2f}x real time "
                f"({row['sim_seconds']} s simulated in {row['wall_seconds']} s, {row['physics_hz']} Hz)",
                flush=True,
            )
    targets = {("kinematic", 16): 10.0, ("dynamic", 16): 2.0}
    for (mode, n), target in targets.items():
        got = next((r["real_time_factor"] for r in rows if r["mode"] == mode and r["robots"] == n), None)
        if got is not None:
            print(f"  target {mode} {n} robots >= {target}x: {'met' if got >= target else 'NOT met'} ({got}x)")
    args.out.mkdir(parents=True, exist_ok=True)
    out = args.out / "pybullet_rtf.json"
    out.write_text(json.dumps({"timestamp": stamp, "machine": machine, "rows": rows}, indent=2) + "\n")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
