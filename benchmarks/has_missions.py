"""HAS missions (issue 16): HAS against the frontier baselines B1-B4 and the flat LLM planner B5, same maps and seeds.

    .venv/bin/python benchmarks/has_missions.py --quick --out runs/bench      # a few minutes: 64x64, 8 robots
    .venv/bin/python benchmarks/has_missions.py --out runs/bench              # 128x128, 16 robots, every family
    .venv/bin/python benchmarks/has_missions.py --quick --llm local           # HAS and B5 on the embedded model

Every episode runs the one pipeline (``fleetmind.app.runner.run_episode``: planner -> shield -> ExploreFleet). HAS
and B5 call the model through ``--llm`` (default ``oracle``: the scripted server answers with the heuristic
suggestion each prompt carries, so the figures are the architecture's, not a model's). Per mission, method, family
and robot count: T50/T90/T99, redundancy (robot-cell sightings per distinct cell sensed), targets found, time to
find, M4 success and SPL, LLM calls and tokens, LLM time as a share of wall time, calls per group per 50 steps and
collisions (must be 0). M5 runs the exploration with a quarter of the robots lost and as many joining at 30% of the
budget, beside the undisturbed run of the same map. Throughput: B1-B4 at 64 robots on 256x256 (radius 5) through
their array path (no observation objects), steps per second of the whole loop (wall and CPU time) and of the planner
alone (CPU time).

Prints the machine and a verdict next to each of the issue's targets; writes ``OUT/has_missions.json`` (rows, the
summary, the verdicts) and ``OUT/has_coverage.png`` (M1 coverage over time per method, first seed).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fleetmind.planners.has.baselines import NAMES, FrontierCore, move  # noqa: E402
from fleetmind.planners.has.platform import InfoPlatform  # noqa: E402
from fleetmind.planners.llm.config import LLMSettings  # noqa: E402
from fleetmind.planners.registry import make_planner  # noqa: E402
from fleetmind.sim.explore import ExploreFleet, ExploreWorld  # noqa: E402
from fleetmind.tasks.has import HasConfig  # noqa: E402
from fleetmind.tasks.has.maps import generate  # noqa: E402

from fleetmind.app.argtypes import parse_list, positive  # noqa: E402
from fleetmind.app.llm import planner_options  # noqa: E402
from fleetmind.app.runner import StepInfo, run_episode  # noqa: E402

MISSIONS = ("explore", "multi_search", "sequential", "described_goal", "reorg")
METHODS: dict[str, str] = {
    "HAS": "has",
    "B1": "frontier_nearest",
    "B2": "frontier_explore_lite",
    "B3": "frontier_utility",
    "B4": "frontier_hungarian",
    "B5": "has_flat",
}
LLM_METHODS = ("HAS", "B5")


def machine() -> str:
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    cpu = platform.processor() or platform.machine()
    return f"{platform.node()} | {platform.platform()} | {cpu} | {os.cpu_count()} CPUs | load {load:.1f}"


def episode(method: str, config: HasConfig, seed: int, settings: LLMSettings | None) -> dict[str, Any]:
    options = planner_options(settings) if (method in LLM_METHODS and settings is not None) else {}
    planner = make_planner(METHODS[method], "has", options)
    fleet = ExploreFleet(config)
    curve: list[float] = []

    def on_step(info: StepInfo) -> None:
        curve.append(float(info.result.metrics["coverage"]))

    start = time.perf_counter()
    record = run_episode(fleet, planner, seed, on_step=on_step)
    wall = time.perf_counter() - start
    x = record.extra
    groups = float(x.get("groups_mean") or (1.0 if method == "B5" else 0.0))
    calls = int(x.get("llm_calls", 0))
    per_group = calls / max(groups, 1.0) / max(record.steps / 50.0, 1e-9) if calls else 0.0
    return {
        "mission": config.mission,
        "method": method,
        "family": config.family,
        "size": config.size,
        "robots": config.robots,
        "radius": config.radius,
        "goal_form": config.goal_form,
        "seed": seed,
        "success": record.success,
        "steps": record.steps,
        **{k: x.get(k) for k in ("t50", "t90", "t99", "coverage", "redundancy", "targets_found", "time_to_find")},
        "spl": x.get("spl"),
        "collisions": x.get("collisions"),
        "llm_calls": calls,
        "prompt_tokens": x.get("prompt_tokens", 0),
        "completion_tokens": x.get("completion_tokens", 0),
        "llm_seconds": x.get("llm_seconds", 0.0),
        "wall_s": round(wall, 3),
        "llm_share": round(float(x.get("llm_seconds", 0.0)) / wall, 4) if wall > 0 else 0.0,
        "groups_mean": x.get("groups_mean"),
        "calls_per_group_per_50_steps": round(per_group, 3),
        "max_ungrouped_steps": x.get("max_ungrouped_steps"),
        "curve": curve,
    }


def throughput(method: str, robots: int, size: int, steps: int, seed: int = 0) -> dict[str, Any]:
    """B1-B4 through their array path: world arrays -> platform -> frontier core -> world, no Observation."""
    emap = generate("open", size, seed)
    world = ExploreWorld(emap, robots, 5)
    world.reset(seed)
    names = [f"robot_{i}" for i in range(robots)]
    core = FrontierCore(method, InfoPlatform(emap.shape, names), 5, seed)
    flat = emap.blocked.ravel()

    def ingest(step: int) -> None:  # one shared map: only the cells first seen this step are new to it
        wall = flat[world.fresh]
        core.p.ingest_seen(step, world.pos, world.active, world.fresh[~wall], world.fresh[wall])

    ingest(0)
    core.act(0)  # warm the kernels
    start = time.perf_counter()
    cpu = time.process_time()
    goals_cpu = planner_cpu = world_cpu = merge_cpu = 0.0
    for step in range(1, steps + 1):
        before = time.process_time()
        goal = core.goals(step)  # core.act(step) in two parts: frontier goals, then PIBT motion towards them
        chosen = time.process_time()
        acts = move(core.motion, core.p, goal, step)
        planned = time.process_time()
        goals_cpu += chosen - before
        world.step(acts)
        stepped = time.process_time()
        ingest(step)
        merged = time.process_time()
        planner_cpu += planned - before
        world_cpu += stepped - planned
        merge_cpu += merged - stepped
    wall = time.perf_counter() - start
    return {
        "method": NAMES[method],
        "robots": robots,
        "size": size,
        "steps": steps,
        "steps_per_second": round(steps / wall, 1),
        "cpu_steps_per_second": round(steps / max(time.process_time() - cpu, 1e-9), 1),
        "world_cpu_ms_per_step": round(1000 * world_cpu / steps, 2),
        "merge_cpu_ms_per_step": round(1000 * merge_cpu / steps, 2),
        "planner_cpu_ms_per_step": round(1000 * planner_cpu / steps, 2),
        "goals_cpu_ms_per_step": round(1000 * goals_cpu / steps, 2),
        "motion_cpu_ms_per_step": round(1000 * (planner_cpu - goals_cpu) / steps, 2),
        "planner_cpu_steps_per_second": round(steps / max(planner_cpu, 1e-9), 1),
        "coverage": round(world.coverage, 4),
        "collisions": world.collisions,
    }


def mean(rows: list[dict[str, Any]], key: str) -> float | None:
    values = [r[key] for r in rows if isinstance(r.get(key), int | float) and not isinstance(r.get(key), bool)]
    return round(float(np.mean(values)), 2) if values else None


def summarize(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    keys = sorted({(r["mission"], r["goal_form"], r["family"], r["size"], r["robots"], r["method"]) for r in rows})
    out = []
    for mission, form, family, size, robots, method in keys:
        group = [
            r
            for r in rows
            if (r["mission"], r["goal_form"], r["family"], r["size"], r["robots"], r["method"])
            == (mission, form, family, size, robots, method)
        ]
        out.append(
            {
                "mission": mission if mission != "described_goal" else f"described_goal/{form}",
                "family": family,
                "size": size,
                "robots": robots,
                "method": method,
                "episodes": len(group),
                "success": round(sum(r["success"] for r in group) / len(group), 2),
                **{
                    k: mean(group, k)
                    for k in (
                        "steps",
                        "t50",
                        "t90",
                        "t99",
                        "redundancy",
                        "targets_found",
                        "spl",
                        "llm_calls",
                        "prompt_tokens",
                        "llm_share",
                        "calls_per_group_per_50_steps",
                    )
                },
                "collisions": sum(int(r["collisions"] or 0) for r in group),
            }
        )
    return out


def verdicts(summary: list[dict[str, Any]], tput: list[dict[str, Any]], family: str, robots: int) -> list[str]:
    def get(mission: str, method: str, key: str) -> float | None:
        for s in summary:
            if s["mission"] == mission and s["method"] == method and s["family"] == family and s["robots"] == robots:
                return s[key]
        return None

    def verdict(ok: bool | None) -> str:
        return "n/a" if ok is None else ("MET" if ok else "MISSED")

    lines = []
    has, b1, b3 = get("explore", "HAS", "t90"), get("explore", "B1", "t90"), get("explore", "B3", "t90")
    if None not in (has, b1, b3):
        lines.append(f"M1 T90 HAS {has} vs B3 {b3} (<= 1.0x): {verdict(has <= b3)}; vs B1 {b1} (<= 0.85x): "  # type: ignore[operator]
                     f"{verdict(has <= 0.85 * b1)}")  # type: ignore[operator]  # fmt: skip
    for mission in ("multi_search", "described_goal/words"):
        h, b = get(mission, "HAS", "steps"), get(mission, "B3", "steps")
        if h is not None and b is not None:
            lines.append(f"{mission} steps HAS {h} vs B3 {b} (>= 15% fewer): {verdict(h <= 0.85 * b)}")
    succ = get("described_goal/words", "HAS", "success")
    if succ is not None:
        lines.append(f"M4 success HAS {succ:.0%} (>= 70% with the 0.5B model; this run's --llm decides which)")
    m5, m1 = get("reorg", "HAS", "t90"), get("explore", "HAS", "t90")
    if m5 is not None and m1 is not None:
        lines.append(f"M5 T90 {m5} vs undisturbed {m1} (within 10%): {verdict(m5 <= 1.1 * m1)}")
    rates = [s["calls_per_group_per_50_steps"] for s in summary if s["method"] == "HAS"]
    if rates:
        lines.append(f"HAS LLM calls per group per 50 steps, mean {np.mean(rates):.2f} (<= 1): "
                     f"{verdict(float(np.mean(rates)) <= 1.0)}")  # fmt: skip
    lines.append(f"collisions over every episode: {sum(s['collisions'] for s in summary)} (must be 0)")
    for t in tput:
        lines.append(
            f"{t['method']} at {t['robots']} robots on {t['size']}x{t['size']}: {t['steps_per_second']} steps/s "
            f"(CPU-time rate {t['cpu_steps_per_second']}; planner alone {t['planner_cpu_steps_per_second']}; "
            f"CPU ms per step: world {t['world_cpu_ms_per_step']}, merge {t['merge_cpu_ms_per_step']}, planner "
            f"{t['planner_cpu_ms_per_step']} = goals {t['goals_cpu_ms_per_step']} + motion "
            f"{t['motion_cpu_ms_per_step']}) "
            f"(>= 1000): {verdict(t['steps_per_second'] >= 1000)}"
        )
    return lines


def coverage_png(rows: list[dict[str, Any]], path: Path) -> Path | None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    first = min((r["seed"] for r in rows), default=0)  # no rows: --missions "" runs the throughput only
    picked = [r for r in rows if r["mission"] == "explore" and r["seed"] == first]
    if not picked:
        return None
    family, size, robots = picked[0]["family"], picked[0]["size"], picked[0]["robots"]
    fig, ax = plt.subplots(figsize=(7, 4))
    for r in picked:
        if (r["family"], r["size"], r["robots"]) == (family, size, robots):
            ax.plot(range(1, len(r["curve"]) + 1), r["curve"], label=r["method"])
    ax.set_xlabel("step")
    ax.set_ylabel("coverage of reachable free cells")
    ax.set_title(f"M1 exploration, {family} {size}x{size}, {robots} robots, seed {first}")
    ax.axhline(0.9, color="grey", lw=0.5)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="64x64, 8 robots, 2 seeds (a few minutes)")
    ap.add_argument("--out", type=Path, default=Path("runs/bench"))
    ap.add_argument("--seeds", type=positive, default=None, help="episodes per setting (default 2 quick, 3 full)")
    ap.add_argument("--llm", default="oracle", choices=["oracle", "oracle-faulty", "local", "openai"])
    ap.add_argument("--methods", default=",".join(METHODS), help="comma-separated subset of HAS,B1,B2,B3,B4,B5")
    ap.add_argument(
        "--issue-setting",
        action="store_true",
        help="only the issue's targets' setting: rooms 128x128, 16 robots, radius 5, budget 1500; M1 explore, M2 "
        "multi_search, M4 words (no M3, M4 patch, M5, other families or throughput)",
    )
    ap.add_argument(
        "--missions",
        default=",".join(MISSIONS),
        help='comma-separated subset of the missions to run (default all; "": the throughput only)',
    )
    args = ap.parse_args(argv)
    missions = parse_list(ap, args.missions, "--missions", MISSIONS, "mission") if args.missions else []
    methods = parse_list(ap, args.methods, "--methods", list(METHODS), "method")
    if args.quick and args.issue_setting:
        print("--quick and --issue-setting: choose one (the issue's setting is 128x128, 16 robots)", file=sys.stderr)
        return 2
    size, robots, budget = (64, 8, 600) if args.quick else (128, 16, 1500)
    seeds = range(args.seeds or (2 if args.quick else 3))
    families = ("rooms",) if args.quick or args.issue_setting else ("open", "rooms", "maze", "caves")
    settings = LLMSettings(backend=args.llm)
    print(f"machine: {machine()}")
    print(f"settings: {size}x{size}, {robots} robots, radius 5, budget {budget}, seeds {list(seeds)}, --llm {args.llm}")
    plans: list[tuple[HasConfig, tuple[str, ...]]] = []
    base = {"task": "has", "size": size, "robots": robots, "radius": 5, "step_limit": budget}
    for family in families:
        plans.append((HasConfig.model_validate({**base, "family": family, "mission": "explore"}), tuple(methods)))
    plans.append((HasConfig.model_validate({**base, "family": "rooms", "mission": "multi_search"}), tuple(methods)))
    if not args.issue_setting:
        plans.append((HasConfig.model_validate({**base, "family": "rooms", "mission": "sequential"}), tuple(methods)))
    for form in ("words",) if args.issue_setting else ("words", "patch"):
        cfg = {**base, "family": "rooms", "mission": "described_goal", "goal_form": form}
        plans.append((HasConfig.model_validate(cfg), tuple(methods)))
    reorg = {**base, "family": "rooms", "mission": "reorg", "step_limit": budget // 2}
    if not args.issue_setting:
        plans.append((HasConfig.model_validate(reorg), tuple(m for m in methods if m in ("HAS", "B3"))))
    plans = [(c, m) for c, m in plans if c.mission in missions]
    rows: list[dict[str, Any]] = []
    total = sum(len(m) for _, m in plans) * len(seeds)
    start = time.perf_counter()
    for config, which in plans:
        for method in which:
            for seed in seeds:
                row = episode(method, config, seed, settings)
                rows.append(row)
                print(
                    f"[{len(rows)}/{total} {time.perf_counter() - start:.0f}s] {config.mission:<15} "
                    f"{config.goal_form:<5} {config.family:<5} {method:<3} seed {seed}: steps {row['steps']:>4} "
                    f"success {row['success']!s:<5} T90 {row['t90']} calls {row['llm_calls']} "
                    f"collisions {row['collisions']}",
                    flush=True,
                )
    tput = (
        [
            throughput(m, 64, 256, 100 if args.quick else 300)
            for m in ("nearest", "explore_lite", "utility", "hungarian")
        ]
        if not args.issue_setting
        else []
    )
    summary = summarize(rows)
    head = "mission               family size robots method success  steps   T50   T90   T99 found  SPL calls"
    print(f"\n{head} share c/g/50")
    for s in summary:
        print(
            f"{s['mission']:<21} {s['family']:<6} {s['size']:>4} {s['robots']:>6} {s['method']:<6} {s['success']:>7} "
            f"{s['steps']!s:>6} {s['t50']!s:>5} {s['t90']!s:>5} {s['t99']!s:>5} {s['targets_found']!s:>5} "
            f"{s['spl']!s:>4} {s['llm_calls']!s:>5} {s['llm_share']!s:>5} {s['calls_per_group_per_50_steps']!s:>6}"
        )
    lines = verdicts(summary, tput, "rooms", robots)
    print("\nthe issue's targets (settings differ from the issue's 128x128/16 robots in --quick):")
    for line in lines:
        print(f"  {line}")
    args.out.mkdir(parents=True, exist_ok=True)
    png = coverage_png(rows, args.out / "has_coverage.png")
    doc = {
        "machine": machine(),
        "quick": args.quick,
        "llm": args.llm,
        "rows": [{k: v for k, v in r.items() if k != "curve"} for r in rows],
        "curves": {
            f"{r['mission']}/{r['family']}/{r['method']}/seed{r['seed']}": r["curve"]
            for r in rows
            if r["mission"] == "explore"
        },  # fmt: skip
        "summary": summary,
        "throughput": tput,
        "verdicts": lines,
        "coverage_png": str(png) if png else None,
    }
    (args.out / "has_missions.json").write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
    print(f"\nwrote {args.out / 'has_missions.json'}" + (f" and {png}" if png else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
