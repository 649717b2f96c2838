"""``fleetmind swarm run``: one episode of a swarm task under a controller (none, the tuned classical law, or the
shipped Dec-POMFC policy), written as ``metrics.json``, ``order.png`` (the metric over time) and ``swarm.gif``."""

from __future__ import annotations

import logging
import math
import os
import platform
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from fleetmind.app.results import write_json
from fleetmind.app.swarm_env import Frame, SwarmEnv, steady_state
from fleetmind.planners.swarm.laws import tuned_classic
from fleetmind.planners.swarm.observation import SwarmObservation
from fleetmind.planners.swarm.policy import load_policy
from fleetmind.robots.errors import BadInputError
from fleetmind.tasks.swarm import SwarmConfig, SwarmTask

if TYPE_CHECKING:
    from fleetmind.firmware_bridge.swarm import SwarmFirmwareSettings

log = logging.getLogger(__name__)

CONTROLLERS = ("none", "classic", "dec-pomfc")
BACKENDS = ("swarm", "fleet", "pybullet", "firmware")
Act = Callable[[SwarmObservation], np.ndarray | None]


def controller(task: SwarmTask, name: str, policy: Path | None = None) -> Act:
    """The controller ``name`` of ``task`` as a function of the agents' views (``none``: no actions)."""
    if name == "none":
        return lambda obs: None
    if name == "classic":
        return tuned_classic(task, task.tuned()).act
    if name == "dec-pomfc":
        path = policy or task.policy_path()
        loaded = load_policy(path)
        trained = loaded.meta.get("task")
        if trained is not None and trained != task.name:  # a vicsek policy on aggregation failed on its actions' shape
            raise BadInputError(
                f"--policy {path}: a Dec-POMFC policy trained for {trained}, not {task.name}; give one trained for "
                f"{task.name} (leave --policy out for the shipped one, or `fleetmind swarm train {task.name}`)"
            )
        return loaded.act
    raise BadInputError(f"--controller: unknown controller {name!r}; choose from {', '.join(CONTROLLERS)}")


def episode(
    task: SwarmTask,
    config: SwarmConfig,
    act: Act,
    seed: int,
    frames: int = 0,
    on_step: Callable[[int], None] | None = None,
) -> tuple[list[float], list[Frame]]:
    """The metric after each step and up to ``frames`` evenly spaced snapshots (the first is the start)."""
    env = SwarmEnv(task, config)
    obs = env.reset(seed)
    every = max(1, config.steps // max(frames - 1, 1)) if frames else 0
    shots = [env.frame()] if frames else []
    series = []
    for t in range(1, config.steps + 1):
        obs = env.step(act(obs))
        series.append(env.metric())
        if frames and t % every == 0 and len(shots) < frames:
            shots.append(env.frame())
        if on_step is not None:
            on_step(t)
    return series, shots


def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_series(series: dict[str, list[float]], ylabel: str, title: str, out: Path, xlabel: str = "step") -> Path:
    """Line plot of named series (x: ``xlabel``, from 1) into a PNG."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6, 3.5))
    for name, values in series.items():
        ax.plot(np.arange(1, len(values) + 1), values, label=name)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=9)
    if len(series) > 1:
        ax.legend()
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return out


def write_gif(shots: list[Frame], box: float, title: str, out: Path, fps: int = 10) -> Path:
    """The snapshots as an animated GIF (pillow through matplotlib): agents coloured by heading / phase, with
    heading arrows up to 2,000 agents."""
    from matplotlib.animation import FuncAnimation, PillowWriter

    plt = _plt()
    fig, ax = plt.subplots(figsize=(4, 4))
    n = len(shots[0].pos)
    size = max(1.0, 30.0 / math.sqrt(max(n, 1) / 100))

    def draw(k: int) -> None:
        ax.clear()
        f = shots[k]
        ax.set_xlim(0, box)
        ax.set_ylim(0, box)
        ax.set_aspect("equal")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(f"{title}  frame {k + 1}/{len(shots)}", fontsize=8)
        ax.scatter(f.pos[:, 0], f.pos[:, 1], c=f.angle, cmap="hsv", vmin=-math.pi, vmax=math.pi, s=size)
        if n <= 2000 and np.any(f.angle):
            ax.quiver(
                f.pos[:, 0],
                f.pos[:, 1],
                np.cos(f.angle),
                np.sin(f.angle),
                f.angle,
                cmap="hsv",
                clim=(-math.pi, math.pi),
                width=0.004,
            )

    anim = FuncAnimation(fig, draw, frames=len(shots))
    anim.save(str(out), writer=PillowWriter(fps=fps))
    plt.close(fig)
    return out


def run_swarm(
    task: SwarmTask,
    config: SwarmConfig,
    name: str,
    seed: int,
    out: Path,
    gif_frames: int = 60,
    policy: Path | None = None,
    on_step: Callable[[int], None] | None = None,
    backend: str = "swarm",
    firmware: SwarmFirmwareSettings | None = None,
) -> dict[str, Any]:
    """One episode into ``out`` (metrics.json, order.png, swarm.gif unless ``gif_frames`` is 0); returns the
    metrics. ``backend``: ``swarm`` (the particle world), ``fleet`` (unicycle robots in it), ``pybullet`` or
    ``firmware`` (SITL robots the run starts and stops; ``firmware`` settings, default ones when None)."""
    if backend not in BACKENDS:
        raise BadInputError(f"--backend: unknown backend {backend!r}; choose from {', '.join(BACKENDS)}")
    act = controller(task, name, policy)  # a missing policy is refused before the episode runs
    start = time.perf_counter()
    report: dict[str, Any] = {}
    if backend == "swarm":
        series, shots = episode(task, config, act, seed, gif_frames, on_step)
    else:
        from fleetmind.app.swarm_fleet import fleet_episode

        if backend == "firmware" and firmware is None:
            from fleetmind.firmware_bridge.swarm import SwarmFirmwareSettings

            firmware = SwarmFirmwareSettings()
        settings = firmware if backend == "firmware" else None
        series, shots = fleet_episode(
            task, config, act, seed, backend == "pybullet", gif_frames, on_step, firmware=settings, report=report
        )
    seconds = time.perf_counter() - start
    out.mkdir(parents=True, exist_ok=True)
    metrics: dict[str, Any] = {
        "task": task.name,
        "controller": name,
        "backend": backend,
        "metric": task.metric,
        "final_order_parameter": round(series[-1], 6),
        "steady_order_parameter": round(steady_state(series), 6),
        "seed": seed,
        "config": config.model_dump(),
        "box": config.box,
        "seconds": round(seconds, 3),
        "machine": f"{platform.node()} {platform.machine()} {os.cpu_count()} cores",
        "order_parameter": [round(v, 5) for v in series],
    }
    if name == "classic":
        metrics["law"] = task.tuned() or "defaults (untuned)"
    if backend != "swarm":
        metrics["noise_modelled"] = False  # the robot fleets have no heading noise
    if backend == "firmware":
        keep = ("steps", "success", "failure_reason", "lost_robots", "max_step_error", "time_scale", "robot_time")
        metrics["firmware"] = {k: report[k] for k in keep if k in report}
    write_json(out / "metrics.json", metrics)
    label = f"{task.name} {name} {backend} N={config.agents} r={config.radius} noise={config.noise}"
    plot_series({name: series}, "order parameter", label, out / "order.png")
    if gif_frames:
        write_gif(shots, config.box, label, out / "swarm.gif")
    return metrics
