"""Lifelong MAPF: shield rules (vertex and swap conflicts) and the fix a MAPF planner replans with.

The world (POGEMA's soft collisions) would quietly revert conflicting moves; the shield is stricter: a joint move
in which two agents end in one cell (vertex conflict) or trade cells (swap, edge conflict) is refused before it
reaches the world. A move into an obstacle or off the map counts as a wait (the world reverts it), so an agent
following into the cell of one that bumps a wall is a vertex conflict. Following into a cell that is being vacated
is allowed, as are rotations of three or more agents.

:func:`settle` is the replanning step: the agents in conflict wait, under POGEMA's own priority order (its soft
resolution, in cascade), repeated until the plan is conflict free; a plan of waits only is always conflict free.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache

import numpy as np
from fleetmind.robots.commands import Command
from fleetmind.robots.fleet import Observation
from fleetmind.robots.ids import RobotId
from fleetmind.tasks.mapf_lifelong.actions import ACTION_OF, command_of
from fleetmind.tasks.mapf_lifelong.maps import parse_string_map

DR = np.array([0, -1, 1, 0, 0], dtype=np.int64)
DC = np.array([0, 0, 0, -1, 1], dtype=np.int64)
MAX_LINES = 10
"""Conflicts spelt out one per line; beyond that one summary line."""


@lru_cache(maxsize=8)
def blocked_of(grid_text: str) -> np.ndarray:
    """``(H, W) bool`` obstacles of the world's static map text (``observation.world["grid"]``), parsed once."""
    blocked = np.ascontiguousarray(parse_string_map(grid_text).obstacles, dtype=np.bool_)
    blocked.flags.writeable = False
    return blocked


def end_cells(pos: np.ndarray, actions: np.ndarray, blocked: np.ndarray) -> np.ndarray:
    """``(N, 2) int64`` cells after ``actions`` (``(N,)`` 0..4) from ``pos`` (``(N, 2)``), each agent alone: a move
    into an obstacle or off the map leaves the agent where it is."""
    h, w = blocked.shape
    rows, cols = pos[:, 0] + DR[actions], pos[:, 1] + DC[actions]
    inside = (rows >= 0) & (rows < h) & (cols >= 0) & (cols < w)
    ok = inside.copy()
    ok[inside] = ~blocked[rows[inside], cols[inside]]
    return np.where(ok[:, None], np.stack([rows, cols], axis=1), pos)


def conflict_pairs(pos: np.ndarray, actions: np.ndarray, blocked: np.ndarray) -> tuple[list, list]:
    """``(vertex, swaps)``: ``[(cell, [agents])]`` for cells two or more agents would end in, and ``[(i, j)]``
    (``i < j``) for agents that would trade cells."""
    width = blocked.shape[1]
    end = end_cells(pos, actions, blocked)
    start_cell = pos[:, 0] * width + pos[:, 1]
    end_cell = end[:, 0] * width + end[:, 1]
    by_cell = np.argsort(end_cell, kind="stable")
    uniq, first, counts = np.unique(end_cell[by_cell], return_index=True, return_counts=True)
    vertex = [
        ((int(c) // width, int(c) % width), sorted(by_cell[f : f + n].tolist()))
        for c, f, n in zip(
            uniq[counts > 1].tolist(), first[counts > 1].tolist(), counts[counts > 1].tolist(), strict=True
        )
    ]
    swaps: list[tuple[int, int]] = []
    movers = np.flatnonzero(end_cell != start_cell)
    if len(movers):
        order = np.argsort(start_cell, kind="stable")
        sorted_start = start_cell[order]
        k = np.searchsorted(sorted_start, end_cell[movers])
        k = np.minimum(k, len(sorted_start) - 1)
        hit = sorted_start[k] == end_cell[movers]
        for i, j in zip(movers[hit].tolist(), order[k[hit]].tolist(), strict=True):
            if i < j and end_cell[j] == start_cell[i]:
                swaps.append((i, j))
    return vertex, swaps


def conflicts(pos: np.ndarray, actions: np.ndarray, blocked: np.ndarray, names: list[str] | None = None) -> list[str]:
    """Vertex and swap conflicts of one joint move, one readable line each (empty: safe)."""
    vertex, swaps = conflict_pairs(pos, actions, blocked)
    name = (lambda i: names[i]) if names is not None else (lambda i: f"agent {i}")
    lines = [f"{' and '.join(name(i) for i in who)} would end in cell {cell} (vertex conflict)" for cell, who in vertex]
    lines += [
        f"{name(i)} and {name(j)} would swap cells {tuple(pos[i].tolist())} and {tuple(pos[j].tolist())} "
        "(edge conflict)"
        for i, j in swaps
    ]
    if len(lines) > MAX_LINES:
        lines = [*lines[:MAX_LINES], f"... and {len(lines) - MAX_LINES} more conflicts"]
    return lines


def settle(pos: np.ndarray, actions: np.ndarray, blocked: np.ndarray) -> np.ndarray:
    """``(N,) int64`` actions with the agents in conflict waiting (POGEMA's soft resolution, in cascade), repeated
    until no vertex or swap conflict is left; all waits if it ever were not."""
    from fleetmind.tasks.mapf_lifelong._kernels import soft_resolve

    acts = np.asarray(actions, dtype=np.int64).copy()
    rows, cols = np.ascontiguousarray(pos[:, 0]), np.ascontiguousarray(pos[:, 1])
    fixed = np.ascontiguousarray(blocked, dtype=np.bool_)
    if fixed.flags.writeable:  # read-only, as blocked_of's maps: soft_resolve is compiled for one type only
        fixed = fixed.view()
        fixed.flags.writeable = False
    for _ in range(len(acts) + 1):
        acts = soft_resolve(rows, cols, acts, fixed)
        vertex, swaps = conflict_pairs(pos, acts, blocked)
        if not vertex and not swaps:
            return acts
    return np.zeros_like(acts)


def _arrays(observation: Observation, plan: Mapping[RobotId, Command]) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Positions ``(N, 2)``, actions ``(N,)`` (commands that are not grid moves count as waits: the Fleet refuses
    them) and robot names, in the world's agent order."""
    names = list(observation.robot_ids)
    pos = np.asarray(observation.world["positions"], dtype=np.int64).reshape(-1, 2)
    actions = np.fromiter((ACTION_OF.get(plan.get(r), 0) for r in names), dtype=np.int64, count=len(names))
    return pos, actions, names


def check(observation: Observation, plan: Mapping[RobotId, Command]) -> list[str]:
    pos, actions, names = _arrays(observation, plan)
    return conflicts(pos, actions, blocked_of(observation.world["grid"]), names)


def settle_plan(observation: Observation, plan: Mapping[RobotId, Command]) -> dict[RobotId, Command]:
    """``plan`` with the agents in conflict waiting (see :func:`settle`); robots that wait are left out."""
    pos, actions, names = _arrays(observation, plan)
    fixed = settle(pos, actions, blocked_of(observation.world["grid"]))
    return {RobotId(r): command_of(int(a)) for r, a in zip(names, fixed.tolist(), strict=True) if a != 0}
