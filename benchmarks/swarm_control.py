"""Control quality of the swarm controllers (issue 15): steady-state order parameter of none / the tuned classical
law / the shipped Dec-POMFC policy at observation radii r in {0.5, 1, 2} and noise levels {0, 0.5, 1, 2}, and the
transfer of the policies trained at N = 100 to N = 25, 1,000 and 10,000 (same density, so a bigger box; r = 1,
noise 0.5; the tuned classical law at the same N beside it, since a bigger box takes longer to order).

Issue 15's targets: Dec-POMFC >= the classical law everywhere and >= +10 % where the radius is small (0.5) or the
noise high (>= 1); transfer keeps >= 95 % of the N = 100 order parameter. Each row says whether it meets them.

    .venv/bin/python benchmarks/swarm_control.py --quick --out runs/swarm_control

Prints the machine and writes ``OUT/swarm_control.json``. Steady state: the mean metric over the last quarter of
the episode, averaged over the seeds (the same seeds for every controller).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from fleetmind.tasks.swarm import get_swarm_task, swarm_task_names  # noqa: E402

from fleetmind.app.swarm_env import steady_state  # noqa: E402
from fleetmind.app.swarm_run import controller, episode  # noqa: E402

RADII = (0.5, 1.0, 2.0)
NOISES = (0.0, 0.5, 1.0, 2.0)
CONTROLLERS = ("none", "classic", "dec-pomfc")
TRANSFER_N = (100, 25, 1000, 10000)
TIE = 0.005  # order parameters this close count as equal (for ">= classic"; "+10 %" has no slack)


def machine() -> str:
    load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    return (
        f"{platform.node()}: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"load {load[0]:.1f}/{load[1]:.1f}/{load[2]:.1f}, Python {platform.python_version()}, numpy {np.__version__}"
    )


def steady(task, config, act, seeds) -> float:
    return float(np.mean([steady_state(episode(task, config, act, seed)[0]) for seed in seeds]))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="1 seed, 200 steps, transfer to 10,000 agents over 100 steps")
    p.add_argument("--tasks", default=",".join(swarm_task_names()), help="comma list of swarm tasks")
    p.add_argument("--out", type=Path, default=Path("runs/swarm_control"))
    args = p.parse_args()
    seeds = [2000] if args.quick else [2000, 2001, 2002]
    steps = 200 if args.quick else 300
    print(f"machine: {machine()}")
    print(f"steady state over the last quarter of {steps} steps, seeds {seeds}, N = 100 (density 1)")
    rows, transfer = [], []
    start = time.perf_counter()
    for name in args.tasks.split(","):
        task = get_swarm_task(name)
        acts = {c: controller(task, c) for c in CONTROLLERS}
        print(f"\n{name}: {task.metric}")
        print(f"{'r':>4} {'noise':>5} {'none':>6} {'classic':>8} {'dec-pomfc':>9}  verdict")
        for radius in RADII:
            for noise in NOISES:
                config = task.make_config(radius=radius, noise=noise, steps=steps)
                got = {c: steady(task, config, acts[c], seeds) for c in CONTROLLERS}
                need = 1.10 if (radius <= 0.5 or noise >= 1.0) else 1.0
                ok = got["dec-pomfc"] >= (need * got["classic"] if need > 1 else got["classic"] - TIE)
                gain = (got["dec-pomfc"] / got["classic"] - 1) * 100 if got["classic"] > 0 else float("nan")
                verdict = f"{'meets' if ok else 'MISSES'} (>= {'+10 %' if need > 1 else 'classic'}; {gain:+.1f} %)"
                print(
                    f"{radius:>4} {noise:>5} {got['none']:>6.3f} {got['classic']:>8.3f} {got['dec-pomfc']:>9.3f}  "
                    f"{verdict}",
                    flush=True,
                )
                rows.append({"task": name, "radius": radius, "noise": noise, **got, "meets_target": ok})
        ref = None
        for n in TRANSFER_N:
            t_steps = 100 if (args.quick and n >= 10000) else steps
            config = task.make_config(agents=n, steps=t_steps)
            value = steady(task, config, acts["dec-pomfc"], seeds[:1] if n >= 1000 else seeds)
            classic = steady(task, config, acts["classic"], seeds[:1] if n >= 1000 else seeds)
            ref = value if ref is None else ref
            keep = value / ref if ref else float("nan")
            row = {"task": name, "agents": n, "steps": t_steps, "dec-pomfc": value, "classic": classic, "kept": keep}
            transfer.append(row)
            print(
                f"transfer {name} N={n:>5} ({t_steps} steps): {value:.3f} = {keep:.1%} of N=100 "
                f"({'meets' if keep >= 0.95 else 'MISSES'} >= 95 %); classic at this N: {classic:.3f}",
                flush=True,
            )
    seconds = time.perf_counter() - start
    args.out.mkdir(parents=True, exist_ok=True)
    data = {"machine": machine(), "seconds": round(seconds, 1), "steps": steps, "seeds": seeds, "rows": rows}
    data["transfer"] = transfer
    (args.out / "swarm_control.json").write_text(json.dumps(data, indent=1) + "\n")
    met = sum(r["meets_target"] for r in rows)
    print(f"\nDec-POMFC meets its target in {met} of {len(rows)} cells; {seconds:.0f} s; {args.out}/swarm_control.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
