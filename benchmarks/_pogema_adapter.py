"""Runs INSIDE the pogema venv (pogema 1.4.0, numpy 1.26, pydantic 1): one planner on POGEMA instances, in POGEMA.

    .venv-pogema/bin/python benchmarks/_pogema_adapter.py MAP AGENTS SEED STEPS PLANNER

MAP is a bundled map name, a generated POGEMA benchmark map (``validation-mazes-seed-000``), or a prefix ending in
``*`` (``validation-mazes-*``: every such map, one episode each, as the POGEMA benchmark runs them).

PLANNER is ``pogema_astar`` (pogema's own ``BatchAStarAgent``), one of ours (``follower``, ``pibt``, ``pibt_flow``,
``pibt_lns``, through this thin adapter: POGEMA's positions and goals in, POGEMA actions out), or ``semantics``
(random actions through POGEMA and through our soft-collision kernel; counts the steps where the resulting positions
differ). Prints one JSON line: avg_throughput (POGEMA's own metric wrapper; the mean over the maps), planning and
episode seconds (summed over the maps), episodes.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def check_semantics(env, base, blocked: np.ndarray, agents: int, seed: int, steps: int) -> dict:  # noqa: ANN001
    """Random joint actions through POGEMA and through our ``soft_resolve``: count steps where they differ."""
    from fleetmind.tasks.mapf_lifelong._kernels import DC, DR, soft_resolve

    rng = np.random.default_rng(seed)
    mismatches = 0
    for _ in range(steps):
        pos = np.array(base.get_agents_xy(ignore_borders=True), dtype=np.int64)
        acts = rng.integers(0, 5, agents).astype(np.int64)
        ours = soft_resolve(pos[:, 0].copy(), pos[:, 1].copy(), acts, blocked)
        _, _, terminated, truncated, _ = env.step([int(a) for a in acts])
        after = np.array(base.get_agents_xy(ignore_borders=True), dtype=np.int64)
        mismatches += int(np.any(pos + np.stack([DR[ours], DC[ours]], axis=1) != after))
        if all(terminated) or all(truncated):
            break
    return {"steps": steps, "mismatching_steps": mismatches}


def load_maps() -> dict[str, str]:
    """The bundled learn-to-follow maps plus, once generated, the POGEMA benchmark's validation maps."""
    import yaml

    maps = yaml.safe_load((ROOT / "tasks/mapf_lifelong/maps/test-maps.yaml").read_text())
    from _pogema import BENCHMARK_MAPS  # this script's folder is on sys.path

    if BENCHMARK_MAPS.exists():
        maps.update(yaml.safe_load(BENCHMARK_MAPS.read_text()))
    return maps


def main() -> int:
    spec, agents, seed, steps, planner = (
        sys.argv[1],
        int(sys.argv[2]),
        int(sys.argv[3]),
        int(sys.argv[4]),
        sys.argv[5],
    )
    maps = load_maps()
    names = sorted(n for n in maps if n.startswith(spec[:-1])) if spec.endswith("*") else [spec]
    missing = [n for n in names if n not in maps]
    if not names or missing:
        raise SystemExit(f"unknown map {spec!r}: not bundled and not in the generated POGEMA benchmark maps")
    runs = [episode(maps[n], agents, seed, steps, planner) for n in names]
    if planner == "semantics":
        print(json.dumps({"steps": steps, "mismatching_steps": sum(r["mismatching_steps"] for r in runs)}))
        return 0
    summary = {
        "avg_throughput": float(np.mean([r["avg_throughput"] for r in runs])),
        "planning_s": sum(r["planning_s"] for r in runs),
        "episode_s": sum(r["episode_s"] for r in runs),
        "episodes": len(runs),
    }
    print(json.dumps(summary))
    return 0


def episode(grid: str, agents: int, seed: int, steps: int, planner: str) -> dict:
    """One POGEMA episode on a string map with ``planner``: throughput by POGEMA's metric, seconds."""
    from pogema import BatchAStarAgent, GridConfig, pogema_v0

    config = GridConfig(
        map=grid,
        num_agents=agents,
        seed=seed,
        on_target="restart",
        max_episode_steps=steps,
        collision_system="soft",
        observation_type="POMAPF",
        obs_radius=5,
    )
    env = pogema_v0(grid_config=config)
    obs, _ = env.reset(seed=seed)
    base = env.unwrapped
    blocked = np.array(base.get_obstacles(ignore_borders=True), dtype=bool)
    width = blocked.shape[1]
    if planner == "semantics":
        return check_semantics(env, base, blocked, agents, seed, steps)
    if planner == "pogema_astar":
        agent = BatchAStarAgent()
    else:
        from fleetmind.planners.mapf import lifelong_core, visible_lists

        core = lifelong_core(planner, blocked, agents, seed)
        pos = np.array(base.get_agents_xy(ignore_borders=True), dtype=np.int64)
        cells = pos[:, 0] * width + pos[:, 1]
        if planner == "follower":  # warm-up: compile or load the numba kernels outside the timing
            core.actions(cells, cells[::-1].copy(), *visible_lists(pos, width, 5, blocked.shape[0]))
        else:
            core.actions(cells, cells[::-1].copy())
        core.reset(seed)
    planning = 0.0
    t0 = time.perf_counter()
    metrics: dict = {}
    for _ in range(steps):
        if planner != "pogema_astar":  # reading the state is observation, not planning (as obs is for A*)
            pos = np.array(base.get_agents_xy(ignore_borders=True), dtype=np.int64)
            goal = np.array(base.get_targets_xy(ignore_borders=True), dtype=np.int64)
        t1 = time.perf_counter()
        if planner == "pogema_astar":
            actions = agent.act(obs)
        else:
            pc, gc = pos[:, 0] * width + pos[:, 1], goal[:, 0] * width + goal[:, 1]
            if planner == "follower":
                acts = core.actions(pc, gc, *visible_lists(pos, width, 5, blocked.shape[0]))
            else:
                acts = core.actions(pc, gc)
            actions = [int(a) for a in acts]
        planning += time.perf_counter() - t1
        obs, _, terminated, truncated, infos = env.step(actions)
        metrics.update(infos[0].get("metrics", {}))
        if all(terminated) or all(truncated):
            break
    wall = time.perf_counter() - t0
    return {"avg_throughput": metrics.get("avg_throughput"), "planning_s": planning, "episode_s": wall}


if __name__ == "__main__":
    sys.exit(main())
