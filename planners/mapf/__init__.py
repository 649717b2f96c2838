"""MAPF planners (numba): Follower-style decentralized lifelong planner and its imitation-learned counterpart
(``follower_il``), PIBT (plain and traffic-flow guided), LaCAM* (one-shot, with LNS refinement)."""

from collections.abc import Mapping
from typing import Any

import numpy as np
from fleetmind.planners.mapf._common import MapPlanner
from fleetmind.planners.mapf.follower import FollowerCore, FollowerPlanner, visible_lists
from fleetmind.planners.mapf.follower_il import FollowerIlPlanner, IlCore
from fleetmind.planners.mapf.lacam import LacamResult, lacam_star, solution_costs
from fleetmind.planners.mapf.pibt import PibtCore, PibtFlowPlanner, PibtLnsPlanner, PibtPlanner

LIFELONG = {
    "follower": FollowerPlanner,
    "follower_il": FollowerIlPlanner,
    "pibt": PibtPlanner,
    "pibt_flow": PibtFlowPlanner,
    "pibt_lns": PibtLnsPlanner,
}


def _factory(name: str):
    def make(task: str, options: Mapping[str, Any] | None = None) -> MapPlanner:
        return LIFELONG[name](task)

    make.__name__ = f"make_{name}"
    return make


make_follower = _factory("follower")
make_follower_il = _factory("follower_il")
make_pibt = _factory("pibt")
make_pibt_flow = _factory("pibt_flow")
make_pibt_lns = _factory("pibt_lns")


def lifelong_core(name: str, blocked: np.ndarray, num_agents: int, seed: int = 0) -> FollowerCore | IlCore | PibtCore:
    """The array core of the lifelong planner ``name`` (``follower``, ``follower_il``, ``pibt``, ``pibt_flow``,
    ``pibt_lns``), as its planner builds it; benchmarks drive cores directly. Follower and ``follower_il`` cores take
    ``actions(pos, goal, vis, nvis)``, PIBT cores ``actions(pos, goal)``."""
    if name not in LIFELONG:
        raise ValueError(f"unknown lifelong planner {name!r}; choose one of {', '.join(LIFELONG)}")
    return LIFELONG[name]().make_core(np.ascontiguousarray(blocked, dtype=np.bool_), num_agents, seed)


__all__ = [
    "LIFELONG",
    "FollowerCore",
    "FollowerIlPlanner",
    "FollowerPlanner",
    "IlCore",
    "LacamResult",
    "PibtCore",
    "PibtFlowPlanner",
    "PibtLnsPlanner",
    "PibtPlanner",
    "lacam_star",
    "lifelong_core",
    "solution_costs",
    "visible_lists",
]
