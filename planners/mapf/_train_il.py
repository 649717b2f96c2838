"""Train ``follower_il`` by imitation of ``pibt_flow``: behaviour cloning with DAgger-style correction.

    .venv/bin/python benchmarks/train_follower_il.py --seed 0      # writes planners/mapf/weights/follower_il.npz

Iteration 0 rolls the expert (``pibt_flow``) out and records, for sampled agents and steps, each agent's own
features (:func:`il_features`) and the expert's move there. Each later iteration rolls the current learner out
(each step an agent follows the expert with probability ``beta``, which halves every iteration), labels every
visited state with the move ``pibt_flow`` makes there (a ``pibt_flow`` core shadows the run, seeing the same
positions and goals), adds the samples to the data set and refits the network on all of it (softmax over the five
moves, Adam, numpy). Training maps never include the POGEMA validation maps: seeded random maps (17-21 cells a side,
10-30 % obstacles, as POGEMA's generator; and 48-64 a side), seeded mazes (17-21), the bundled ``pico_*`` maps and
``wfi_warehouse`` with seeds from 1000 up. Finally the softmax temperature is chosen on held-out training-style
episodes. Seeded: the same command gives the same weights.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from fleetmind.planners.mapf import lifelong_core, visible_lists
from fleetmind.planners.mapf.follower_il import NUM_INPUTS, WEIGHTS, IlCore, IlPolicy
from fleetmind.tasks.mapf_lifelong.maps import GridMap, map_names, named_map, parse_string_map
from fleetmind.tasks.mapf_lifelong.world import MapfWorld

log = logging.getLogger(__name__)


def random_map(rng: np.random.Generator, low: int = 17, high: int = 21) -> GridMap:
    """A random map ``low``-``high`` cells a side with 10-30 % obstacles."""
    h, w = rng.integers(low, high + 1, size=2)
    blocked = rng.random((h, w)) < rng.uniform(0.1, 0.3)
    return _grid(blocked, f"train-random-{h}x{w}")


def maze_map(rng: np.random.Generator, low: int = 17, high: int = 21) -> GridMap:
    """A seeded maze (depth-first carving on odd cells, then 10-30 % of the remaining inner walls opened)."""
    h, w = rng.integers(low, high + 1, size=2)
    blocked = np.ones((h, w), dtype=bool)
    cells = [(r, c) for r in range(0, h, 2) for c in range(0, w, 2)]
    start = cells[rng.integers(len(cells))]
    blocked[start] = False
    stack = [start]
    while stack:
        r, c = stack[-1]
        options = [(r + dr, c + dc, dr, dc) for dr, dc in ((-2, 0), (2, 0), (0, -2), (0, 2))]
        options = [o for o in options if 0 <= o[0] < h and 0 <= o[1] < w and blocked[o[0], o[1]]]
        if not options:
            stack.pop()
            continue
        nr, nc, dr, dc = options[rng.integers(len(options))]
        blocked[r + dr // 2, c + dc // 2] = False
        blocked[nr, nc] = False
        stack.append((nr, nc))
    walls = np.argwhere(blocked)
    opened = walls[rng.random(len(walls)) < rng.uniform(0.1, 0.3)]
    blocked[opened[:, 0], opened[:, 1]] = False
    return _grid(blocked, f"train-maze-{h}x{w}")


def _grid(blocked: np.ndarray, name: str) -> GridMap:
    text = "\n".join("".join("#" if b else "." for b in row) for row in blocked)
    return parse_string_map(text, name)


@dataclass(frozen=True)
class Instance:
    grid: GridMap
    agents: int
    seed: int


def instances(rng: np.random.Generator, count: int) -> list[Instance]:
    """``count`` training episodes drawn over the map families (module doc)."""
    pico = [n for n in map_names() if n.startswith("pico_")]
    out = []
    for k in range(count):
        kind = k % 6
        seed = int(rng.integers(1000, 2**31 - 1))
        if kind in (0, 1):
            grid, agents = random_map(rng), int(rng.choice([32, 48, 64]))
        elif kind in (2, 3):
            grid, agents = maze_map(rng), int(rng.choice([32, 48, 64]))
        elif kind == 4:
            grid, agents = (named_map(pico[rng.integers(len(pico))]), int(rng.choice([32, 64])))
            if rng.random() < 0.5:
                grid, agents = random_map(rng, 48, 64), int(rng.choice([128, 256]))
        else:
            grid, agents = named_map("wfi_warehouse"), int(rng.choice([128, 192]))
        agents = min(agents, len(grid.free_cells) // 2)
        out.append(Instance(grid, agents, seed))
    return out


def rollout(
    inst: Instance, policy: IlPolicy | None, beta: float, steps: int, keep: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """One episode: the learner (or, with ``policy=None``, the expert) acts, ``pibt_flow`` labels every state.
    Returns sampled inputs ``(M, 5, D) float32``, masks ``(M, 5) bool``, expert moves ``(M,) int64`` and the
    episode's throughput."""
    world = MapfWorld(inst.grid, inst.agents)
    world.reset(inst.seed)
    expert = lifelong_core("pibt_flow", inst.grid.obstacles, inst.agents, inst.seed)
    dummy = IlPolicy(np.zeros((NUM_INPUTS, 1)), np.zeros(1), np.zeros(1))
    learner = IlCore(inst.grid.obstacles, inst.agents, inst.seed, policy=policy or dummy)
    xs, ms, ys = [], [], []
    reached = 0
    for _ in range(steps):
        pos, goal = world.cells(world.pos), world.cells(world.goal)
        mask = learner.observe(
            pos, goal, *visible_lists(world.pos, world.width, world.obs_radius, world.blocked.shape[0])
        )
        label = expert.actions(pos, goal)
        pick = rng.random(inst.agents) < keep
        xs.append(IlPolicy.inputs(learner.moves[pick], learner.state[pick]).astype(np.float32))
        ms.append(mask[pick])
        ys.append(label[pick])
        if policy is None:
            acts = label
        else:
            acts = np.where(rng.random(inst.agents) < beta, label, learner.choose(mask))
        learner.commit(acts)
        reached += int(world.step(acts).on_goal.sum())
    return np.concatenate(xs), np.concatenate(ms), np.concatenate(ys), reached / steps


