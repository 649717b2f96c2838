"""The MAPF grid world as a Fleet (the world's arrays, kernels and maps are in ``fleetmind.tasks.mapf_lifelong``)."""

from fleetmind.sim.grid.mapf.fleet import MapfFleet

__all__ = ["MapfFleet"]
