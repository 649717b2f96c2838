"""Swarm tasks (issue 15): Vicsek alignment, Kuramoto synchronization and aggregation, as configs with their metric.

A swarm task is not a grid task: it has its own small registry (:data:`SWARM_TASKS`, :func:`get_swarm_task`) and is
played by ``fleetmind swarm run``, not by ``fleetmind run``. Each task is a :class:`SwarmTask` subclass (the app and
the controllers choose by its type, never by its name) holding the pydantic model of its parameters, the classical
law's gains tuned by ``fleetmind swarm tune`` (``gains.json`` next to this file, with the command that produced it)
and the shipped Dec-POMFC policy (``policies/<task>.npz``, made by ``fleetmind swarm train``).

Noise is given as a level (the benchmark's 0, 0.5, 1, 2) and scaled per task by :attr:`SwarmTask.noise_scale` into
the world's own noise parameter (Vicsek heading noise amplitude, Kuramoto phase noise, aggregation position noise).
The box grows with the number of agents at a fixed ``density``, so a policy trained at one N meets the same
neighbourhoods at another.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, ClassVar

from fleetmind.robots.errors import BadInputError, describe_validation
from pydantic import BaseModel, ConfigDict, Field, ValidationError

HERE = Path(__file__).resolve().parent
GAINS_FILE = HERE / "gains.json"
POLICY_DIR = HERE / "policies"


MAX_AGENTS = 1_000_000
"""Most agents one episode holds: a 2-step Vicsek run of 1,000,000 agents peaks at 1.5 GB; 100,000,000 (a typo away)
filled the 24 GB machine and was killed after 3 minutes."""


class SwarmConfig(BaseModel):
    """Parameters of one swarm episode; every task adds its own."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    agents: int = Field(
        100,
        ge=1,
        le=MAX_AGENTS,
        strict=True,
        description=f"number of agents (1 to {MAX_AGENTS:,}; ~1.5 GB at the most)",
    )
    density: float = Field(1.0, gt=0, allow_inf_nan=False, description="agents per unit area; box = sqrt(N/density)")
    radius: float = Field(
        1.0, gt=0, le=1e6, allow_inf_nan=False, description="observation (neighbour) radius (at most 1e6)"
    )  # 1e300 overflowed the classical law's expected neighbour count (density x pi r^2) with a traceback
    noise: float = Field(
        0.5, ge=0, le=100, allow_inf_nan=False, description="noise level (scaled per task; 0 to 100)"
    )  # by 10 every task is as disordered as it gets; at 1e100 the phases lost float precision and showed false order
    steps: int = Field(300, ge=1, strict=True, description="steps per episode")
    bins: int = Field(8, ge=1, strict=True, description="histogram bins of the mean-field observation")

    @property
    def box(self) -> float:
        """Side of the periodic box holding ``agents`` at ``density`` (at least 2 radii: the world's own bound)."""
        return max(math.sqrt(self.agents / self.density), 2.0 * self.radius)


class VicsekConfig(SwarmConfig):
    speed: float = Field(0.1, ge=0, allow_inf_nan=False, description="constant speed (units per time)")
    max_turn: float = Field(1.0, ge=0, allow_inf_nan=False, description="turn-rate bound (rad per time)")
    dt: float = Field(1.0, gt=0, allow_inf_nan=False, description="time step")


class KuramotoConfig(SwarmConfig):
    omega_std: float = Field(0.2, ge=0, allow_inf_nan=False, description="spread of the natural frequencies")
    max_dfreq: float = Field(1.0, ge=0, allow_inf_nan=False, description="frequency-adjustment bound (rad per time)")
    dt: float = Field(0.1, gt=0, allow_inf_nan=False, description="time step")


class AggregationConfig(SwarmConfig):
    link: float = Field(0.5, gt=0, allow_inf_nan=False, description="agents closer than this are one cluster")
    vmax: float = Field(0.1, ge=0, allow_inf_nan=False, description="speed bound (units per time)")
    dt: float = Field(1.0, gt=0, allow_inf_nan=False, description="time step")


class SwarmTask:
    """One swarm task. Stateless; the app builds its world and the planners its controllers by this type."""

    name: ClassVar[str]
    title: ClassVar[str]
    config: ClassVar[type[SwarmConfig]]
    metric: ClassVar[str]
    """What ``final_order_parameter`` measures for this task (higher is better, in [0, 1])."""
    noise_scale: ClassVar[float]
    """World noise parameter = noise level * this."""
    action_dim: ClassVar[int] = 1
    own_dim: ClassVar[int] = 0
    """Columns of an agent's own state in its observation."""

    def make_config(self, **values: Any) -> SwarmConfig:
        """The task's config from keyword values (``None`` values are left at the default); bad values raise
        :class:`BadInputError` with one line naming the field."""
        data = {k: v for k, v in values.items() if v is not None}
        try:
            return self.config.model_validate(data)
        except ValidationError as exc:
            raise BadInputError(f"{self.name}: " + describe_validation(exc.errors(), noun="parameter")) from None

    def world_noise(self, config: SwarmConfig) -> float:
        return config.noise * self.noise_scale

    def tuned(self) -> dict[str, Any]:
        """This task's entry of ``gains.json`` (``{"law", "gains", "score", "command"}``, written by ``fleetmind
        swarm tune``); {} before tuning."""
        if not GAINS_FILE.exists():
            return {}
        return dict(json.loads(GAINS_FILE.read_text()).get(self.name, {}))

    def policy_path(self) -> Path:
        """Where the shipped Dec-POMFC policy of this task lives."""
        return POLICY_DIR / f"{self.name}.npz"


class VicsekTask(SwarmTask):
    name = "vicsek"
    title = "Vicsek alignment: agents at constant speed turn to align headings"
    config = VicsekConfig
    metric = "polar order |mean exp(i theta)|"
    noise_scale = 1.0  # eta: heading noise uniform in [-eta/2, eta/2]


class KuramotoTask(SwarmTask):
    name = "kuramoto"
    title = "Kuramoto synchronization: oscillators at fixed places adjust their frequencies to lock phases"
    config = KuramotoConfig
    metric = "phase order |mean exp(i phase)|"
    noise_scale = 0.5  # sigma: phase noise sigma * sqrt(dt) * N(0, 1)
    own_dim = 1  # its natural frequency


class AggregationTask(SwarmTask):
    name = "aggregation"
    title = "Aggregation: agents move to gather into one group"
    config = AggregationConfig
    metric = "largest-cluster fraction (links shorter than `link`)"
    noise_scale = 0.02  # sigma: position noise sigma * sqrt(dt) * N(0, 1) per axis
    action_dim = 2


SWARM_TASKS: dict[str, SwarmTask] = {t.name: t for t in (VicsekTask(), KuramotoTask(), AggregationTask())}
"""Swarm task name -> its plug-in."""


def swarm_task_names() -> list[str]:
    return list(SWARM_TASKS)


def get_swarm_task(name: str) -> SwarmTask:
    """The swarm task ``name``; the error lists the swarm tasks there are."""
    if name not in SWARM_TASKS:
        raise BadInputError(f"unknown swarm task {name!r}; swarm tasks: {', '.join(SWARM_TASKS)}")
    return SWARM_TASKS[name]


__all__ = [
    "SWARM_TASKS",
    "AggregationConfig",
    "AggregationTask",
    "KuramotoConfig",
    "KuramotoTask",
    "SwarmConfig",
    "SwarmTask",
    "VicsekConfig",
    "VicsekTask",
    "get_swarm_task",
    "swarm_task_names",
]
