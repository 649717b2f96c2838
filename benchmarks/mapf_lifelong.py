"""Lifelong MAPF benchmark on the POGEMA benchmark maps: avg_throughput and wall time per episode.

    .venv/bin/python benchmarks/mapf_lifelong.py --quick --out runs/bench      # < 10 minutes on 2 cores
    .venv/bin/python benchmarks/mapf_lifelong.py --out runs/bench              # the full grid of issue 4

Runs the world core (POGEMA 1.4 soft collisions, ``on_target=restart``) with each planner's array core;
``avg_throughput`` = goals reached / steps. ``free flow`` is the same instances' ceiling (every agent alone on the
map, on shortest paths). Map sets, each with the POGEMA benchmark's episode length unless ``--steps`` is given:

- ``wfi_warehouse``, ``pico_*`` (random 20x20), ``mazes_*`` (65x65), ``den520d``, ``Paris_1``: the bundled
  learn-to-follow maps, 10 seeds each, 256 steps;
- ``validation-random`` (256 steps) and ``validation-mazes`` (128 steps): the POGEMA benchmark's own 128 random and
  128 maze maps, seed 0 each, as it ran RHCR for the anchors. pogema-toolbox generates them in the pogema venv
  (``benchmarks/_pogema.py``, made on first use from the registry); without it these sets are skipped;
- ``city-tiles``: the POGEMA benchmark's MovingAI set (128 64x64 tiles of eight street maps, seed 0, 256 steps),
  where its MovingAI anchor was measured. No registry package ships them: the set runs when a YAML file of string
  maps holding them lies under ``../shared/maps`` or is given with ``--tiles``;
- ``large`` (only when named: ``--only large``): 1,000 / 4,000 / 10,000 agents with ``pibt`` and ``pibt_flow`` on
  the generated LoRR-style 140x500 warehouse, 64 steps, each in its own process (``benchmarks/_large.py``): ms per
  step, peak memory (RSS), throughput beside the free-flow ceiling, and the cost-to-go kernel before/after.

Prints every figure, the machine and a timestamp, and writes ``OUT/mapf_lifelong.json``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _large import AGENTS as LARGE_AGENTS  # noqa: E402  (this script's folder)
from _large import MAPS as LARGE_MAPS  # noqa: E402
from _large import PLANNERS as LARGE_PLANNERS  # noqa: E402
from _large import STEPS as LARGE_STEPS  # noqa: E402
from _large import kernel_before_after  # noqa: E402
from _pogema import ANCHORS, CITY_TILES, VENV, benchmark_maps, city_tiles  # noqa: E402  (this script's folder)
from fleetmind.planners.mapf import lifelong_core, visible_lists  # noqa: E402
from fleetmind.tasks.mapf_lifelong._kernels import bfs_distances  # noqa: E402
from fleetmind.tasks.mapf_lifelong.maps import (  # noqa: E402
    GridMap,
    map_names,
    named_map,
    parse_string_map,  # noqa: E402
)
from fleetmind.tasks.mapf_lifelong.world import MapfWorld  # noqa: E402

from fleetmind.app.argtypes import parse_list, positive  # noqa: E402

PLANNERS = ("follower", "follower_il", "pibt", "pibt_flow", "pibt_lns")
DECENTRALIZED = ("follower", "follower_il")  # cores that take each agent's own view


@dataclass(frozen=True)
class MapSet:
    """One row group: its maps, agent counts, seeds and episode length."""

    label: str
    maps: list[GridMap]
    agents: list[int]
    seeds: list[int]
    steps: int


def free_flow(grid: GridMap, agents: int, seed: int, steps: int) -> float:
    """The instance's throughput ceiling: every agent alone on the map, on shortest paths, with the same goal
    sequence (each goal is reached exactly, so the world's seeded goal draws repeat). No planner can beat it."""
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


def episode(grid: GridMap, agents: int, planner: str, seed: int, steps: int) -> tuple[float, float, float]:
    """One lifelong episode: (avg_throughput, wall seconds, planning seconds)."""
    t0 = time.perf_counter()
    world = MapfWorld(grid, agents)
    world.reset(seed)
    core = lifelong_core(planner, grid.obstacles, agents, seed)
    planning = time.perf_counter() - t0
    reached = 0
    for _ in range(steps):
        t1 = time.perf_counter()
        pos, goal = world.cells(world.pos), world.cells(world.goal)
        if planner in DECENTRALIZED:
            acts = core.actions(pos, goal, *visible_lists(world.pos, world.width, world.obs_radius))
        else:
            acts = core.actions(pos, goal)
        planning += time.perf_counter() - t1
        reached += int(world.step(acts).on_goal.sum())
    return reached / steps, time.perf_counter() - t0, planning


def pogema_sets(quick: bool) -> list[MapSet]:
    """The POGEMA benchmark's validation random and maze sets, or none (saying why) when they cannot be generated."""
    try:
        maps = benchmark_maps()
    except (OSError, subprocess.CalledProcessError) as exc:
        print(f"skipping validation-random and validation-mazes: generating them in {VENV} failed ({exc})", flush=True)
        return []
    counts = [64] if quick else [8, 16, 24, 32, 48, 64]
    sets = []
    for label, steps in (("validation-random", 256), ("validation-mazes", 128)):
        grids = [parse_string_map(m, n) for n, m in sorted(maps.items()) if n.startswith(label + "-seed-")]
        sets.append(MapSet(label, grids, counts, [0], steps))
    return sets


def tiles_set(quick: bool, path: Path | None) -> list[MapSet]:
    """The POGEMA benchmark's MovingAI city tiles at 64-256 agents (256 in quick mode), seed 0, 256 steps: where
    the MovingAI anchor was measured. Only when a YAML file holds them (``--tiles`` or under ../shared/maps)."""
    tiles = city_tiles(path)
    if not tiles:
        print("no city tiles (Berlin_1_256_00 ...) under ../shared/maps or --tiles: the MovingAI anchor is skipped")
        return []
    if len(tiles) < CITY_TILES:
        print(f"city tiles: {len(tiles)} of {CITY_TILES}; the MovingAI anchor needs all of them for a verdict")
    grids = [parse_string_map(m, n) for n, m in sorted(tiles.items())]
    return [MapSet("city-tiles", grids, [256] if quick else [64, 128, 192, 256], [0], 256)]


def grid_of(quick: bool, only: list[str], tiles: Path | None = None) -> list[MapSet]:
    """The row groups to run (all of them, or those named in ``only``)."""
    names = map_names()
    pico = [named_map(n) for n in names if n.startswith("pico_")]
    mazes = [named_map(n) for n in names if n.startswith("test-mazes-")]
    warehouse = [named_map("wfi_warehouse")]
    ten = list(range(10))
    if quick:
        sets = [MapSet("wfi_warehouse", warehouse, [64, 192], ten, 256), MapSet("pico_*", pico, [64], [0, 1], 256)]
    else:
        sets = [
            MapSet("wfi_warehouse", warehouse, [32, 64, 96, 128, 160, 192], ten, 256),
            MapSet("pico_*", pico, [8, 16, 32, 64], ten, 256),
            MapSet("mazes_*", mazes, [8, 16, 32, 64], ten, 256),
            MapSet("den520d", [named_map("den520d")], [64, 128, 192, 256], ten, 256),
            MapSet("Paris_1", [named_map("Paris_1_256c4")], [64, 128, 192, 256], ten, 256),
        ]
    if not only or {"validation-random", "validation-mazes"} & set(only):
        sets += pogema_sets(quick)
    if not only or "city-tiles" in only:
        sets += tiles_set(quick, tiles)
    return [m for m in sets if not only or m.label in only]


GROUPS = (
    "wfi_warehouse",
    "pico_*",
    "mazes_*",
    "den520d",
    "Paris_1",
    "validation-random",
    "validation-mazes",
    "city-tiles",
    "large",
)


def run_large(steps: int | None, planners: list[str], out: Path) -> list[dict]:
    """The ``large`` group: each (map, agents, planner) in its own process (its own peak RSS), printed as it ends."""
    steps = steps or LARGE_STEPS
    script = Path(__file__).resolve().parent / "_large.py"
    rows = []
    for map_name in LARGE_MAPS:
        old, new = kernel_before_after(map_name)
        print(
            f"{map_name}: cost-to-go row (Dijkstra on the static-centrality costs): reference bucket queue "
            f"{old:.2f} ms, multiple-queue kernel {new:.2f} ms (same values; {old / new:.2f}x)",
            flush=True,
        )
        print(
            f"{'map':<23} {'agents':>6} {'planner':<9} {'steps':>5} {'setup s':>7} {'1st step s':>10} "
            f"{'ms/step':>8} {'(mean':>7} {'max)':>7} {'cpu ms':>7} {'rows/st':>7} {'thr':>7} {'free flow':>9} "
            f"{'RSS GB':>6} {'cache GB':>8} {'dense GB':>8}  target"
        )
        for agents in LARGE_AGENTS:
            ceiling = free_flow(named_map(map_name), agents, 0, steps)
            for planner in [p for p in planners if p in LARGE_PLANNERS]:
                cmd = [sys.executable, str(script), map_name, str(agents), planner, str(steps)]
                done = subprocess.run(cmd, capture_output=True, text=True, timeout=3600, check=False)
                if done.returncode != 0:
                    print(f"{map_name} {agents} {planner}: failed: {done.stderr.strip().splitlines()[-1:]}")
                    continue
                r = json.loads(done.stdout.strip().splitlines()[-1])
                r["free_flow_throughput"] = round(ceiling, 4)
                target_ms = 100.0 if planner == "pibt" else 1000.0
                ok = r["step_ms_mean"] <= target_ms and r["peak_rss_gb"] <= 4.0
                verdict = f"<= {target_ms:g} ms, <= 4 GB: {'met' if ok else 'missed'}" if agents == 10_000 else ""
                r["target_met"] = ok if agents == 10_000 else None
                rows.append(r)
                print(
                    f"{map_name:<23} {agents:>6} {planner:<9} {steps:>5} {r['setup_s']:>7.2f} "
                    f"{r['first_step_s']:>10.2f} {r['step_ms_median']:>8.1f} {r['step_ms_mean']:>7.1f} "
                    f"{r['step_ms_max']:>7.1f} {r['step_cpu_ms_mean']:>7.1f} {r['rows_per_step']:>7.1f} "
                    f"{r['avg_throughput']:>7.2f} {ceiling:>9.2f} {r['peak_rss_gb']:>6.2f} {r['cache_gb']:>8.2f} "
                    f"{r['dense_per_agent_gb']:>8.2f}  {verdict}",
                    flush=True,
                )
    out.mkdir(parents=True, exist_ok=True)
    (out / "mapf_lifelong_large.json").write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {out / 'mapf_lifelong_large.json'}")
    return rows


def anchor_note(ms: MapSet, agents: int, steps: int, thr: float, ceiling: float) -> tuple[dict | None, str]:
    """The published anchor for this row, if any, as a JSON field and a printed note."""
    if (ms.label, agents) not in ANCHORS:
        return None, ""
    who, value, elsewhere = ANCHORS[ms.label, agents]
    if ms.label == "city-tiles" and len(ms.maps) < CITY_TILES:
        elsewhere = f"all {CITY_TILES} city tiles ({len(ms.maps)} here)"
    if steps != ms.steps:
        elsewhere = f"{ms.steps}-step episodes"
    if elsewhere:
        field = {"planner": who, "avg_throughput": value, "measured_on": elsewhere, "comparable": False}
        return field, f"{who} {value} was measured on {elsewhere}: no verdict"
    field = {"planner": who, "avg_throughput": value, "beaten": thr > value, "comparable": True}
    note = f"{who} {value}: {'beaten' if thr > value else 'not beaten'}"
    if value > ceiling:
        note += " (anchor above this map set's free-flow ceiling)"
    return field, note


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="warehouse 64/192, pico_* 64, validation-random/-mazes 64 only")
    p.add_argument("--out", type=Path, default=Path("runs/bench"), help="output folder")
    p.add_argument(
        "--steps", type=positive, default=None, help="episode length for every set (default: each set's own)"
    )
    p.add_argument("--planners", default=",".join(PLANNERS), help="comma-separated: " + ",".join(PLANNERS))
    p.add_argument("--only", default="", help=f"comma-separated map sets to run, from {', '.join(GROUPS)}")
    p.add_argument("--tiles", type=Path, default=None, help="YAML of the POGEMA benchmark's 64x64 city tiles")
    args = p.parse_args(argv)
    planners = parse_list(p, args.planners, "--planners", PLANNERS, "planner")
    only = parse_list(p, args.only, "--only", GROUPS, "map set") if args.only else []  # "": every set
    stamp = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    machine = f"{platform.platform()} | {platform.processor() or platform.machine()} | {os.cpu_count()} CPUs"
    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"mapf_lifelong benchmark | {stamp} | {machine} | load {load} | python {platform.python_version()}")
    if "large" in only:
        run_large(args.steps, planners, args.out)
        only = [x for x in only if x != "large"]
        if not only:
            return 0
    for planner in planners:  # warm the numba kernels (cache=True loads them)
        episode(named_map("pico_s00_od20_na32"), 8, planner, 0, 2)
    rows = []
    header = f"{'map':<17} {'agents':>6} {'planner':<9} {'episodes':>8} {'steps':>5} {'avg_throughput':>14}"
    print(header + f" {'s/episode':>10} {'planning s':>10} {'free flow':>9}  anchor")
    for ms in grid_of(args.quick, only, args.tiles):
        steps = args.steps or ms.steps
        for agents in ms.agents:
            ceiling = float(np.mean([free_flow(m, agents, s, steps) for m in ms.maps for s in ms.seeds]))
            for planner in planners:
                results = [episode(m, agents, planner, s, steps) for m in ms.maps for s in ms.seeds]
                thr = float(np.mean([r[0] for r in results]))
                wall = float(np.mean([r[1] for r in results]))
                plan = float(np.mean([r[2] for r in results]))
                row = {
                    "map": ms.label,
                    "agents": agents,
                    "planner": planner,
                    "seeds": ms.seeds,
                    "maps": len(ms.maps),
                    "episodes": len(results),
                    "steps": steps,
                    "avg_throughput": round(thr, 4),
                    "avg_throughput_std": round(float(np.std([r[0] for r in results])), 4),
                    "seconds_per_episode": round(wall, 4),
                    "planning_seconds_per_episode": round(plan, 4),
                    "free_flow_throughput": round(ceiling, 4),
                }
                field, note = anchor_note(ms, agents, steps, thr, ceiling)
                if field:
                    row["anchor"] = field
                rows.append(row)
                print(
                    f"{ms.label:<17} {agents:>6} {planner:<9} {len(results):>8} {steps:>5} {thr:>14.3f} {wall:>10.3f}"
                    f" {plan:>10.3f} {ceiling:>9.3f}  {note}",
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
