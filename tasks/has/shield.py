"""HAS missions: shield rules. Vertex and swap conflicts among the online robots (the MAPF rules of
:mod:`fleetmind.tasks.mapf_lifelong.shield`), where a move into a neighbour the robot senses as a wall counts as a
wait; a command to an offline robot is refused."""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache

import numpy as np
from fleetmind.robots.commands import Command, Wait
from fleetmind.robots.fleet import Observation
from fleetmind.robots.ids import RobotId
from fleetmind.tasks.mapf_lifelong.actions import ACTION_OF
from fleetmind.tasks.mapf_lifelong.shield import conflicts


@lru_cache(maxsize=8)
def _open(shape: tuple[int, int]) -> np.ndarray:
    out = np.zeros(shape, dtype=np.bool_)
    out.flags.writeable = False
    return out


def effective_actions(pos: np.ndarray, actions: np.ndarray, walls: np.ndarray) -> np.ndarray:
    """``(N,) int64`` actions with moves into a sensed wall (``walls``: ``(N, 4) bool``, up/down/left/right)
    turned into waits."""
    acts = np.asarray(actions, dtype=np.int64).copy()
    moving = acts > 0
    hit = np.zeros(len(acts), dtype=bool)
    hit[moving] = walls[np.flatnonzero(moving), acts[moving] - 1]
    acts[hit] = 0
    return acts


def check(observation: Observation, plan: Mapping[RobotId, Command]) -> list[str]:
    world = observation.world
    names = list(observation.robot_ids)
    active = np.asarray(world["active"], dtype=bool)
    lines = [
        f"{r} is offline; it cannot take {c.text}"
        for r, c in plan.items()
        if r in observation.robots and not active[names.index(r)] and not isinstance(c, Wait)
    ]
    on = np.flatnonzero(active)
    if len(on) == 0:
        return lines
    pos = np.asarray(world["positions"], dtype=np.int64).reshape(-1, 2)[on]
    walls = np.asarray(world["walls"], dtype=bool).reshape(-1, 4)[on]
    actions = np.fromiter((ACTION_OF.get(plan.get(names[i]), 0) for i in on), dtype=np.int64, count=len(on))
    acts = effective_actions(pos, actions, walls)
    return lines + conflicts(pos, acts, _open(tuple(world["shape"])), [names[i] for i in on])