def fit(
    x: np.ndarray, mask: np.ndarray, y: np.ndarray, hidden: int, epochs: int, rng: np.random.Generator, init=None
) -> IlPolicy:
    """Softmax cross-entropy over the legal moves, Adam, minibatches of 1024; ``x``: ``(M, 5, D)``."""
    d = x.shape[2]
    if init is None:
        params = [
            rng.normal(0, 1 / np.sqrt(d), (d, hidden)),
            np.zeros(hidden),
            rng.normal(0, 1 / np.sqrt(hidden), hidden),
        ]
    else:
        params = [init.w1.copy(), init.b1.copy(), init.w2.copy()]
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    lr, b1, b2, step = 3e-3, 0.9, 0.999, 0
    n = len(y)
    for epoch in range(epochs):
        order = rng.permutation(n)
        total = 0.0
        for start in range(0, n, 1024):
            idx = order[start : start + 1024]
            xb, mb, yb = x[idx].astype(np.float64), mask[idx], y[idx]
            w1, c1, w2 = params
            pre = xb @ w1 + c1
            hid = np.maximum(pre, 0.0)
            s = np.where(mb, hid @ w2, -1e9)
            s -= s.max(axis=1, keepdims=True)
            p = np.exp(s)
            p /= p.sum(axis=1, keepdims=True)
            rows = np.arange(len(yb))
            total += float(-np.log(p[rows, yb] + 1e-12).sum())
            g = p
            g[rows, yb] -= 1.0
            g /= len(yb)  # (B, 5) dL/ds
            gw2 = np.einsum("bk,bkh->h", g, hid)
            gpre = g[:, :, None] * w2[None, None, :] * (pre > 0)
            gw1 = np.einsum("bkd,bkh->dh", xb, gpre)
            gc1 = gpre.sum(axis=(0, 1))
            step += 1
            for j, grad in enumerate((gw1, gc1, gw2)):
                m[j] = b1 * m[j] + (1 - b1) * grad
                v[j] = b2 * v[j] + (1 - b2) * grad * grad
                params[j] -= lr * (m[j] / (1 - b1**step)) / (np.sqrt(v[j] / (1 - b2**step)) + 1e-8)
        log.info("epoch %d: cross-entropy %.4f", epoch, total / n)
    return IlPolicy(params[0], params[1], params[2])


