"""Seeded generators of large MAPF maps, in the style of the League of Robot Runners 2023 settings: a warehouse
(rectangular shelves between two-lane aisles, workstations along both short sides), a sortation floor (a lattice of
2x2 chutes with emitters along the edges), uniformly random obstacles, and a city map stitched from the POGEMA
benchmark's MovingAI tiles (``maps/movingai-city-tiles.yaml``, MIT, see ``maps/README.md``).

Every generated map is one connected component (cells cut off from the largest component are filled in), so
every goal is reachable. The shipped maps and their settings are listed in ``maps/generated.yaml``;
:func:`generated_map` builds one by name, the same cells for the same settings on every machine.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

import numpy as np
import yaml
from fleetmind.tasks.mapf_lifelong.maps import MAPS_DIR, GridMap, parse_string_map, random_map

GENERATED_FILE = MAPS_DIR / "generated.yaml"
CITY_TILES_FILE = MAPS_DIR / "movingai-city-tiles.yaml"


def keep_largest_component(obstacles: np.ndarray) -> np.ndarray:
    """``(H, W) bool`` obstacles with every free cell outside the largest 4-connected free component blocked."""
    from fleetmind.tasks.mapf_lifelong._kernels import components  # numba: only when a map is generated

    blocked = np.ascontiguousarray(obstacles, dtype=np.bool_)
    label = components(blocked)
    free = label[label >= 0]
    if len(free) == 0:
        return blocked.copy()
    biggest = int(np.argmax(np.bincount(free)))
    return blocked | (label != biggest)


def _beside(obstacles: np.ndarray) -> np.ndarray:
    """``(H, W) bool`` free cells with a blocked 4-neighbour inside the map (the pick faces of shelves/chutes)."""
    near = np.zeros_like(obstacles)
    near[1:] |= obstacles[:-1]
    near[:-1] |= obstacles[1:]
    near[:, 1:] |= obstacles[:, :-1]
    near[:, :-1] |= obstacles[:, 1:]
    return near & ~obstacles


def _finish(name: str, obstacles: np.ndarray, targets: np.ndarray | None) -> GridMap:
    blocked = keep_largest_component(obstacles)
    return GridMap(name=name, obstacles=blocked, starts=None, targets=None if targets is None else targets & ~blocked)


def warehouse(
    height: int,
    width: int,
    seed: int,
    shelf_length: int = 10,
    shelf_depth: int = 2,
    aisle: int = 2,
    cross_aisle: int = 3,
    margin: int = 6,
    missing: float = 0.05,
    name: str = "warehouse",
) -> GridMap:
    """A LoRR-style warehouse ``height`` x ``width``: shelves of ``shelf_depth`` x ``shelf_length`` cells in a
    grid between ``aisle``-wide rows and ``cross_aisle``-wide columns of free cells, inside an open band of
    ``margin`` columns on the left and right (the workstations). A seeded ``missing`` fraction of shelves is left
    out (open floor). Goals (``targets``): the free cells beside a shelf and the outermost workstation columns."""
    if min(height, width) < 2 * margin + shelf_length or min(shelf_length, shelf_depth, aisle, cross_aisle) < 1:
        raise ValueError(f"warehouse {height}x{width}: too small for its shelves and margins")
    rng = np.random.default_rng(seed)
    obstacles = np.zeros((height, width), dtype=bool)
    row_pitch, col_pitch = shelf_depth + aisle, shelf_length + cross_aisle
    rows = range(aisle, height - aisle - shelf_depth + 1, row_pitch)
    cols = range(margin, width - margin - shelf_length + 1, col_pitch)
    for r in rows:
        for c in cols:
            if rng.random() >= missing:
                obstacles[r : r + shelf_depth, c : c + shelf_length] = True
    targets = _beside(obstacles)
    targets[:, :1] = True
    targets[:, -1:] = True
    return _finish(name, obstacles, targets)


def sortation(
    height: int,
    width: int,
    seed: int,
    chute: int = 2,
    pitch: int = 4,
    margin: int = 4,
    missing: float = 0.05,
    name: str = "sortation",
) -> GridMap:
    """A LoRR-style sortation floor: ``chute`` x ``chute`` blocked chutes every ``pitch`` cells (so two-lane
    aisles run both ways between them), an open band of ``margin`` cells all round (the emitters), a seeded
    ``missing`` fraction of chutes left out. Goals: the cells beside a chute and the map's border cells."""
    if pitch - chute < 1 or min(height, width) < 2 * margin + chute:
        raise ValueError(f"sortation {height}x{width}: pitch must exceed chute and the map must fit its margins")
    rng = np.random.default_rng(seed)
    obstacles = np.zeros((height, width), dtype=bool)
    for r in range(margin, height - margin - chute + 1, pitch):
        for c in range(margin, width - margin - chute + 1, pitch):
            if rng.random() >= missing:
                obstacles[r : r + chute, c : c + chute] = True
    targets = _beside(obstacles)
    targets[[0, -1], :] = True
    targets[:, [0, -1]] = True
    return _finish(name, obstacles, targets)


