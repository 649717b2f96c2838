"""Grid maps for MAPF with POGEMA's conventions: loaders (string maps, MovingAI ``.map``) and generators.

A map is a :class:`GridMap`: ``obstacles`` is ``(H, W) bool`` (True = blocked); optional ``starts`` /
``targets`` masks ``(H, W) bool`` restrict where agents start and where goals are drawn (POGEMA's ``@`` and
``$`` cells, e.g. the ``wfi_warehouse`` map). Cells are addressed row-major, ``cell = row * W + col``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

MAPS_DIR = Path(__file__).resolve().parent / "maps"
FREE_CHARS = frozenset(".!@$GSTW ")  # MovingAI: '.', 'G', 'S' passable; 'W', 'T', '@' and 'O' are not
_MOVINGAI_BLOCKED = frozenset("@OTW")


@dataclass(frozen=True, eq=False)
class GridMap:
    """A 4-connected grid map. ``obstacles``: ``(H, W) bool``; ``starts``/``targets``: ``(H, W) bool`` or None."""

    name: str
    obstacles: np.ndarray
    starts: np.ndarray | None = None
    targets: np.ndarray | None = None

    @property
    def shape(self) -> tuple[int, int]:
        return (int(self.obstacles.shape[0]), int(self.obstacles.shape[1]))

    @property
    def free_cells(self) -> np.ndarray:
        """``(F,) int64`` row-major indices of the free cells."""
        return np.flatnonzero(~self.obstacles.ravel())

    def to_string(self) -> str:
        """The map as POGEMA string rows (``.`` free, ``#`` obstacle)."""
        return "\n".join("".join("#" if b else "." for b in row) for row in self.obstacles)


def parse_string_map(text: str, name: str = "string_map") -> GridMap:
    """A POGEMA string map: ``#`` obstacle; free cells: ``.`` (start or goal), ``@`` (start only), ``$`` (goal
    only), ``!`` (neither)."""
    rows = [ln.strip() for ln in text.strip("\n").splitlines() if ln.strip()]
    if not rows or len({len(r) for r in rows}) != 1:
        raise ValueError(f"map {name!r}: rows must be non-empty and of equal length")
    bad = {ch for r in rows for ch in r} - set(".!@$#")
    if bad:
        raise ValueError(f"map {name!r}: unknown characters {sorted(bad)}; use '.', '!', '@', '$', '#'")
    chars = np.array([list(r) for r in rows])
    if not np.isin(chars, ["@", "$", "!"]).any():
        return GridMap(name=name, obstacles=chars == "#")
    # POGEMA: '.' may hold starts and goals, '@' starts only, '$' goals only, '!' neither
    return GridMap(
        name=name, obstacles=chars == "#", starts=np.isin(chars, [".", "@"]), targets=np.isin(chars, [".", "$"])
    )


MAX_SIDE = 2048
"""Longest side of a MovingAI map file read (the benchmark's largest are ~1,000 cells)."""


def load_movingai(path: str | Path) -> GridMap:
    """A MovingAI benchmark ``.map`` file (``type octile``, ``height``, ``width``, ``map``, then rows)."""
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    header: dict[str, str] = {}
    i = 0
    while i < len(lines) and lines[i].strip() != "map":
        parts = lines[i].split()
        if len(parts) == 2:
            header[parts[0]] = parts[1]
        i += 1
    if i == len(lines) or "height" not in header or "width" not in header:
        raise ValueError(f"{path}: not a MovingAI map (needs height, width and a 'map' line)")
    h, w = int(header["height"]), int(header["width"])
    if not (0 < h <= MAX_SIDE and 0 < w <= MAX_SIDE):
        raise ValueError(f"{path}: a {h}x{w} map; sides of 1 to {MAX_SIDE} cells are read")
    rows = [ln.rstrip("\r\n") for ln in lines[i + 1 : i + 1 + h]]
    if len(rows) != h or any(len(r) < w for r in rows):
        raise ValueError(f"{path}: expected {h} rows of {w} characters")
    obstacles = np.array([[ch in _MOVINGAI_BLOCKED for ch in r[:w]] for r in rows], dtype=bool)
    return GridMap(name=Path(path).stem, obstacles=obstacles)


@functools.cache
def _bundled() -> dict[str, str]:
    data = yaml.safe_load((MAPS_DIR / "test-maps.yaml").read_text(encoding="utf-8"))
    return {str(k): str(v) for k, v in data.items()}


def map_names() -> list[str]:
    """Names of the bundled maps (the learn-to-follow test maps) and of the generated large maps
    (``maps/generated.yaml``: ``lorr_warehouse_140x500``, ``random_256x256_d20``, ``Paris_1_256`` ...)."""
    from fleetmind.tasks.mapf_lifelong.generators import generated_settings

    return sorted([*_bundled(), *generated_settings()])


def named_map(name: str) -> GridMap:
    """A bundled or generated map by name (``wfi_warehouse``, ``pico_s00_od20_na32``, ``lorr_warehouse_140x500``), or
    a MovingAI ``.map`` file by its path."""
    from fleetmind.tasks.mapf_lifelong.generators import generated_map, generated_settings

    if name.endswith(".map"):  # a MovingAI file of the user's (scenarios: ``world.map: path/to/x.map``)
        return load_movingai(name)
    maps = _bundled()
    if name in generated_settings():
        return generated_map(name)
    if name not in maps:
        raise KeyError(f"unknown map {name!r}; maps: {', '.join(map_names())}")
    return parse_string_map(maps[name], name)


def random_map(height: int, width: int, density: float, seed: int) -> GridMap:
    """Obstacles drawn i.i.d. with probability ``density`` (seeded), as POGEMA's random generator."""
    if not 0.0 <= density < 1.0:
        raise ValueError(f"density must be in [0, 1), got {density}")
    rng = np.random.default_rng(seed)
    obstacles = rng.binomial(1, density, (height, width)).astype(bool)
    return GridMap(name=f"random_{height}x{width}_d{density:g}_s{seed}", obstacles=obstacles)


def maze_map(height: int, width: int, seed: int, extra_openings: float = 0.1) -> GridMap:
    """A seeded maze (depth-first carving on odd cells) with a fraction of walls knocked out for loops."""
    rng = np.random.default_rng(seed)
    obstacles = np.ones((height, width), dtype=bool)
    cells_r, cells_c = (height + 1) // 2, (width + 1) // 2
    seen = np.zeros((cells_r, cells_c), dtype=bool)
    stack = [(0, 0)]
    seen[0, 0] = True
    obstacles[0, 0] = False
    while stack:
        r, c = stack[-1]
        options = [
            (r + dr, c + dc)
            for dr, dc in ((-1, 0), (1, 0), (0, -1), (0, 1))
            if 0 <= r + dr < cells_r and 0 <= c + dc < cells_c and not seen[r + dr, c + dc]
        ]
        if not options:
            stack.pop()
            continue
        nr, nc = options[int(rng.integers(len(options)))]
        seen[nr, nc] = True
        obstacles[2 * nr, 2 * nc] = False
        obstacles[r + nr, c + nc] = False  # the wall between (2r, 2c) and (2nr, 2nc)
        stack.append((nr, nc))
    walls = np.argwhere(obstacles)
    if len(walls):
        knock = walls[rng.random(len(walls)) < extra_openings]
        obstacles[knock[:, 0], knock[:, 1]] = False
    return GridMap(name=f"maze_{height}x{width}_s{seed}", obstacles=obstacles)


def warehouse_map(shelf_rows: int = 8, shelf_blocks: int = 3, shelf_length: int = 10) -> GridMap:
    """The POGEMA warehouse layout; the defaults give the 33x46 ``wfi_warehouse`` map exactly.

    Each shelf band is three rows (goal cells ``$`` / shelves ``#`` / goal cells ``$``) between aisles; agents
    start in the ``@`` parking columns on both sides.
    """
    side = "!@@!@@!"
    mid = ["!".join(ch * shelf_length for _ in range(shelf_blocks)) for ch in ("$", "#", "$")]
    width = 2 * len(side) + len(mid[0])
    rows = ["!" * width]
    for _ in range(shelf_rows):
        rows += [side + m + side[::-1] for m in mid]
        rows.append("!" * width)
    return parse_string_map("\n".join(rows), "warehouse")
