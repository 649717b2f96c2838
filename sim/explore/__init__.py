"""The exploration world of the HAS missions (issue 16): unknown maps, sensing with line of sight, POGEMA moves."""

from fleetmind.sim.explore.fleet import ExploreFleet
from fleetmind.sim.explore.world import ExploreWorld

__all__ = ["ExploreFleet", "ExploreWorld"]
