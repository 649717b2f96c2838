"""The classical laws' gains, tuned by a small grid search: every law that plays the task, every gain combination
of its grid, scored by the steady-state metric averaged over observation radii, noise levels and seeds."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from fleetmind.app.results import write_json
from fleetmind.app.swarm_env import SwarmEnv, steady_state
from fleetmind.app.swarm_train import RADII, rollout
from fleetmind.planners.swarm.laws import LAWS, ClassicController, laws_for
from fleetmind.tasks.swarm import GAINS_FILE, SwarmConfig, SwarmTask

TUNE_NOISES = (0.5, 1.0)
TUNE_SEEDS = (1000, 1001)


def score(task: SwarmTask, base: SwarmConfig, act: Callable, steps: int, seeds=TUNE_SEEDS, noises=TUNE_NOISES) -> float:
    """Mean steady-state metric of a controller over RADII x ``noises`` x ``seeds`` (``steps`` steps each)."""
    values = []
    for radius, noise, seed in itertools.product(RADII, noises, seeds):
        config = base.model_copy(update={"radius": radius, "noise": noise, "steps": steps})
        values.append(steady_state(rollout(SwarmEnv(task, config), act, seed, steps)))
    return float(np.mean(values))


def grid_search(
    task: SwarmTask, base: SwarmConfig, steps: int = 200, on_row: Callable[[str, dict, float], None] | None = None
) -> dict[str, Any]:
    """The best ``{"law", "gains", "score"}`` over every law of the task and its gain grid."""
    best: dict[str, Any] = {"score": -np.inf}
    for law in laws_for(task):
        grid = LAWS[law].grid
        for combo in itertools.product(*grid.values()):
            gains = dict(zip(grid, combo, strict=True))
            value = score(task, base, ClassicController(law, gains).act, steps)
            if on_row is not None:
                on_row(law, gains, value)
            if value > best["score"]:
                best = {"law": law, "gains": {**LAWS[law].defaults, **gains}, "score": round(value, 4)}
    return best


def store(task: SwarmTask, entry: dict[str, Any], command: str, path: Path = GAINS_FILE) -> Path:
    """Write ``entry`` (and the command that produced it) as the task's entry of ``gains.json``."""
    data = json.loads(path.read_text()) if path.exists() else {}
    data[task.name] = {**entry, "command": command}
    write_json(path, data, sort_keys=True)  # atomic: the shipped gains of the other tasks survive a crash
    return path