def evaluate(policy: IlPolicy, insts: list[Instance], steps: int, temperature: float) -> float:
    """Mean throughput of the learner alone on ``insts``."""
    out = []
    for inst in insts:
        world = MapfWorld(inst.grid, inst.agents)
        world.reset(inst.seed)
        core = IlCore(inst.grid.obstacles, inst.agents, inst.seed, policy=policy, temperature=temperature)
        reached = 0
        for _ in range(steps):
            pos, goal = world.cells(world.pos), world.cells(world.goal)
            vis = visible_lists(world.pos, world.width, world.obs_radius, world.blocked.shape[0])
            reached += int(world.step(core.actions(pos, goal, *vis)).on_goal.sum())
        out.append(reached / steps)
    return float(np.mean(out))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seed", type=int, default=0, help="seed of maps, episodes, sampling and initial weights")
    p.add_argument("--iterations", type=int, default=3, help="DAgger iterations after the behaviour-cloning one")
    p.add_argument("--episodes", type=int, default=16, help="episodes per iteration")
    p.add_argument("--steps", type=int, default=256, help="steps per episode")
    p.add_argument("--keep", type=float, default=0.25, help="share of agent-steps recorded")
    p.add_argument("--hidden", type=int, default=64, help="hidden units")
    p.add_argument("--epochs", type=int, default=4, help="epochs per refit")
    p.add_argument(
        "--temperature", type=float, default=0.0, help="the learner's softmax temperature in rollouts (0: argmax)"
    )
    p.add_argument("--out", type=Path, default=WEIGHTS / "follower_il.npz", help="where the weights go")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stdout)
    rng = np.random.default_rng(args.seed)
    t0 = time.perf_counter()
    cpu0 = time.process_time()
    data: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    policy: IlPolicy | None = None
    held_out = instances(np.random.default_rng(args.seed + 10_000), 6)[:5]
    for it in range(args.iterations + 1):
        beta = 0.5**it if it > 0 else 1.0
        thr = []
        for inst in instances(rng, args.episodes):
            x, m, y, t = rollout(inst, policy if it > 0 else None, beta, args.steps, args.keep, rng)
            data.append((x, m, y))
            thr.append(t)
        x = np.concatenate([d[0] for d in data])
        m = np.concatenate([d[1] for d in data])
        y = np.concatenate([d[2] for d in data])
        policy = fit(x, m, y, args.hidden, args.epochs, rng, init=policy)
        policy.temperature = args.temperature
        score = evaluate(policy, held_out, args.steps, args.temperature)
        log.info(
            "iteration %d (beta %.3f): rollout throughput %.3f, %d samples, learner alone %.3f, %.0f s",
            it, beta, np.mean(thr), len(y), score, time.perf_counter() - t0,
        )  # fmt: skip
    assert policy is not None
    best = max((evaluate(policy, held_out, args.steps, t), t) for t in (0.0, 0.25, 0.5))
    policy.temperature = best[1]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    policy.save(args.out)
    log.info(
        "temperature %.2f (held-out throughput %.3f); wrote %s; training took %.0f s wall, %.0f s CPU",
        best[1], best[0], args.out, time.perf_counter() - t0, time.process_time() - cpu0,
    )  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
