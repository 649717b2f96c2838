"""Swarm worlds: Vicsek flocking, Kuramoto oscillators and aggregation of N agents in a 2D box (numba kernels in
``_kernels.py``). Importing this package loads numba; the scenario loader never does."""

from fleetmind.sim.swarm.world import AggregationWorld, KuramotoWorld, SwarmStep, VicsekWorld

__all__ = ["AggregationWorld", "KuramotoWorld", "SwarmStep", "VicsekWorld"]
