"""Formation world: agents under velocity commands (as in aggregation) must take a target shape anywhere in the
arena (bounded by default). Its order parameter is the shape distance: the root mean square distance between the
agents and the shape's points after the best translation and the best assignment of agents to points."""

from __future__ import annotations

import math

import numpy as np
from fleetmind.sim.swarm import _embed_kernels as e
from fleetmind.sim.swarm import _measure_kernels as m
from fleetmind.sim.swarm.world import AggregationWorld, _check

SHAPES = ("circle", "line", "grid")


def target_shape(name: str, agents: int, spacing: float) -> np.ndarray:
    """``(agents, 2)`` points of a named shape, neighbours ``spacing`` apart, centred on the origin."""
    if name == "circle":
        radius = spacing / (2 * math.sin(math.pi / agents)) if agents > 1 else 0.0
        angle = 2 * math.pi * np.arange(agents) / agents
        pts = radius * np.stack([np.cos(angle), np.sin(angle)], axis=1)
    elif name == "line":
        pts = np.stack([spacing * np.arange(agents), np.zeros(agents)], axis=1)
    elif name == "grid":
        side = math.ceil(math.sqrt(agents))
        k = np.arange(agents)
        pts = spacing * np.stack([k % side, k // side], axis=1).astype(float)
    else:
        raise ValueError(f"shape={name!r} is unknown: use one of {', '.join(SHAPES)} or give (N, 2) points")
    return pts - pts.mean(axis=0)


def shape_distance(pos: np.ndarray, shape: np.ndarray) -> tuple[float, np.ndarray]:
    """``min over translations t and assignments pi of sqrt(mean_i |pos_i - shape_pi(i) - t|^2)`` and the
    assignment ``pi`` (``(N,) int64``). For squared distances the best ``t`` is the difference of the centroids for
    every ``pi``, so both sets are centred first and the Hungarian method (``_embed_kernels.assignment``) finds
    ``pi``: exact, O(N^3) (fine up to a few hundred agents). ``pos``: ``(N, 2)`` positions already unwrapped."""
    a = pos - pos.mean(axis=0)
    b = shape - shape.mean(axis=0)
    cost = ((a[:, None, :] - b[None, :, :]) ** 2).sum(axis=2)
    col = e.assignment(cost)
    return float(math.sqrt(cost[np.arange(len(a)), col].mean())), col


class FormationWorld(AggregationWorld):
    """Agents following velocity commands (speed capped at ``vmax``, position noise ``sigma``) that should take
    ``shape`` (a name of ``SHAPES`` with neighbours ``spacing`` apart, default half the radius, or ``(N, 2)``
    points). Bounded arena by default (walls reflect); periodic positions are unwrapped around their circular
    centroid. Order: ``shape_distance`` (lower is better, 0 = the exact shape). Observation: the neighbours'
    relative positions (histogram of bearings or RBF embedding), as in aggregation."""

    def __init__(
        self,
        agents: int,
        shape: str | np.ndarray = "circle",
        box: float = 10.0,
        radius: float = 1.0,
        spacing: float | None = None,
        vmax: float = 0.1,
        sigma: float = 0.0,
        periodic: bool = False,
        bins: int = 8,
        dt: float = 1.0,
        *,
        observation: str = "histogram",
        obs_noise: float = 0.0,
    ):
        super().__init__(
            agents, box, radius, vmax, sigma, periodic, bins, dt, observation=observation, obs_noise=obs_noise
        )
        spacing = 0.5 * self.radius if spacing is None else spacing
        self.spacing = _check("spacing", spacing, 0.0, "give the distance between neighbouring shape points, > 0")
        if isinstance(shape, str):
            self.shape = target_shape(shape, self.n, self.spacing)
        else:
            points = np.asarray(shape, dtype=float)
            if points.shape != (self.n, 2) or not np.isfinite(points).all():
                raise ValueError(
                    f"shape has shape {points.shape}: give {self.n} finite points as an ({self.n}, 2) array"
                )
            self.shape = points - points.mean(axis=0)
        self.assigned = np.arange(self.n)  # the shape point of each agent in the last order()

    def unwrapped(self) -> np.ndarray:
        """``(N, 2)`` positions; periodic: offsets (minimum image) from the circular centroid, so a formation
        across the seam stays whole."""
        if not self.periodic:
            return self.pos.copy()
        centre = np.empty(2)
        for a in range(2):
            ang = 2 * math.pi * self.pos[:, a] / self.box
            centre[a] = (math.atan2(np.sin(ang).sum(), np.cos(ang).sum()) % (2 * math.pi)) * self.box / (2 * math.pi)
        d = self.pos - centre
        d -= self.box * np.round(d / self.box)
        return d

    def order(self) -> float:
        dist, self.assigned = shape_distance(self.unwrapped(), self.shape)
        return dist

    def mean_centroid_distance(self) -> float:
        """The aggregation order parameter of the same positions."""
        return float(m.centroid_distance(self.pos, self.box, self.periodic))
