"""Swarm worlds: Vicsek flocking, Kuramoto oscillators, aggregation and formation of N agents in a 2D box (numba
kernels in ``_kernels.py`` modules). Importing this package loads numba; the scenario loader never does."""

from fleetmind.sim.swarm.formation import SHAPES, FormationWorld, shape_distance, target_shape
from fleetmind.sim.swarm.world import OBSERVATIONS, AggregationWorld, KuramotoWorld, SwarmStep, VicsekWorld

__all__ = [
    "OBSERVATIONS",
    "SHAPES",
    "AggregationWorld",
    "FormationWorld",
    "KuramotoWorld",
    "SwarmStep",
    "VicsekWorld",
    "shape_distance",
    "target_shape",
]
