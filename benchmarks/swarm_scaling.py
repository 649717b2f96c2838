"""Swarm worlds: step time vs number of agents (issue 15), beside the issue's targets.

    .venv/bin/python benchmarks/swarm_scaling.py --quick --out runs/bench     # 100, 10,000 and 100,000 agents
    .venv/bin/python benchmarks/swarm_scaling.py --out runs/bench             # 100 ... 100,000 agents, more steps

Each world (Vicsek, Kuramoto, aggregation) at a fixed density (agents per unit area, neighbour radius 1, periodic
box) is reset, stepped twice to warm the kernels (``cache=True`` loads them), then timed over several steps without
observations (``ms_per_step``: the median) and over several observations (``observe_ms``: every agent's neighbour
histogram). ``cpu_ms_per_step`` is the process's CPU time per step (all threads): on a busy machine it shows the
work done, while the wall time also counts waiting for a core. Targets: Vicsek and Kuramoto at 100,000 agents
<= 10 ms per step, at 10,000 agents <= 1 ms, on 2 cores.
Prints the machine (cores, CPU, load, Python, numba) and writes ``OUT/swarm_scaling.json``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import platform
import sys
import time
from importlib.metadata import version
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fleetmind.sim.swarm import AggregationWorld, KuramotoWorld, VicsekWorld  # noqa: E402

TARGET_MS = {("vicsek", 100_000): 10.0, ("kuramoto", 100_000): 10.0, ("vicsek", 10_000): 1.0, ("kuramoto", 10_000): 1.0}


def machine() -> dict:
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = os.getloadavg() if hasattr(os, "getloadavg") else (math.nan,) * 3
    return {
        "node": platform.node(),
        "cpu": model,
        "cores": os.cpu_count(),
        "load_1min": round(load[0], 2),
        "python": platform.python_version(),
        "numba": version("numba"),
        "numba_threads": os.environ.get("NUMBA_NUM_THREADS", str(os.cpu_count())),
    }


def make(world: str, n: int, density: float):
    box = math.sqrt(n / density)
    if world == "vicsek":
        return VicsekWorld(n, box=box, radius=1.0, speed=0.05, eta=0.5), None
    if world == "kuramoto":
        return KuramotoWorld(n, box=box, radius=1.0, coupling=1.0, sigma=0.1), None
    velocity = np.random.default_rng(0).normal(0.0, 0.05, (n, 2))
    return AggregationWorld(n, box=box, radius=1.0, vmax=0.1, sigma=0.01), velocity


def measure(world: str, n: int, density: float, steps: int) -> dict:
    w, actions = make(world, n, density)
    w.reset(0)
    for _ in range(2):
        w.step(actions, observe=False)
    times, cpu = [], []
    for _ in range(steps):
        t0, c0 = time.perf_counter(), time.process_time()
        w.step(actions, observe=False)
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    obs = []
    for _ in range(max(3, steps // 3)):
        t0 = time.perf_counter()
        w.observe()
        obs.append(time.perf_counter() - t0)
    ms = 1e3 * float(np.median(times))
    return {
        "world": world,
        "agents": n,
        "ms_per_step": round(ms, 4),
        "agent_steps_per_s": round(n / (ms / 1e3)),
        "cpu_ms_per_step": round(1e3 * float(np.median(cpu)), 4),
        "observe_ms": round(1e3 * float(np.median(obs)), 4),
        "density": density,
        "steps_timed": steps,
    }


def verdict(row: dict) -> tuple[str, str]:
    target = TARGET_MS.get((row["world"], row["agents"]))
    if target is None:
        return "-", "-"
    return f"<= {target:g} ms", "PASS" if row["ms_per_step"] <= target else "MISS"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="100, 10,000 and 100,000 agents, fewer steps")
    ap.add_argument("--out", type=Path, default=Path("runs/bench"), help="folder for swarm_scaling.json")
    ap.add_argument("--density", type=float, default=2.0, help="agents per unit area (neighbour radius 1)")
    ap.add_argument("--worlds", nargs="+", default=["vicsek", "kuramoto", "aggregation"])
    args = ap.parse_args(argv)
    if not args.density > 0:
        ap.error(f"--density={args.density}: give agents per unit area, a number > 0")
    agents = [100, 10_000, 100_000] if args.quick else [100, 1_000, 10_000, 100_000]
    steps = 7 if args.quick else 21
    info = machine()
    stamp = dt.datetime.now().isoformat(timespec="seconds")
    print(f"swarm_scaling | {stamp} | {info['cpu']} | {info['cores']} cores | load {info['load_1min']} (1 min) | "
          f"python {info['python']} | numba {info['numba']} ({info['numba_threads']} threads)")  # fmt: skip
    print(f"density {args.density} agents per unit area, radius 1 (about {math.pi * args.density:.1f} neighbours), "
          f"periodic box; median of {steps} steps, kernels warm")  # fmt: skip
    if info["load_1min"] > 0.5 * (info["cores"] or 1):
        print("note: machine busy (load above half the cores): other work shares these cores, so figures are slower")
    head = f"{'world':<12}{'agents':>9}{'ms/step':>11}{'agent-steps/s':>15}{'cpu ms':>9}{'observe ms':>12}"
    print(f"{head}  {'target':<10}verdict")
    rows = []
    for world in args.worlds:
        for n in agents:
            row = measure(world, n, args.density, steps)
            target, ok = verdict(row)
            row["target"], row["verdict"] = target, ok
            rows.append(row)
            line = f"{world:<12}{n:>9,}{row['ms_per_step']:>11.3f}{row['agent_steps_per_s']:>15,}"
            print(f"{line}{row['cpu_ms_per_step']:>9.3f}{row['observe_ms']:>12.3f}  {target:<10}{ok}", flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / "swarm_scaling.json"
    path.write_text(json.dumps({"machine": info, "time": stamp, "quick": args.quick, "rows": rows}, indent=1))
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