def random_connected(height: int, width: int, density: float, seed: int, name: str = "random") -> GridMap:
    """:func:`maps.random_map`'s obstacles (i.i.d. with probability ``density``), the pockets they cut off filled."""
    return _finish(name, random_map(height, width, density, seed).obstacles, None)


@functools.cache
def _city_tiles() -> dict[str, str]:
    data = yaml.safe_load(CITY_TILES_FILE.read_text(encoding="utf-8"))
    return {str(k): str(v) for k, v in data.items()}


def city(city_name: str, tiles_per_side: int = 4, name: str = "city") -> GridMap:
    """A MovingAI street map rebuilt from its ``tiles_per_side``^2 64x64 POGEMA tiles (``<city>_256_00`` ...,
    row-major), e.g. ``Paris_1`` -> the 256x256 map."""
    tiles = _city_tiles()
    keys = [f"{city_name}_256_{k:02d}" for k in range(tiles_per_side * tiles_per_side)]
    if missing := [k for k in keys if k not in tiles]:
        raise ValueError(f"city {city_name!r}: tiles {missing[:3]} not in {CITY_TILES_FILE.name}")
    grids = [parse_string_map(tiles[k], k).obstacles for k in keys]
    rows = [np.hstack(grids[r * tiles_per_side : (r + 1) * tiles_per_side]) for r in range(tiles_per_side)]
    return _finish(name, np.vstack(rows), None)


GENERATORS = {"warehouse": warehouse, "sortation": sortation, "random": random_connected, "city": city}


@functools.cache
def generated_settings() -> dict[str, dict[str, Any]]:
    """The shipped generated maps: ``{name: {"generator": ..., <its keyword settings>}}`` from ``generated.yaml``."""
    data = yaml.safe_load(GENERATED_FILE.read_text(encoding="utf-8"))
    return {str(k): dict(v) for k, v in data.items()}


def build(settings: Mapping[str, Any], name: str) -> GridMap:
    """The map of one settings entry (``generator`` plus that generator's keyword arguments)."""
    kwargs = dict(settings)
    kind = kwargs.pop("generator", None)
    if kind not in GENERATORS:
        raise ValueError(f"map {name!r}: generator must be one of {', '.join(GENERATORS)}, got {kind!r}")
    return GENERATORS[kind](**kwargs, name=name)


@functools.lru_cache(maxsize=8)
def generated_map(name: str) -> GridMap:
    """A shipped generated map by name (built once per process; treat its arrays as read-only)."""
    settings = generated_settings()
    if name not in settings:
        raise KeyError(f"unknown generated map {name!r}; shipped: {', '.join(sorted(settings))}")
    return build(settings[name], name)
