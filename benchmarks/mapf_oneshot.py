"""One-shot LaCAM* (with its LNS refinement) on random-32-32-20-like maps or MovingAI files, and lifelong PIBT scaling.

    .venv/bin/python benchmarks/mapf_oneshot.py --quick --out runs/bench
    .venv/bin/python benchmarks/mapf_oneshot.py --out runs/bench      # 25 scenarios per size, 1,000 and 4,000 agents
    .venv/bin/python benchmarks/mapf_oneshot.py --scen a.scen b.scen --agents 100 400 [--map m.map] --out runs/bench
    .venv/bin/python benchmarks/mapf_oneshot.py --make-scen runs/scen --count 5   # seeded .map/.scen files

Per instance it prints the sum of costs (SoC: each agent's last arrival at its goal), the sum of loss (LaCAM's
objective: moves and waits off the goal), the makespan, the lower bound (sum of single-agent distances), the first
solution's SoC and time, and the final SoC and time after ``--limit`` seconds of LaCAM*'s anytime search and
refinement; every solution is checked with ``check_paths``. Random instances: the map's largest connected
component of a seeded 32x32 map with 20% obstacles (as MovingAI's random-32-32-20), starts and goals from a seeded
random scenario, the first k agents of it (the standard protocol). ``--scen``: MovingAI ``.scen`` files, the map
named in them next to them unless ``--map`` is given. ``--lacam3 BIN``: after each instance, a user-built LaCAM3
binary (``benchmarks/_lacam3.py`` says how to build it) runs on the same files with the same limit; its solution is
checked with ``check_paths``, costed as ours and printed side by side (ours/LaCAM3). Scaling: mean wall time of
one lifelong PIBT step (planning + world step) on the largest component of a seeded random 256x256 map (20%
obstacles), without static guidance. Writes ``OUT/mapf_oneshot.json`` (``OUT/mapf_scaling.json`` with
``--scaling-only``).
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import _lacam3  # noqa: E402
from fleetmind.planners.mapf import PibtCore, lacam_star  # noqa: E402
from fleetmind.tasks.mapf_lifelong._kernels import components  # noqa: E402
from fleetmind.tasks.mapf_lifelong.maps import GridMap, load_movingai, named_map, random_map  # noqa: E402
from fleetmind.tasks.mapf_lifelong.scen import (  # noqa: E402
    Scenario,
    check_scenario,
    load_scen,
    random_scenario,
    write_movingai,
    write_scen,
)
from fleetmind.tasks.mapf_lifelong.validate import check_paths  # noqa: E402
from fleetmind.tasks.mapf_lifelong.world import MapfWorld  # noqa: E402

from fleetmind.app.argtypes import positive, positive_seconds  # noqa: E402


def largest_component(grid: GridMap) -> GridMap:
    """As MovingAI's scenarios: only the largest connected component is used (the rest becomes obstacles)."""
    label = components(grid.obstacles)
    keep = np.bincount(label[label >= 0]).argmax()
    return GridMap(grid.name, label != keep)


def random_32_32_20(index: int) -> GridMap:
    """The ``index``-th seeded random-32-32-20-like map (its largest component)."""
    return largest_component(random_map(32, 32, 0.2, seed=1000 + index))


def solve(grid: GridMap, scen: Scenario, label: str, limit: float, seed: int, anytime: bool = True) -> dict:
    """Run LaCAM* on one instance; the row the benchmark prints and stores."""
    cpu = time.process_time()
    result = lacam_star(grid.obstacles, scen.starts, scen.goals, time_limit=limit, seed=seed, anytime=anytime)
    cpu = time.process_time() - cpu
    ok = result.paths is not None and not check_paths(result.paths, grid.obstacles, scen.starts, scen.goals)
    first = result.first_sum_of_costs
    return {
        "instance": label,
        "agents": len(scen.starts),
        "solved": bool(ok),
        "sum_of_costs": result.sum_of_costs if ok else None,
        "sum_of_loss": result.sum_of_loss if ok else None,
        "makespan": result.makespan if ok else None,
        "lower_bound": result.lower_bound,
        "first_sum_of_costs": first if ok else None,
        "first_solution_s": result.first_solution_s,
        "seconds": result.seconds,
        "cpu_s": cpu,  # the CPU time it got: below ``seconds`` when other work shares the cores
        "soc_reduction": 1.0 - result.sum_of_costs / first if ok and first > 0 else None,
        "refined_neighbourhoods": result.refined,
        "nodes": result.nodes,
    }


def print_row(r: dict) -> None:
    if not r["solved"]:
        print(f"{r['instance']:<34} | {r['agents']:>4} agents | unsolved in {r['seconds']:.1f}s", flush=True)
        return
    print(
        f"{r['instance']:<34} | {r['agents']:>4} agents | SoC {r['sum_of_costs']:>6} | sum of loss "
        f"{r['sum_of_loss']:>6} | makespan {r['makespan']:>4} | lower bound {r['lower_bound']:>6} "
        f"(SoC/LB {r['sum_of_costs'] / max(1, r['lower_bound']):.2f}) | first solution {r['first_solution_s']:.3f}s "
        f"SoC {r['first_sum_of_costs']} | final {r['seconds']:.1f}s ({r['cpu_s']:.1f}s CPU), "
        f"SoC -{r['soc_reduction']:.1%}",
        flush=True,
    )


