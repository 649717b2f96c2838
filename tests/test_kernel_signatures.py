"""Each numba kernel compiles ONE signature under library use: numba compiles a kernel again for every distinct
argument type (dtype, layout, read-only flag, and a literal constant is a type of its own), and each extra compile
costs seconds of cold start in a user's first run and in ``make test``.

The workload runs in a fresh interpreter (this file as a script; kernels load from the shared numba cache), since
the other tests in a worker call the kernels with test-only types. A second check reads the kernel modules: a call
from one kernel to another passes no integer literal (numba compiles the callee for ``Literal[int](0)`` besides
``int64``; inner compiles are not visible on kernels loaded from the cache, so they are checked in the source).
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]

FIXED = (
    "sim.swarm._kernels.circular_neighbour_sums",
    "sim.swarm._measure_kernels.neighbour_histograms",
    "sim.swarm._measure_kernels.polar_order",
    "sim.swarm._embed_kernels.neighbour_embedding",
    "sim.swarm._pair_kernels.kuramoto_step_lists",
    "tasks.mapf_lifelong._kernels.soft_resolve",
    "tasks.mapf_lifelong._kernels.bfs_distances",
)
"""Kernels that compiled twice or more before (read-only Kuramoto phases and maps, strided MAPF positions)."""


def _workload() -> None:
    """Small runs through the library's own call sites: the three swarm tasks' environments (histogram and RBF
    observations, the controllers' local views), MAPF world steps and the shield's settle, the HAS world and the
    MAPF distance cache."""
    from fleetmind.planners.mapf._common import DistanceCache
    from fleetmind.sim.explore.world import ExploreWorld
    from fleetmind.sim.swarm import KuramotoWorld, VicsekWorld
    from fleetmind.tasks.has.maps import generate
    from fleetmind.tasks.mapf_lifelong.maps import random_map
    from fleetmind.tasks.mapf_lifelong.shield import blocked_of, settle
    from fleetmind.tasks.mapf_lifelong.world import MapfWorld
    from fleetmind.tasks.swarm import SWARM_TASKS

    from fleetmind.app.swarm_env import SwarmEnv, local_view

    for task in SWARM_TASKS.values():
        env = SwarmEnv(task, task.make_config(agents=24, steps=3))
        env.reset(0)
        for _ in range(3):
            obs = env.step(None)
            env.rewards(obs, env.metric())
    for world in (KuramotoWorld(24, box=5.0, observation="rbf"), VicsekWorld(24, box=5.0, observation="rbf")):
        world.reset(1)
        for _ in range(2):
            hist = world.step(None).observation
            local_view(world, hist, 1.0)
    grid = random_map(8, 8, 0.1, 0)
    mapf = MapfWorld(grid, 6)
    mapf.reset(0)
    rng = np.random.default_rng(0)
    for _ in range(4):
        acts = rng.integers(0, 5, 6)
        mapf.step(acts)
        settle(mapf.pos, acts, mapf.blocked)  # a writable map
        settle(mapf.pos, acts, blocked_of(grid.to_string()))  # the shield's cached, read-only map
    DistanceCache(mapf.blocked, capacity=4).rows(np.array([0, 9, 17]))
    explore = ExploreWorld(generate("rooms", 16, 0), 3, 3, reserve=1)
    explore.reset(0)
    explore.join(np.flatnonzero(~explore.active))
    explore.step(rng.integers(0, 5, explore.num))


def _counts() -> dict[str, list[str]]:
    _workload()
    import importlib

    out = {}
    for name in FIXED:
        module, attr = name.rsplit(".", 1)
        kernel = getattr(importlib.import_module(f"fleetmind.{module}"), attr)
        out[name] = [str(sig) for sig in kernel.signatures]
    return out


def test_fixed_kernels_compile_one_signature_in_library_use():
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_DISABLE_JIT"}
    done = subprocess.run(
        [sys.executable, __file__], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    counts = json.loads(done.stdout.strip().splitlines()[-1])
    assert set(counts) == set(FIXED)
    several = {name: sigs for name, sigs in counts.items() if len(sigs) != 1}
    assert not several, f"kernels with other than one signature (a call site passes another type): {several}"


def _jit_functions(tree: ast.Module) -> set[str]:
    return {
        node.name
        for node in tree.body
        if isinstance(node, ast.FunctionDef) and any("njit" in ast.unparse(d) for d in node.decorator_list)
    }


def _int_literal(node: ast.expr) -> bool:
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return _int_literal(node.operand)
    if isinstance(node, ast.BinOp):
        return _int_literal(node.left) and _int_literal(node.right)
    return isinstance(node, ast.Constant) and type(node.value) is int


def test_kernels_pass_no_integer_literal_to_other_kernels():
    files = sorted(p for pkg in ("robots", "tasks", "sim", "planners") for p in (ROOT / pkg).rglob("*_kernels.py"))
    trees = {path: ast.parse(path.read_text()) for path in files}
    kernels = set().union(*(_jit_functions(tree) for tree in trees.values()))
    assert {"_half_rows", "soft_resolve", "_push", "_add", "cluster_reach_into"} <= kernels
    found = []
    for path, tree in trees.items():
        for fn in tree.body:
            if not (isinstance(fn, ast.FunctionDef) and fn.name in kernels):
                continue
            for call in ast.walk(fn):
                if isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id in kernels:
                    literals = [ast.unparse(a) for a in call.args if _int_literal(a)]
                    if literals:
                        found.append(f"{path.relative_to(ROOT)}:{call.lineno} {call.func.id}({', '.join(literals)})")
    assert not found, f"pass np.int64(...) instead of an integer literal: {found}"


if __name__ == "__main__":
    print(json.dumps(_counts()))
