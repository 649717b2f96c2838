"""``fleetmind swarm ...``: ``tune`` (grid search of the classical gains), ``train`` (Dec-POMFC with PPO) and
``run`` (one episode of a controller: metrics.json, order.png, swarm.gif)."""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from tqdm import tqdm

from fleetmind.app.argtypes import nonneg, positive
from fleetmind.robots.errors import BadInputError, describe_validation
from fleetmind.robots.outputs import check_output_dir
from fleetmind.tasks.swarm import get_swarm_task, swarm_task_names

if TYPE_CHECKING:
    from fleetmind.firmware_bridge.swarm import SwarmFirmwareSettings


def _number(text: str) -> float:
    return float(text)  # range and NaN are checked by the task's config, with the field's name


def add_arguments(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="swarm_command", required=True, parser_class=type(p))
    tasks = ", ".join(swarm_task_names())
    tune = sub.add_parser("tune", help="grid search of the classical law's gains")
    tune.add_argument("task", help=f"swarm task ({tasks})")
    tune.add_argument("--steps", type=positive, default=200, help="steps per scoring episode (default: 200)")
    tune.add_argument("--install", action="store_true", help="store the result in the package's gains.json")
    train = sub.add_parser("train", help="train the Dec-POMFC policy with PPO (numpy)")
    train.add_argument("task", help=f"swarm task ({tasks})")
    train.add_argument("--iterations", type=positive, default=30, help="PPO iterations (default: 30)")
    train.add_argument("--agents", type=positive, default=100, help="agents while training (default: 100)")
    train.add_argument("--seed", type=nonneg, default=0, help="training seed (default: 0)")
    train.add_argument("--out", type=Path, default=None, help="output folder (default: runs/swarm_train/TASK)")
    train.add_argument("--install", action="store_true", help="also ship the policy as the package's TASK.npz")
    train.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    run = sub.add_parser("run", help="one episode of a controller")
    run.add_argument("task", help=f"swarm task ({tasks})")
    run.add_argument("--controller", choices=["none", "classic", "dec-pomfc"], default="dec-pomfc")
    run.add_argument("--agents", type=int, default=None, help="number of agents (default: the task's, 100)")
    run.add_argument("--radius", type=_number, default=None, help="observation radius (default: 1)")
    run.add_argument("--noise", type=_number, default=None, help="noise level (default: 0.5)")
    run.add_argument("--steps", type=int, default=None, help="steps (default: the task's, 300)")
    run.add_argument("--seed", type=nonneg, default=0, help="episode seed (default: 0)")
    run.add_argument("--policy", type=Path, default=None, help="a policy .npz (default: the shipped one)")
    run.add_argument(
        "--backend",
        choices=["swarm", "fleet", "pybullet", "firmware"],
        default="swarm",
        help="swarm: the particle world; fleet: unicycle robots in it; pybullet: them in PyBullet; firmware: them as "
        "SITL robots over their firmware links, started and stopped by the run (robot fleets: vicsek only)",
    )
    fw = run.add_argument_group("firmware backend (--backend firmware only)")
    fw.add_argument(
        "--time-scale",
        type=_number,
        default=None,
        metavar="X",
        help="task time units per robot second, commands x X (default: the largest the link allows, <= 2)",
    )
    fw.add_argument(
        "--on-lost",
        choices=["drop", "fail"],
        default=None,
        help="drop: a lost robot stops, the others go on (default); fail: the episode ends",
    )
    fw.add_argument(
        "--heartbeat-timeout",
        type=_number,
        default=None,
        metavar="S",
        help="seconds of silence after which a robot is lost (default: 0.5)",
    )
    run.add_argument("--gif-frames", type=int, default=60, help="frames of swarm.gif, 0: no GIF (default: 60)")
    run.add_argument("--out", type=Path, default=Path("runs/swarm"), help="output folder (default: runs/swarm)")
    run.add_argument("-q", "--quiet", action="store_true", help="no progress bar")


def _machine() -> str:
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return f"{platform.node()} ({platform.machine()}, {os.cpu_count()} cores, load {load:.1f})"


