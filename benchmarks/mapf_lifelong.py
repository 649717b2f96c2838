"""Lifelong MAPF benchmark on the POGEMA benchmark maps: avg_throughput and wall time per episode.

    .venv/bin/python benchmarks/mapf_lifelong.py --quick --out runs/bench      # < 10 minutes on 2 cores
    .venv/bin/python benchmarks/mapf_lifelong.py --out runs/bench              # the full grid of issue 4

Runs the world core (POGEMA 1.4 soft collisions, ``on_target=restart``) with each planner's array core; the
episode is ``--steps`` steps (256) and ``avg_throughput`` = goals reached / steps. ``free flow`` is the same
instances' ceiling (every agent alone on the map, on shortest paths): an anchor above it was measured elsewhere.
Prints every figure, the machine and a timestamp, and writes ``OUT/mapf_lifelong.json``.
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

from planners.mapf import lifelong_core, visible_lists  # noqa: E402
from sim.grid.mapf import MapfWorld, map_names, named_map  # noqa: E402
from sim.grid.mapf._kernels import bfs_distances  # noqa: E402

PLANNERS = ("follower", "pibt", "pibt_flow", "pibt_lns")
# POGEMA benchmark anchors (mean avg_throughput) to compare with; see issue 4.
ANCHORS = {
    ("wfi_warehouse", 192): ("Follower", 3.94),
    ("wfi_warehouse", 128): ("RHCR", 3.49),
    ("pico_*", 64): ("RHCR", 3.82),
    ("mazes_*", 64): ("RHCR", 2.59),
    ("den520d", 256): ("RHCR (MovingAI 64x64)", 5.13),
    ("Paris_1", 256): ("RHCR (MovingAI 64x64)", 5.13),
}


def free_flow(map_name: str, agents: int, seed: int, steps: int) -> float:
    """The instance's throughput ceiling: every agent alone on the map, on shortest paths, with the same goal
    sequence (each goal is reached exactly, so the world's seeded goal draws repeat). No planner can beat it."""
    grid = named_map(map_name)
    world = MapfWorld(grid, agents)
    world.reset(seed)
    w = world.width
    rows: dict[int, np.ndarray] = {}
    reached = 0
    for i in range(agents):
        t = 0
        while True:
            g = int(world.goal[i, 0] * w + world.goal[i, 1])
            if g not in rows:
                rows[g] = bfs_distances(grid.obstacles, g // w, g % w).ravel()
            t += max(1, int(rows[g][world.pos[i, 0] * w + world.pos[i, 1]]))
            if t > steps:
                break
            reached += 1
            world.pos[i] = world.goal[i]
            world.goal[i] = world.new_goal(i)
    return reached / steps


def episode(map_name: str, agents: int, planner: str, seed: int, steps: int) -> tuple[float, float, float]:
    """One lifelong episode: (avg_throughput, wall seconds, planning seconds)."""
    grid = named_map(map_name)
    t0 = time.perf_counter()
    world = MapfWorld(grid, agents)
    world.reset(seed)
    core = lifelong_core(planner, grid.obstacles, agents, seed)
    planning = time.perf_counter() - t0
    reached = 0
    for _ in range(steps):
        t1 = time.perf_counter()
        pos, goal = world.cells(world.pos), world.cells(world.goal)
        if planner == "follower":
            acts = core.actions(pos, goal, *visible_lists(world.pos, world.width, world.obs_radius))
        else:
            acts = core.actions(pos, goal)
        planning += time.perf_counter() - t1
        reached += int(world.step(acts).on_goal.sum())
    return reached / steps, time.perf_counter() - t0, planning


def grid_of(quick: bool) -> list[tuple[str, list[str], list[int], list[int]]]:
    """(label, maps, agent counts, seeds) per row group."""
    names = map_names()
    pico = [n for n in names if n.startswith("pico_")]
    mazes = [n for n in names if n.startswith("test-mazes-")]
    if quick:
        return [
            ("wfi_warehouse", ["wfi_warehouse"], [64, 192], list(range(10))),
            ("pico_*", pico, [64], [0, 1]),
        ]
    return [
        ("wfi_warehouse", ["wfi_warehouse"], [32, 64, 96, 128, 160, 192], list(range(10))),
        ("pico_*", pico, [8, 16, 32, 64], list(range(10))),
        ("mazes_*", mazes, [8, 16, 32, 64], list(range(10))),
        ("den520d", ["den520d"], [64, 128, 192, 256], list(range(10))),
        ("Paris_1", ["Paris_1_256c4"], [64, 128, 192, 256], list(range(10))),
    ]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="warehouse 64/192 and pico_* 64 only")
    p.add_argument("--out", type=Path, default=Path("runs/bench"), help="output folder")
    p.add_argument("--steps", type=int, default=256, help="episode length (default 256)")
    p.add_argument("--planners", default=",".join(PLANNERS), help="comma-separated: follower,pibt,pibt_flow,pibt_lns")
    p.add_argument("--only", default="", help="comma-separated map groups to run, e.g. den520d,Paris_1 (default: all)")
    args = p.parse_args(argv)
    planners = [x for x in args.planners.split(",") if x]
    stamp = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    machine = f"{platform.platform()} | {platform.processor() or platform.machine()} | {os.cpu_count()} CPUs"
    print(f"mapf_lifelong benchmark | {stamp} | {machine} | python {platform.python_version()}")
    for planner in planners:  # warm the numba kernels (cache=True loads them)
        episode("pico_s00_od20_na32", 8, planner, 0, 2)
    rows = []
    header = f"{'map':<14} {'agents':>6} {'planner':<9} {'episodes':>8} {'avg_throughput':>14} {'s/episode':>10}"
    print(header + f" {'planning s':>10} {'free flow':>9}  anchor")
    groups = grid_of(args.quick)
    only = [x for x in args.only.split(",") if x]
    unknown = sorted(set(only) - {g[0] for g in groups})
    if unknown:
        p.error(f"--only: unknown map group(s) {', '.join(unknown)}; choose from {', '.join(g[0] for g in groups)}")
    for label, maps, counts, seeds in groups:
        if only and label not in only:
            continue
        for agents in counts:
            ceiling = float(np.mean([free_flow(m, agents, s, args.steps) for m in maps for s in seeds]))
            for planner in planners:
                results = [episode(m, agents, planner, s, args.steps) for m in maps for s in seeds]
                thr = float(np.mean([r[0] for r in results]))
                wall = float(np.mean([r[1] for r in results]))
                plan = float(np.mean([r[2] for r in results]))
                row = {
                    "map": label,
                    "agents": agents,
                    "planner": planner,
                    "seeds": seeds,
                    "maps": len(maps),
                    "episodes": len(results),
                    "steps": args.steps,
                    "avg_throughput": round(thr, 4),
                    "avg_throughput_std": round(float(np.std([r[0] for r in results])), 4),
                    "seconds_per_episode": round(wall, 4),
                    "planning_seconds_per_episode": round(plan, 4),
                    "free_flow_throughput": round(ceiling, 4),
                }
                note = ""
                if (label, agents) in ANCHORS:
                    who, value = ANCHORS[label, agents]
                    row["anchor"] = {"planner": who, "avg_throughput": value, "beaten": thr > value}
                    note = f"{who} {value}: {'beaten' if thr > value else 'not beaten'}"
                    if value > ceiling:
                        note += " (anchor above this map set's free-flow ceiling: it was measured on other maps)"
                rows.append(row)
                print(
                    f"{label:<14} {agents:>6} {planner:<9} {len(results):>8} {thr:>14.3f} {wall:>10.3f} {plan:>10.3f}"
                    f" {ceiling:>9.3f}  {note}",
                    flush=True,
                )
    args.out.mkdir(parents=True, exist_ok=True)
    out = args.out / "mapf_lifelong.json"
    meta = {"timestamp": stamp, "machine": machine, "quick": args.quick}
    out.write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")
    (args.out / "mapf_lifelong.meta.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
