"""The grid world backend: the paper tasks' rules (from ``fleetmind.tasks``) run as a Fleet, and lifelong MAPF."""

from __future__ import annotations

from typing import Any

from fleetmind.robots.fleet import Fleet
from fleetmind.sim.grid.fleet import GridFleet
from fleetmind.tasks import GridTaskPlugin, Task
from fleetmind.tasks.mapf_lifelong import MapfLifelongTask


def make_grid_fleet(task: Task, config: Any) -> Fleet:
    """The grid-world Fleet of ``task`` for a scenario's ``world`` section (``config``)."""
    if isinstance(task, GridTaskPlugin):
        return GridFleet(task.make_rules(config), step_limit=config.step_limit)
    if isinstance(task, MapfLifelongTask):
        from fleetmind.sim.grid.mapf import MapfFleet
        from fleetmind.tasks.mapf_lifelong.maps import named_map

        return MapfFleet(
            named_map(config.map), config.agents, config.episode_steps, config.on_target, config.obs_radius
        )
    from fleetmind.tasks.has import HasTask

    if isinstance(task, HasTask):
        from fleetmind.sim.explore import ExploreFleet

        return ExploreFleet(config)
    raise ValueError(f"the grid backend cannot run task {task.name!r}")


__all__ = ["GridFleet", "make_grid_fleet"]