def summarise(rows: list[dict], what: str) -> dict:
    solved = [r for r in rows if r["solved"]]

    def mean(key: str) -> float | None:
        return float(np.mean([r[key] for r in solved])) if solved else None

    line = {
        "set": what,
        "instances": len(rows),
        "success_rate": len(solved) / len(rows) if rows else 0.0,
        "mean_first_solution_s": mean("first_solution_s"),
        "mean_first_sum_of_costs": mean("first_sum_of_costs"),
        "mean_sum_of_costs": mean("sum_of_costs"),
        "mean_sum_of_loss": mean("sum_of_loss"),
        "mean_lower_bound": mean("lower_bound"),
        "mean_soc_reduction": mean("soc_reduction"),
    }
    if solved:
        print(
            f"== {what} | solved {line['success_rate']:.0%} | mean first solution {line['mean_first_solution_s']:.3f}s "
            f"| mean SoC {line['mean_first_sum_of_costs']:.0f} -> {line['mean_sum_of_costs']:.0f} "
            f"(-{line['mean_soc_reduction']:.1%}) | mean sum of loss {line['mean_sum_of_loss']:.0f} "
            f"| mean lower bound {line['mean_lower_bound']:.0f}",
            flush=True,
        )
    return line


def scen_files(paths: list[Path], map_path: Path | None) -> list[tuple[str, GridMap, Scenario, Path, Path]]:
    """``(label, grid, scenario, map file, scen file)`` of each ``.scen`` file."""
    out = []
    for path in paths:
        if not path.is_file():
            raise ValueError(f"--scen {path}: {'a folder' if path.is_dir() else 'no such file'}; give .scen files")
        scen = load_scen(path)
        map_file = map_path or path.parent / scen.map_file
        if not map_file.is_file():
            if map_path:
                raise ValueError(f"--map {map_file}: no such file")
            raise ValueError(f"{path.name} names the map {scen.map_file!r}, not found at {map_file}; use --map")
        grid = load_movingai(map_file)
        check_scenario(scen, grid)
        out.append((path.stem, grid, scen, map_file, path))
    return out


def versus_lacam3(
    binary: Path, ours: dict, grid: GridMap, scen: Scenario, limit: float, seed: int, folder: Path,
    files: tuple[Path, Path] | None = None,
) -> dict:  # fmt: skip
    """Run LaCAM3 on the instance ``ours`` was run on (``files``: its ``.map``/``.scen``, else written to
    ``folder``), after ours, never beside it; store its row in ``ours["lacam3"]`` and print both."""
    if files is None:
        folder.mkdir(parents=True, exist_ok=True)
        map_file, scen_file = folder / f"{ours['instance']}.map", folder / f"{ours['instance']}.scen"
        write_movingai(map_file, grid)
        write_scen(scen_file, dataclasses.replace(scen, map_file=map_file.name))
    else:
        map_file, scen_file = files
    out = folder / f"{ours['instance']}-{len(scen.starts)}.lacam3.txt"
    folder.mkdir(parents=True, exist_ok=True)
    peer = _lacam3.run(binary, map_file, scen_file, len(scen.starts), limit, seed, out, grid.obstacles,
                       scen.starts, scen.goals)  # fmt: skip
    ours["lacam3"] = peer
    if not peer["solved"]:
        print(f"{'':<34} | LaCAM3: unsolved or invalid: {'; '.join(peer['problems'][:3])}", flush=True)
        return peer
    ratio = ours["sum_of_costs"] / peer["sum_of_costs"] if ours["solved"] else None
    first = peer["first_solution_s"]
    speed = ours["first_solution_s"] and first and first / ours["first_solution_s"]
    print(
        f"{'':<34} | LaCAM3 {peer['seconds_limit']}s: SoC {peer['sum_of_costs']:>6} | sum of loss "
        f"{peer['sum_of_loss']:>6} | makespan {peer['makespan']:>4} | first solution "
        f"{first if first is not None else float('nan'):.3f}s | {peer['wall_s']:.1f}s wall, {peer['cpu_s']:.1f}s CPU"
        + (f" || ours/LaCAM3 SoC {ratio:.3f}" if ratio else "")
        + (f", our first solution {speed:.1f}x faster" if speed else ""),
        flush=True,
    )
    return peer


def print_versus(rows: list[dict]) -> None:
    """The side-by-side table of every instance both solved."""
    both = [r for r in rows if r["solved"] and r.get("lacam3", {}).get("solved")]
    if not both:
        return
    print("| instance | agents | first solution ours / LaCAM3 (s) | SoC ours / LaCAM3 | ours/LaCAM3 | lower bound |")
    print("|---|---|---|---|---|---|")
    for r in both:
        p = r["lacam3"]
        first = f"{p['first_solution_s']:.3f}" if p["first_solution_s"] is not None else "?"
        print(
            f"| {r['instance']} | {r['agents']} | {r['first_solution_s']:.3f} / {first} | {r['sum_of_costs']} / "
            f"{p['sum_of_costs']} | {r['sum_of_costs'] / p['sum_of_costs']:.3f} | {r['lower_bound']} |"
        )


