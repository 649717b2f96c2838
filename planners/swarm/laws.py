"""Classical decentralized laws on the agents' local views, each with named gains.

- ``vicsek_average``: turn toward the circular mean heading of the agent and its neighbours, ``k * angle / dt``.
- ``cucker_smale``: ``k * sum_j sin(theta_j - theta_i) / expected`` (unit weight within the radius: a sum, not a
  mean, so more neighbours pull harder).
- ``kuramoto_coupling``: frequency adjustment ``k * mean_j sin(phase_j - phase_i)`` (local Kuramoto coupling).
- ``attraction_repulsion``: velocity ``ka * offset - kr * offset * [|offset| < d]`` toward the neighbours' centroid
  (``offset``: the mean offset to the neighbours over the radius), pushed back inside ``d`` radii of it.

Actions are in units of the world's bound (``[-1, 1]``); the app multiplies by it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
from fleetmind.planners.swarm.observation import SwarmObservation
from fleetmind.robots.errors import BadInputError


def _vicsek_average(obs: SwarmObservation, g: Mapping[str, float]) -> np.ndarray:
    c = 1.0 + obs.count * obs.moment[:, 0]  # the agent itself (relative angle 0) plus its neighbours
    s = obs.count * obs.moment[:, 1]
    return g["k"] * np.arctan2(s, c)


def _cucker_smale(obs: SwarmObservation, g: Mapping[str, float]) -> np.ndarray:
    return g["k"] * obs.count * obs.moment[:, 1] / max(obs.expected, 1e-9)


def _kuramoto(obs: SwarmObservation, g: Mapping[str, float]) -> np.ndarray:
    return g["k"] * obs.moment[:, 1]


def _attraction_repulsion(obs: SwarmObservation, g: Mapping[str, float]) -> np.ndarray:
    off = obs.moment
    near = (np.hypot(off[:, 0], off[:, 1]) < g["d"])[:, None]
    return g["ka"] * off - g["kr"] * off * near


@dataclass(frozen=True)
class Law:
    """A law: its function (observation, gains -> ``(N,)`` or ``(N, 2)`` actions in bound units), its default gains
    and the grid its gains are tuned over."""

    fn: Callable[[SwarmObservation, Mapping[str, float]], np.ndarray]
    defaults: dict[str, float]
    grid: dict[str, tuple[float, ...]] = field(default_factory=dict)


LAWS: dict[str, Law] = {
    "vicsek_average": Law(_vicsek_average, {"k": 1.0}, {"k": (0.25, 0.5, 1.0, 2.0, 4.0)}),
    "cucker_smale": Law(_cucker_smale, {"k": 1.0}, {"k": (0.25, 0.5, 1.0, 2.0, 4.0)}),
    "kuramoto_coupling": Law(_kuramoto, {"k": 1.0}, {"k": (0.5, 1.0, 2.0, 4.0, 8.0)}),
    "attraction_repulsion": Law(
        _attraction_repulsion, {"ka": 2.0, "kr": 0.0, "d": 0.2}, {"ka": (0.5, 1.0, 2.0, 4.0), "kr": (0.0, 2.0, 4.0)}
    ),
}
"""Law name -> law."""


class ClassicController:
    """A classical law with its gains: ``act(obs)`` -> actions in ``[-1, 1]`` units of the world's bound."""

    def __init__(self, law: str, gains: Mapping[str, float] | None = None):
        if law not in LAWS:
            raise BadInputError(f"unknown law {law!r}; laws: {', '.join(LAWS)}")
        self.law = law
        merged = {**LAWS[law].defaults, **(gains or {})}
        for name, value in merged.items():
            if name not in LAWS[law].defaults:
                raise BadInputError(f"gain {name!r} is not a gain of {law}; its gains: {', '.join(LAWS[law].defaults)}")
            if not isinstance(value, int | float) or not math.isfinite(value):
                raise BadInputError(f"gain {name}={value!r} of {law} is not a finite number: give a finite gain")
        self.gains = {k: float(v) for k, v in merged.items()}

    def act(self, obs: SwarmObservation) -> np.ndarray:
        return np.clip(LAWS[self.law].fn(obs, self.gains), -1.0, 1.0)


def make_classic(law: str, gains: Mapping[str, float] | None = None) -> ClassicController:
    """The controller of ``law`` with ``gains`` (missing gains: the law's defaults); bad gains: one line."""
    return ClassicController(law, gains)


def laws_for(task: object) -> tuple[str, ...]:
    """The classical laws that play ``task`` (a swarm task plug-in), by its type."""
    from fleetmind.tasks.swarm import AggregationTask, KuramotoTask, VicsekTask

    for kind, laws in (
        (VicsekTask, ("vicsek_average", "cucker_smale")),
        (KuramotoTask, ("kuramoto_coupling",)),
        (AggregationTask, ("attraction_repulsion",)),
    ):
        if isinstance(task, kind):
            return laws
    raise BadInputError(f"no classical law plays {type(task).__name__}")


def tuned_classic(task: object, gains_entry: Mapping[str, object] | None) -> ClassicController:
    """The task's tuned law (``gains.json``'s entry: ``{"law": ..., "gains": {...}}``), else its first law with
    default gains."""
    if gains_entry and gains_entry.get("law"):
        return ClassicController(str(gains_entry["law"]), gains_entry.get("gains") or {})  # type: ignore[arg-type]
    return ClassicController(laws_for(task)[0])
