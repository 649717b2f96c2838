"""MAPF planners (numba): Follower-style decentralized lifelong planner, PIBT, LaCAM* (one-shot)."""

from planners.base import PLANNERS, register_planner
from planners.mapf.follower import FollowerCore, FollowerPlanner, visible_lists
from planners.mapf.lacam import LacamResult, lacam_star
from planners.mapf.pibt import PibtCore, PibtPlanner

for _name, _cls in (("follower", FollowerPlanner), ("pibt", PibtPlanner)):
    if _name not in PLANNERS:
        register_planner(_name, _cls)

__all__ = [
    "FollowerCore",
    "FollowerPlanner",
    "LacamResult",
    "PibtCore",
    "PibtPlanner",
    "lacam_star",
    "visible_lists",
]