def make_scen(folder: Path, count: int, agents: int, maps: list[str]) -> list[Path]:
    """Seeded ``.map``/``.scen`` pairs: ``count`` random-32-32-20-like maps and the bundled ``maps``."""
    folder.mkdir(parents=True, exist_ok=True)
    grids = [(f"random-32-32-20-s{k}", random_32_32_20(k)) for k in range(count)]
    grids += [(name, named_map(name)) for name in maps]
    written = []
    for name, grid in grids:
        write_movingai(folder / f"{name}.map", grid)
        free = int((components(np.ascontiguousarray(grid.obstacles)) >= 0).sum())
        for k in range(count if name in maps else 1):
            scen = random_scenario(grid, min(agents, free), seed=k, map_file=f"{name}.map")
            write_scen(folder / f"{name}-random-{k + 1}.scen", scen)
            written.append(folder / f"{name}-random-{k + 1}.scen")
    return written


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
    p.add_argument("--quick", action="store_true", help="2 scenarios at 100 and 400 agents; scaling at 1,000 only")
    p.add_argument("--out", type=Path, default=Path("runs/bench"))
    p.add_argument(
        "--limit", type=positive_seconds, default=10.0, help="seconds per one-shot instance (anytime + refinement)"
    )
    p.add_argument("--scaling-only", action="store_true", help="skip the one-shot part")
    p.add_argument("--scen", type=Path, nargs="+", help="MovingAI .scen files to run instead of the random maps")
    p.add_argument("--map", type=Path, help="the .map of every --scen file (default: the one each file names)")
    p.add_argument("--agents", type=positive, nargs="+", help="agent counts (the first k of each scenario)")
    p.add_argument("--no-scaling", action="store_true", help="skip the lifelong scaling part")
    p.add_argument("--make-scen", type=Path, help="write seeded .map/.scen files into this folder and stop")
    p.add_argument("--count", type=positive, default=5, help="with --make-scen: random maps, and scenarios per map")
    p.add_argument("--maps", nargs="*", default=["wfi_warehouse"], help="with --make-scen: bundled maps to add")
    p.add_argument("--lacam3", type=Path, help="a LaCAM3 binary (github.com/Kei18/lacam3) to run side by side")
    args = p.parse_args(argv)
    peer = _lacam3.find_binary(args.lacam3)
    if args.lacam3 is not None and peer is None:
        print(f"no LaCAM3 binary at {args.lacam3}: {_lacam3.HOW_TO_BUILD}; running ours alone", flush=True)
    peer_dir = args.out / "lacam3"
    if args.make_scen:
        for path in make_scen(args.make_scen, args.count, 1000, args.maps):
            print(path)
        return 0
    try:  # before the warm-up: a missing file, or a .scen that does not fit its .map, is refused at once
        instances = scen_files(args.scen, args.map) if args.scen else []
    except (OSError, ValueError) as exc:
        print(f"mapf_oneshot: error: {exc}", file=sys.stderr)
        return 2
    stamp = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    machine = f"{platform.platform()} | {platform.processor() or platform.machine()} | {os.cpu_count()} CPUs"
    print(f"mapf_oneshot | {stamp} | {machine} | {args.limit:g}s per instance")
    warm = random_32_32_20(0)
    for _ in range(4):  # compile or load the kernels, the refinement's too, before any instance is timed
        if solve(warm, random_scenario(warm, 60, 0), "warm-up", 0.5, 0)["refined_neighbourhoods"]:
            break
    rows, summary = [], []
    if args.scen:
        for agents in args.agents or [len(instances[0][2].starts)]:
            runs = []
            for name, grid, scen, map_file, scen_file in instances:
                scen_k = scen.first(min(agents, len(scen.starts)))
                runs.append(solve(grid, scen_k, name, args.limit, 0))
                print_row(runs[-1])
                if peer:
                    versus_lacam3(peer, runs[-1], grid, scen_k, args.limit, 0, peer_dir, (map_file, scen_file))
            rows += runs
            summary.append(summarise(runs, f"--scen, {agents} agents"))
    elif not args.scaling_only:
        scenarios = 2 if args.quick else 25
        sizes = args.agents or ((100, 400) if args.quick else (100, 200, 400))
        for agents in sizes:
            runs = []
            for s in range(scenarios):
                grid = random_32_32_20(s)
                scen = random_scenario(grid, max(sizes), seed=s).first(agents)
                runs.append(solve(grid, scen, f"random-32-32-20-s{s}-random-{s + 1}", args.limit, s))
                print_row(runs[-1])
                if peer:
                    versus_lacam3(peer, runs[-1], grid, scen, args.limit, s, peer_dir)
            rows += runs
            summary.append(summarise(runs, f"random-32-32-20, {agents} agents"))
    print_versus(rows)
    scale = []
    for agents in () if args.scen or args.no_scaling else (1000,) if args.quick else (1000, 4000):
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
