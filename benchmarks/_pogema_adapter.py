"""Runs INSIDE the pogema venv (pogema 1.4.0, numpy 1.26, pydantic 1): one planner on POGEMA instances, in POGEMA.

    .venv-pogema/bin/python benchmarks/_pogema_adapter.py MAP AGENTS SEED STEPS PLANNER

MAP is a bundled map name, a generated POGEMA benchmark map (``validation-mazes-seed-000``), or a prefix ending in
``*`` (``validation-mazes-*``: every such map, one episode each, as the POGEMA benchmark runs them).

PLANNER is ``pogema_astar`` (pogema's own ``BatchAStarAgent``), one of ours (``follower``, ``follower_il``,
``pibt``, ``pibt_flow``, ``pibt_lns``: POGEMA's positions and goals in, POGEMA actions out), or ``semantics`` (random
actions through POGEMA and through our soft-collision kernel; counts the steps where the resulting positions differ).
Our planners run in fleetmind's own venv (``_pogema_worker.py``, started here; ``FLEETMIND_PYTHON`` names its
python, default ``.venv/bin/python``): pogema needs pydantic 1 and numpy < 2, fleetmind pydantic 2. Prints one
JSON line: avg_throughput (POGEMA's own metric wrapper; the mean over the maps), planning and
episode seconds (summed over the maps), episodes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


class Worker:
    """Our planners in fleetmind's own venv (``_pogema_worker.py``): pogema needs pydantic 1, fleetmind pydantic 2."""

    def __init__(self) -> None:
        python = os.environ.get("FLEETMIND_PYTHON") or str(ROOT / ".venv" / "bin" / "python")
        self.proc = subprocess.Popen(
            [python, str(ROOT / "benchmarks" / "_pogema_worker.py")],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
            env={k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"},  # fleetmind's own cache, not pogema's
        )

    def ask(self, **msg: object) -> dict:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps(msg) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise SystemExit(f"the planner worker exited (code {self.proc.wait()}); see its error above")
        reply = json.loads(line)
        if "error" in reply:
            raise SystemExit(f"planner worker: {reply['error']}")
        return reply

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        self.proc.wait(timeout=30)


def rows_of(blocked: np.ndarray) -> list[str]:
    return ["".join("#" if b else "." for b in row) for row in blocked]


def check_semantics(worker: Worker, env, base, blocked: np.ndarray, agents: int, seed: int, steps: int) -> dict:  # noqa: ANN001
    """Random joint actions through POGEMA and through our ``soft_resolve``: count steps where they differ."""
    worker.ask(op="reset", planner="pibt", blocked=rows_of(blocked), agents=agents, seed=seed)
    rng = np.random.default_rng(seed)
    mismatches = 0
    for _ in range(steps):
        pos = np.array(base.get_agents_xy(ignore_borders=True), dtype=np.int64)
        acts = rng.integers(0, 5, agents).astype(np.int64)
        ours = worker.ask(op="resolve", pos=pos.tolist(), actions=acts.tolist())["after"]
        _, _, terminated, truncated, _ = env.step([int(a) for a in acts])
        after = np.array(base.get_agents_xy(ignore_borders=True), dtype=np.int64)
        mismatches += int(np.any(np.array(ours, dtype=np.int64) != after))
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
    worker = None if planner == "pogema_astar" else Worker()
    try:
        runs = [episode(worker, maps[n], agents, seed, steps, planner) for n in names]
    finally:
        if worker is not None:
            worker.close()
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


def episode(worker: Worker | None, grid: str, agents: int, seed: int, steps: int, planner: str) -> dict:
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
    if planner == "semantics":
        assert worker is not None
        return check_semantics(worker, env, base, blocked, agents, seed, steps)
    agent = BatchAStarAgent() if planner == "pogema_astar" else None
    if worker is not None:
        worker.ask(op="reset", planner=planner, blocked=rows_of(blocked), agents=agents, seed=seed)
    planning = 0.0
    t0 = time.perf_counter()
    metrics: dict = {}
    for _ in range(steps):
        if agent is not None:
            t1 = time.perf_counter()
            actions = agent.act(obs)
            planning += time.perf_counter() - t1
        else:  # reading the state is observation, not planning (as obs is for A*); the worker times its planner
            assert worker is not None
            pos = np.array(base.get_agents_xy(ignore_borders=True), dtype=np.int64).tolist()
            goal = np.array(base.get_targets_xy(ignore_borders=True), dtype=np.int64).tolist()
            reply = worker.ask(op="act", pos=pos, goal=goal)
            actions, planning = reply["actions"], planning + reply["planning_s"]
        obs, _, terminated, truncated, infos = env.step(actions)
        metrics.update(infos[0].get("metrics", {}))
        if all(terminated) or all(truncated):
            break
    wall = time.perf_counter() - t0
    return {"avg_throughput": metrics.get("avg_throughput"), "planning_s": planning, "episode_s": wall}


if __name__ == "__main__":
    sys.exit(main())
