"""Side by side with the peer: pogema 1.4.0's BatchAStarAgent and our planners on the same POGEMA instances.

    .venv/bin/python benchmarks/mapf_vs_pogema.py --quick --out runs/bench

pogema pins pydantic 1 and numpy < 2, so this script makes its own venv (``.venv-pogema/``, git-ignored; see
``benchmarks/_pogema.py``) and runs every episode there, in POGEMA's own environment, through
``benchmarks/_pogema_adapter.py``: the same map, agents and seed are measured both ways. ``validation-random-*``
and ``validation-mazes-*`` (full run; ``--quick`` takes the first 10 maze maps, without a verdict) are the POGEMA
benchmark's own 128-map sets with seed 0: the very instances its RHCR and Follower figures were measured on.
Writes ``OUT/mapf_vs_pogema.json`` with throughput, planning seconds and the speed ratio (pogema seconds / ours),
plus a semantics check per instance: random joint actions stepped through POGEMA and through our soft-collision
kernel must give the same positions.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

from _pogema import (
    ANCHORS,
    FOLLOWER_PUBLISHED,
    ROOT,
    benchmark_maps,
    ensure_venv,
)  # this script's folder is on sys.path

from fleetmind.app.argtypes import parse_list, positive, positive_seconds

OURS = ("follower", "follower_il", "pibt", "pibt_flow", "pibt_lns")
DECENTRALIZED = ("follower", "follower_il")  # measured against the published (decentralized) Follower too


def run_one(python: Path, map_name: str, agents: int, seed: int, steps: int, planner: str, timeout: float) -> dict:
    env = {**os.environ, "FLEETMIND_PYTHON": sys.executable, "PYTHONWARNINGS": "ignore"}  # our planners: this venv
    cmd = [
        str(python),
        str(ROOT / "benchmarks" / "_pogema_adapter.py"),
        map_name,
        str(agents),
        str(seed),
        str(steps),
        planner,
    ]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env, cwd=ROOT)
    except subprocess.TimeoutExpired:
        return {"error": f"timeout after {timeout:.0f}s"}
    if done.returncode != 0:
        return {"error": done.stderr.strip().splitlines()[-1] if done.stderr.strip() else f"exit {done.returncode}"}
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="three instances, one seed each")
    p.add_argument("--out", type=Path, default=Path("runs/bench"), help="output folder")
    p.add_argument("--steps", type=positive, default=256, help="episode length (default 256)")
    p.add_argument("--timeout", type=positive_seconds, default=900.0, help="seconds allowed per pogema episode")
    p.add_argument("--planners", default=",".join(OURS), help=f"comma-separated subset of {', '.join(OURS)}")
    p.add_argument("--only", default="", help="comma-separated map names of the run (e.g. validation-mazes-*)")
    p.add_argument("--no-peer", action="store_true", help="skip pogema's own A* (the speed ratio's reference)")
    args = p.parse_args(argv)
    planners = parse_list(p, args.planners, "--planners", OURS, "planner")
    stamp = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    machine = f"{platform.platform()} | {platform.processor() or platform.machine()} | {os.cpu_count()} CPUs"
    print(f"mapf_vs_pogema | {stamp} | {machine}")
    # (map or map set, agents, seeds, steps); a set ends in '*': one episode per map, as the POGEMA benchmark runs it
    if args.quick:
        instances = [
            ("pico_s00_od20_na32", 32, [0], args.steps),
            ("wfi_warehouse", 64, [0], args.steps),
            ("room-64-64-8", 256, [0], args.steps),
            ("validation-mazes-seed-00*", 64, [0], 128),  # 10 of the 128 maps: no anchor verdict on a subset
        ]
    else:
        instances = [
            ("pico_s00_od20_na32", 64, list(range(3)), args.steps),
            ("wfi_warehouse", 64, list(range(3)), args.steps),
            ("wfi_warehouse", 192, list(range(3)), args.steps),
            ("room-64-64-8", 256, list(range(3)), args.steps),
            ("den520d", 256, list(range(3)), args.steps),
            ("validation-random-*", 64, [0], 256),
            ("validation-mazes-*", 64, [0], 128),
        ]
    if args.only:  # "": every map of the run
        wanted = parse_list(p, args.only, "--only", sorted({m for m, *_ in instances}), "map")
        instances = [i for i in instances if i[0] in wanted]
    python = ensure_venv()
    benchmark_maps()  # the POGEMA benchmark's validation maps, generated once in the pogema venv
    rows = []
    semantics = []
    for map_name, agents, seeds, steps in instances:
        check = run_one(python, map_name, agents, seeds[0], steps, "semantics", args.timeout)
        semantics.append({"map": map_name, "agents": agents, "seed": seeds[0], **check})
        print(f"semantics check {map_name} {agents} agents: {check}")
    print(
        f"{'map':<20} {'agents':>6} {'seed':>4} {'planner':<13} {'avg_throughput':>14} {'planning s':>11} "
        f"{'episode s':>10} {'speed-up':>9}  anchor"
    )
    for map_name, agents, seeds, steps in instances:
        who, value, elsewhere = ANCHORS.get((map_name.removesuffix("-*"), agents), (None, None, "-"))
        for seed in seeds:
            peer = (
                {"error": "not run (--no-peer)"}
                if args.no_peer
                else run_one(python, map_name, agents, seed, steps, "pogema_astar", args.timeout)
            )
            results = {} if args.no_peer else {"pogema_astar": peer}
            for ours in planners:
                results[ours] = run_one(python, map_name, agents, seed, steps, ours, args.timeout)
            for name, r in results.items():
                ratio = None
                if name != "pogema_astar" and "error" not in r and "error" not in peer and r["planning_s"] > 0:
                    ratio = peer["planning_s"] / r["planning_s"]
                row = {
                    "map": map_name,
                    "agents": agents,
                    "seed": seed,
                    "steps": steps,
                    "planner": name,
                    **r,
                    "speed_ratio_vs_pogema_astar": ratio,
                }
                if "error" in r:
                    rows.append(row)
                    print(f"{map_name:<20} {agents:>6} {seed:>4} {name:<13} ERROR {r['error']}")
                    continue
                note = ""
                if elsewhere is None:  # the anchor's own instances: same maps, agents, seed and steps
                    row["anchor"] = {"planner": who, "avg_throughput": value, "beaten": r["avg_throughput"] > value}
                    note = f"{who} {value}: {'beaten' if r['avg_throughput'] > value else 'not beaten'}"
                follower = FOLLOWER_PUBLISHED.get((map_name.removesuffix("-*"), agents))
                if follower is not None and who != "Follower" and name in DECENTRALIZED:
                    ok = r["avg_throughput"] >= follower
                    row["published_follower"] = {"avg_throughput": follower, "reached": ok}
                    note += f"; Follower {follower}: {'reached' if ok else 'not reached'}"
                rows.append(row)
                print(
                    f"{map_name:<20} {agents:>6} {seed:>4} {name:<13} {r['avg_throughput']:>14.3f} "
                    f"{r['planning_s']:>11.3f} {r['episode_s']:>10.3f} {(f'{ratio:.0f}x' if ratio else ''):>9}  {note}",
                    flush=True,
                )
    args.out.mkdir(parents=True, exist_ok=True)
    out = args.out / "mapf_vs_pogema.json"
    out.write_text(
        json.dumps({"timestamp": stamp, "machine": machine, "semantics": semantics, "rows": rows}, indent=2) + "\n"
    )
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
