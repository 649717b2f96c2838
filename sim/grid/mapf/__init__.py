"""Lifelong and one-shot multi-agent path finding on 4-connected grids, with POGEMA 1.4 semantics."""

from sim.grid.mapf.fleet import MapfFleet, command_of
from sim.grid.mapf.maps import (
    GridMap,
    load_movingai,
    map_names,
    maze_map,
    named_map,
    parse_string_map,
    random_map,
    warehouse_map,
)
from sim.grid.mapf.metrics import CSR, ISR, AvgThroughput, Metric, MetricSet, SumOfCostsAndMakespan
from sim.grid.mapf.validate import check_paths
from sim.grid.mapf.world import ACTIONS, OBS_RADIUS, MapfWorld, StepInfo

__all__ = [
    "ACTIONS",
    "CSR",
    "ISR",
    "OBS_RADIUS",
    "AvgThroughput",
    "GridMap",
    "MapfFleet",
    "MapfWorld",
    "Metric",
    "MetricSet",
    "StepInfo",
    "SumOfCostsAndMakespan",
    "check_paths",
    "command_of",
    "load_movingai",
    "map_names",
    "maze_map",
    "named_map",
    "parse_string_map",
    "random_map",
    "warehouse_map",
]
