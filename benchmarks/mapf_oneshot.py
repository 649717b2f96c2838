"""One-shot LaCAM* on random 32x32 maps (20% obstacles) and lifelong PIBT scaling on a 256x256 map.

    .venv/bin/python benchmarks/mapf_oneshot.py --quick --out runs/bench
    .venv/bin/python benchmarks/mapf_oneshot.py --out runs/bench      # 25 scenarios per size, 1,000 and 4,000 agents

One-shot (starts and goals in the map's largest connected component, as MovingAI's random-32-32-20
scenarios): success = a valid solution (checked with ``check_paths``) within ``--limit`` seconds; prints the success
rate, mean time to the first solution and its sum of costs; with ``--anytime`` seconds > 0 LaCAM* keeps improving
the first few instances and the improved cost is printed too. Scaling: mean wall time of one lifelong PIBT step
(planning + world step) on the largest component of a seeded random 256x256 map (20% obstacles), without
static guidance. Writes ``OUT/mapf_oneshot.json`` (``OUT/mapf_scaling.json`` with ``--scaling-only``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fleetmind.planners.mapf import PibtCore, lacam_star  # noqa: E402
from fleetmind.tasks.mapf_lifelong._kernels import components  # noqa: E402
from fleetmind.tasks.mapf_lifelong.maps import GridMap, random_map  # noqa: E402
from fleetmind.tasks.mapf_lifelong.validate import check_paths  # noqa: E402
from fleetmind.tasks.mapf_lifelong.world import MapfWorld  # noqa: E402


def largest_component(grid: GridMap) -> GridMap:
    """As MovingAI's scenarios: only the largest connected component is used (the rest becomes obstacles)."""
    label = components(grid.obstacles)
    keep = np.bincount(label[label >= 0]).argmax()
    return GridMap(grid.name, label != keep)


def one_shot(agents: int, scenario: int, limit: float, anytime: bool) -> dict:
    grid = largest_component(random_map(32, 32, 0.2, seed=1000 + scenario))
    world = MapfWorld(grid, agents, on_target="nothing")
    world.reset(scenario)
    result = lacam_star(grid.obstacles, world.pos, world.goal, time_limit=limit, seed=scenario, anytime=anytime)
    ok = result.paths is not None and not check_paths(result.paths, grid.obstacles, world.pos, world.goal)
    return {
        "agents": agents,
        "scenario": scenario,
        "solved": bool(ok),
        "first_solution_s": result.first_solution_s,
        "cost": result.cost if ok else None,
        "makespan": int(len(result.paths) - 1) if ok else None,
        "nodes": result.nodes,
        "seconds": result.seconds,
    }


def scaling(agents: int, steps: int) -> dict:
    grid = largest_component(random_map(256, 256, 0.2, seed=7))  # no agent trapped in a 2-cell pocket
    world = MapfWorld(grid, agents)
    t0 = time.perf_counter()
    world.reset(0)
    core = PibtCore(grid.obstacles, agents, 0, w_static=0.0)  # unit-cost distances: uint16 rows, half the memory
    core.actions(world.cells(world.pos), world.cells(world.goal))  # first call fills the cost-to-go cache
    setup = time.perf_counter() - t0
    reached = 0
    t1 = time.perf_counter()
    for _ in range(steps):
        reached += int(world.step(core.actions(world.cells(world.pos), world.cells(world.goal))).on_goal.sum())
    per_step = (time.perf_counter() - t1) / steps
    return {
        "agents": agents,
        "steps": steps,
        "seconds_per_step": per_step,
        "setup_s": setup,
        "avg_throughput": reached / steps,
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="5 scenarios per size; scaling at 1,000 agents only")
    p.add_argument("--out", type=Path, default=Path("runs/bench"))
    p.add_argument("--limit", type=float, default=10.0, help="seconds per one-shot instance")
    p.add_argument("--anytime", type=float, default=2.0, help="anytime seconds for the first 3 instances per size")
    p.add_argument("--scaling-only", action="store_true", help="skip the one-shot part")
    args = p.parse_args(argv)
    stamp = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    machine = f"{platform.platform()} | {platform.processor() or platform.machine()} | {os.cpu_count()} CPUs"
    print(f"mapf_oneshot | {stamp} | {machine}")
    one_shot(20, 0, 1.0, False)  # warm the kernels
    scenarios = 5 if args.quick else 25
    rows, summary = [], []
    for agents in () if args.scaling_only else (100, 200, 400):
        runs = [one_shot(agents, s, args.limit, False) for s in range(scenarios)]
        rows += runs
        solved = [r for r in runs if r["solved"]]
        rate = len(solved) / len(runs)
        mean_t = float(np.mean([r["first_solution_s"] for r in solved])) if solved else float("nan")
        line = {
            "agents": agents,
            "scenarios": len(runs),
            "success_rate": rate,
            "mean_first_solution_s": mean_t,
            "mean_soc": float(np.mean([r["cost"] for r in solved])) if solved else None,
        }
        if args.anytime > 0:
            better = []
            for s in range(min(3, scenarios)):
                first = runs[s]["cost"]
                improved = one_shot(agents, s, args.anytime, True)
                if first and improved["cost"]:
                    better.append(1.0 - improved["cost"] / first)
            line["anytime_soc_reduction"] = float(np.mean(better)) if better else None
        summary.append(line)
        print(
            f"LaCAM* random-32-32-20 | {agents:>4} agents | success {rate:.0%} within {args.limit:.0f}s | "
            f"mean first solution {mean_t:.3f}s | mean SoC {line['mean_soc']} | "
            f"anytime {args.anytime:.0f}s SoC reduction {line.get('anytime_soc_reduction')}",
            flush=True,
        )
    scale = []
    for agents in (1000,) if args.quick else (1000, 4000):
        r = scaling(agents, 32 if args.quick else 64)
        scale.append(r)
        print(
            f"PIBT lifelong 256x256 | {agents:>5} agents | {r['seconds_per_step'] * 1000:.2f} ms/step | "
            f"setup {r['setup_s']:.2f}s | throughput {r['avg_throughput']:.2f}",
            flush=True,
        )
    args.out.mkdir(parents=True, exist_ok=True)
    out = args.out / ("mapf_scaling.json" if args.scaling_only else "mapf_oneshot.json")
    data = {"timestamp": stamp, "machine": machine, "one_shot": summary, "instances": rows, "scaling": scale}
    out.write_text(json.dumps(data, indent=2) + "\n")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