def cmd_tune(args: argparse.Namespace) -> int:
    from fleetmind.app.swarm_tune import grid_search, store

    task = get_swarm_task(args.task)
    base = task.make_config()
    print(f"tuning {task.name} on {_machine()}")
    start = time.perf_counter()
    best = grid_search(task, base, args.steps, lambda law, g, v: print(f"  {law} {g}: {v:.4f}", flush=True))
    print(f"best: {best['law']} {best['gains']} score {best['score']} ({time.perf_counter() - start:.0f} s)")
    if args.install:
        path = store(task, best, f"fleetmind swarm tune {task.name} --steps {args.steps} --install")
        print(f"stored in {path}")
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    from fleetmind.app.results import copy_atomic, write_json
    from fleetmind.app.swarm_run import plot_series
    from fleetmind.app.swarm_train import TrainSettings, train

    task = get_swarm_task(args.task)
    out = args.out or Path("runs/swarm_train") / task.name
    check_output_dir(out, "--out")
    base = task.make_config(agents=args.agents)
    settings = TrainSettings(iterations=args.iterations, agents=args.agents, seed=args.seed)
    print(f"training {task.name} (Dec-POMFC, PPO) on {_machine()}")
    with tqdm(total=args.iterations, desc=task.name, unit="it", disable=args.quiet or None, file=sys.stderr) as bar:

        def tick(i: int, reward: float, metric: float) -> None:
            bar.update(1)
            bar.set_postfix(reward=f"{reward:.3f}", order=f"{metric:.3f}")

        result = train(task, base, settings, tick)
    out.mkdir(parents=True, exist_ok=True)
    command = (
        f"fleetmind swarm train {task.name} --iterations {args.iterations} --agents {args.agents} --seed {args.seed}"
    )
    path = result.policy.save(out / "policy.npz", command=command)
    curves = {"mean reward per agent-step": result.curve, "steady-state order": result.metric_curve}
    title = f"{task.name}: Dec-POMFC training (radius and noise drawn per episode)"
    plot_series(curves, "mean per iteration", title, out / "learning_curve.png", xlabel="PPO iteration")
    info = {**result.policy.meta, "command": command, "curve": result.curve, "metric_curve": result.metric_curve}
    write_json(out / "train.json", info)
    print(
        f"{result.seconds:.0f} s wall, {result.env_steps} environment steps ({result.agent_steps} agent-steps); "
        f"policy {path}, learning curve {out / 'learning_curve.png'}"
    )
    if args.install:
        copy_atomic(path, task.policy_path())  # a crash mid-copy leaves the shipped policy as it was
        print(f"shipped as {task.policy_path()}")
    return 0


FIRMWARE_OPTIONS = ("time_scale", "on_lost", "heartbeat_timeout")


def firmware_settings(args: argparse.Namespace) -> SwarmFirmwareSettings | None:
    """The firmware backend's settings from ``--time-scale``/``--on-lost``/``--heartbeat-timeout`` (``None``: none
    given, the defaults apply); refused in one line with another backend or a value out of range."""
    from pydantic import ValidationError

    from fleetmind.firmware_bridge.swarm import SwarmFirmwareSettings

    given = {k: getattr(args, k) for k in FIRMWARE_OPTIONS if getattr(args, k, None) is not None}
    if not given:
        return None
    if args.backend != "firmware":
        flag = "--" + next(iter(given)).replace("_", "-")
        raise BadInputError(f"{flag}: applies to --backend firmware only; drop it or give --backend firmware")
    try:
        return SwarmFirmwareSettings(**given)
    except ValidationError as exc:
        raise BadInputError(
            describe_validation(exc.errors(), noun="option", name=lambda loc: "--" + str(loc[0]).replace("_", "-"))
        ) from None


def cmd_run(args: argparse.Namespace) -> int:
    from fleetmind.app.swarm_run import run_swarm

    firmware = firmware_settings(args)
    task = get_swarm_task(args.task)
    config = task.make_config(agents=args.agents, radius=args.radius, noise=args.noise, steps=args.steps)
    if args.gif_frames < 0:
        raise BadInputError(f"--gif-frames {args.gif_frames}: give 0 (no GIF) or more frames")
    check_output_dir(args.out, "--out")
    with tqdm(total=config.steps, desc=task.name, unit="step", disable=args.quiet or None, file=sys.stderr) as bar:
        m = run_swarm(
            task,
            config,
            args.controller,
            args.seed,
            args.out,
            args.gif_frames,
            args.policy,
            bar.update,
            args.backend,
            firmware,
        )
    print(
        f"{task.name} | {args.controller} | {args.backend} | N={config.agents} r={config.radius} noise={config.noise}: "
        f"final order "
        f"{m['final_order_parameter']:.3f}, steady {m['steady_order_parameter']:.3f} ({task.metric}); {m['seconds']} s"
    )
    print(f"outputs: {args.out}/metrics.json, order.png" + (", swarm.gif" if args.gif_frames else ""))
    return 0


def run_from_args(args: argparse.Namespace) -> int:
    return {"tune": cmd_tune, "train": cmd_train, "run": cmd_run}[args.swarm_command](args)
