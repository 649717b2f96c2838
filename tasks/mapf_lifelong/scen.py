"""MovingAI MAPF benchmark files (Stern et al., SoCS 2019): ``.scen`` scenarios read and written, ``.map`` files
written (read with :func:`fleetmind.tasks.mapf_lifelong.maps.load_movingai`), and a seeded random scenario
generator for any :class:`GridMap`.

A ``.scen`` file is ``version 1`` then one agent a line: ``bucket map width height sx sy gx gy optimal`` (tab
separated; x is the column, y the row). The standard protocol runs the first k agents of a file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from fleetmind.tasks.mapf_lifelong._kernels import bfs_distances, components
from fleetmind.tasks.mapf_lifelong.maps import GridMap


@dataclass(frozen=True, eq=False)
class Scenario:
    """``starts``/``goals``: ``(N, 2) int64`` (row, col); ``optimal``: ``(N,) float64`` as the file states it (the
    MovingAI files give 8-connected octile lengths; :func:`random_scenario` writes 4-connected ones);
    ``map_file``: the map named in the file; ``width``/``height``: the map's size as the file states it."""

    map_file: str
    width: int
    height: int
    starts: np.ndarray
    goals: np.ndarray
    optimal: np.ndarray

    def first(self, k: int) -> Scenario:
        """The first ``k`` agents (the standard protocol)."""
        if not 0 <= k <= len(self.starts):
            raise ValueError(f"agents: the scenario has {len(self.starts)} agents, asked for {k}; use at most that")
        return Scenario(self.map_file, self.width, self.height, self.starts[:k], self.goals[:k], self.optimal[:k])


def load_scen(path: str | Path) -> Scenario:
    """Read a MovingAI ``.scen`` file (``version 1``); agents on blocked or off-map cells are caught by the caller's
    map check (:func:`check_scenario`)."""
    lines = [ln for ln in Path(path).read_text(encoding="utf-8").splitlines() if ln.strip()]
    if not lines or lines[0].split()[:1] != ["version"]:
        raise ValueError(f"{path}: not a MovingAI scenario (the first line must be 'version 1')")
    rows = []
    for number, line in enumerate(lines[1:], start=2):
        parts = line.split("\t") if "\t" in line else line.split()
        if len(parts) != 9:
            raise ValueError(f"{path}:{number}: expected 9 fields 'bucket map width height sx sy gx gy optimal'")
        rows.append(parts)
    if not rows:
        return Scenario("", 0, 0, np.zeros((0, 2), np.int64), np.zeros((0, 2), np.int64), np.zeros(0))
    num = np.array([[float(x) for x in r[2:]] for r in rows])
    sx, sy, gx, gy = (num[:, k].astype(np.int64) for k in (2, 3, 4, 5))
    return Scenario(
        rows[0][1], int(num[0, 0]), int(num[0, 1]), np.stack([sy, sx], axis=1), np.stack([gy, gx], axis=1), num[:, 6]
    )


def check_scenario(scenario: Scenario, grid: GridMap) -> None:
    """Raise ``ValueError`` naming the first agent whose start or goal is off the map or blocked, or shared."""
    for what, cells in (("start", scenario.starts), ("goal", scenario.goals)):
        cells = np.asarray(cells, dtype=np.int64).reshape(-1, 2)
        i = first_off_free(grid.obstacles, cells)
        if i is not None:
            r, c = cells[i].tolist()
            raise ValueError(f"{scenario.map_file}: agent {i}'s {what} (x={c}, y={r}) is off the map or blocked")
        if first_shared(cells) is not None:
            raise ValueError(f"{scenario.map_file}: two agents share a {what} cell")


def first_off_free(blocked: np.ndarray, cells: np.ndarray) -> int | None:
    """The first of ``cells`` (``(N, 2) int64`` row, col) off the ``(H, W)`` map ``blocked`` or on an obstacle."""
    h, w = blocked.shape
    inside = (cells[:, 0] >= 0) & (cells[:, 0] < h) & (cells[:, 1] >= 0) & (cells[:, 1] < w)
    bad = ~inside
    bad[inside] = blocked[cells[inside, 0], cells[inside, 1]]
    found = np.flatnonzero(bad)
    return int(found[0]) if len(found) else None


def first_shared(cells: np.ndarray) -> tuple[int, int] | None:
    """The first two agents (``i < j``) of ``cells`` (``(N, 2) int64``) given one cell, or ``None``."""
    _, first, counts = np.unique(cells, axis=0, return_index=True, return_counts=True)
    if not (counts > 1).any():
        return None
    cell = cells[first[np.flatnonzero(counts > 1)[0]]]
    i, j = np.flatnonzero((cells == cell).all(axis=1))[:2]
    return int(i), int(j)


def write_scen(path: str | Path, scenario: Scenario) -> None:
    """Write ``scenario`` as a ``version 1`` file; buckets group ten agents each."""
    out = ["version 1"]
    for i, ((sr, sc), (gr, gc), opt) in enumerate(
        zip(scenario.starts.tolist(), scenario.goals.tolist(), scenario.optimal.tolist(), strict=True)
    ):
        out.append(
            f"{i // 10}\t{scenario.map_file}\t{scenario.width}\t{scenario.height}\t{sc}\t{sr}\t{gc}\t{gr}\t{opt:.8f}"
        )
    Path(path).write_text("\n".join(out) + "\n", encoding="utf-8")


def write_movingai(path: str | Path, grid: GridMap) -> None:
    """Write ``grid`` as a MovingAI ``.map`` file (``.`` free, ``@`` blocked)."""
    h, w = grid.shape
    body = "\n".join("".join("@" if b else "." for b in row) for row in grid.obstacles)
    Path(path).write_text(f"type octile\nheight {h}\nwidth {w}\nmap\n{body}\n", encoding="utf-8")


def random_scenario(grid: GridMap, agents: int, seed: int, map_file: str = "") -> Scenario:
    """``agents`` distinct starts and distinct goals drawn (seeded) from the map's largest connected component, as
    MovingAI's random scenarios are; ``optimal`` holds the 4-connected shortest distances."""
    label = components(np.ascontiguousarray(grid.obstacles, dtype=np.bool_))
    if (label >= 0).sum() == 0:
        raise ValueError(f"map {grid.name!r} has no free cell")
    keep = np.flatnonzero(label.ravel() == np.bincount(label[label >= 0]).argmax())
    if agents > len(keep):
        raise ValueError(f"agents: {agents} exceed the {len(keep)} cells of the map's largest component; use fewer")
    rng = np.random.default_rng(seed)
    starts = rng.choice(keep, size=agents, replace=False).tolist()
    goals = rng.choice(keep, size=agents, replace=False).tolist()
    h, w = grid.shape
    blocked = np.ascontiguousarray(grid.obstacles, dtype=np.bool_)
    pairs = zip(starts, goals, strict=True)
    optimal = np.array([float(bfs_distances(blocked, g // w, g % w).ravel()[s]) for s, g in pairs], dtype=np.float64)
    return Scenario(
        map_file or f"{grid.name}.map",
        w,
        h,
        np.stack(np.divmod(np.array(starts, dtype=np.int64), w), axis=1),
        np.stack(np.divmod(np.array(goals, dtype=np.int64), w), axis=1),
        optimal,
    )
