"""The ``large`` group of ``benchmarks/mapf_lifelong.py``: 1,000 / 4,000 / 10,000 agents on the generated LoRR-style
maps. Each (map, agents, planner) runs in its own process, so its peak memory (RSS) is its own:

    .venv/bin/python benchmarks/_large.py lorr_warehouse_140x500 10000 pibt 64     # one JSON line
    .venv/bin/python benchmarks/_large.py lorr_warehouse_140x500 10000 pibt_flow 24 2 10000  # 2 threads, budget

The optional fifth and sixth arguments: threads for the cost-to-go rows, and ``pibt_flow``'s re-plan budget per
step (default: the planner's own, ``default_flow_budget``; the agent count re-plans every request, as before the
budget existed).

Figures: the setup (world and planner core), the first step (every agent's cost-to-go row at once), then per
later step the wall and CPU milliseconds (median, mean, max) and the rows computed (new goals), the throughput,
the peak RSS, and the cost-to-go cache's size beside what dense per-agent rows would take.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fleetmind.planners.mapf import lifelong_core  # noqa: E402
from fleetmind.tasks.mapf_lifelong.maps import named_map  # noqa: E402
from fleetmind.tasks.mapf_lifelong.world import MapfWorld  # noqa: E402

AGENTS = (1000, 4000, 10_000)
PLANNERS = ("pibt", "pibt_flow")
MAPS = ("lorr_warehouse_140x500",)
STEPS = 64


def one(
    map_name: str, agents: int, planner: str, steps: int, seed: int = 0, threads: int = 1, budget: int | None = None
) -> dict:
    """One lifelong episode of ``steps`` steps; the figures as a dict."""
    grid = named_map(map_name)
    t0 = time.perf_counter()
    world = MapfWorld(grid, agents)
    world.reset(seed)
    core = lifelong_core(planner, grid.obstacles, agents, seed)
    core.cache.threads = threads
    if budget is not None:
        core.flow_budget = budget
    setup = time.perf_counter() - t0
    wall, cpu, rows = [], [], []
    reached = 0
    for _ in range(steps):
        before = core.cache.computed
        w0, c0 = time.perf_counter(), time.process_time()
        acts = core.actions(world.cells(world.pos), world.cells(world.goal))
        wall.append(time.perf_counter() - w0)
        cpu.append(time.process_time() - c0)
        rows.append(core.cache.computed - before)
        reached += int(world.step(acts).on_goal.sum())
    later_w, later_c = np.array(wall[1:]) * 1e3, np.array(cpu[1:]) * 1e3
    pool = core.cache.pool
    return {
        "map": map_name,
        "agents": agents,
        "planner": planner,
        "steps": steps,
        "threads": threads,
        "flow_budget": getattr(core, "flow_budget", None) if core.w_flow > 0 else None,
        "setup_s": round(setup, 3),
        "first_step_s": round(wall[0], 3),
        "first_step_cpu_s": round(cpu[0], 3),
        "step_ms_median": round(float(np.median(later_w)), 2),
        "step_ms_mean": round(float(later_w.mean()), 2),
        "step_ms_max": round(float(later_w.max()), 2),
        "step_cpu_ms_mean": round(float(later_c.mean()), 2),
        "rows_per_step": round(float(np.mean(rows[1:])), 2),
        "avg_throughput": round(reached / steps, 4),
        "peak_rss_gb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6, 3),
        "cache_rows": int(pool.shape[0]),
        "cache_gb": round(pool.nbytes / 1e9, 3),
        "dense_per_agent_gb": round(agents * pool.shape[1] * pool.itemsize / 1e9, 3),
    }


def kernel_before_after(map_name: str, goals: int = 24, rounds: int = 3) -> tuple[float, float]:
    """ms per cost-to-go row on ``map_name``: the reference Dijkstra (bucket queue, linked lists) and the cache's
    multiple-queue kernel, on the same goals, interleaved, best of ``rounds``."""
    from fleetmind.planners.mapf._common import _SCALE, static_centrality
    from fleetmind.planners.mapf._heuristic_kernels import cost_classes, dijkstra_rows, multiqueue_rows
    from fleetmind.planners.mapf._kernels import neighbour_table

    blocked = np.ascontiguousarray(named_map(map_name).obstacles)
    nbr = neighbour_table(blocked)
    icost = np.floor((1.0 + 2.0 * static_centrality(blocked)) * _SCALE).astype(np.int64)
    values, klass, starts = cost_classes(icost, blocked.ravel())
    nbr4 = np.ascontiguousarray(nbr[:, 1:], dtype=np.int32)
    free = np.flatnonzero(~blocked.ravel())
    pick = free[np.random.default_rng(0).choice(len(free), goals, replace=False)].astype(np.int64)
    rows = np.arange(goals, dtype=np.int64)
    pool = np.zeros((goals, blocked.size), dtype=np.float32)
    dijkstra_rows(nbr, icost, pick[:1], rows[:1], pool, _SCALE)  # compiled / loaded before timing
    multiqueue_rows(nbr4, values, klass, starts, pick[:1], rows[:1], pool, _SCALE)
    old, new = [], []
    for _ in range(rounds):
        t = time.perf_counter()
        dijkstra_rows(nbr, icost, pick, rows, pool, _SCALE)
        old.append(time.perf_counter() - t)
        t = time.perf_counter()
        multiqueue_rows(nbr4, values, klass, starts, pick, rows, pool, _SCALE)
        new.append(time.perf_counter() - t)
    return min(old) / goals * 1e3, min(new) / goals * 1e3


if __name__ == "__main__":
    name, n, plan, k = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
    threads = int(sys.argv[5]) if len(sys.argv) > 5 else 1
    budget = int(sys.argv[6]) if len(sys.argv) > 6 else None
    print(json.dumps(one(name, n, plan, k, threads=threads, budget=budget)))
