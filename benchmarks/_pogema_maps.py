"""Runs INSIDE the pogema venv: writes the POGEMA benchmark's validation maps, made by pogema-toolbox's generators.

    .venv-pogema/bin/python benchmarks/_pogema_maps.py OUT.yaml

The lifelong settings of the POGEMA benchmark (the source of issue 4's RHCR anchors) use ``validation-random-seed-000``
to ``-127`` (random maps, 17-21 cells a side, 10-30 % obstacles: the random generator's defaults) and
``validation-mazes-seed-000`` to ``-127`` (mazes, 17-21 cells a side). The maze generator's defaults are 5-9 a side;
the benchmark's mazes are 17-21, so the sizes are set here. Checked cell by cell against the published maps
(mazes 000, 010, 025, 030, 031; random 000); the shapes and the wall-free maze 025 are re-checked on every run.
"""

from __future__ import annotations

import sys

import yaml
from pogema_toolbox.generators.maze_generator import MazeGenerator, MazeRangeSettings
from pogema_toolbox.generators.random_generator import MapRangeSettings, generate_map

SEEDS = range(128)


def main() -> int:
    maps: dict[str, str] = {}
    random_settings = MapRangeSettings()
    maze_settings = MazeRangeSettings(width_min=17, width_max=21, height_min=17, height_max=21)
    for seed in SEEDS:
        maps[f"validation-random-seed-{seed:03d}"] = generate_map(random_settings.sample(seed))
    for seed in SEEDS:
        maps[f"validation-mazes-seed-{seed:03d}"] = MazeGenerator.generate_maze(**maze_settings.sample(seed))
    shapes = {name: (len(m.splitlines()), len(m.splitlines()[0])) for name, m in maps.items()}
    expected = {"validation-random-seed-000": (20, 21), "validation-mazes-seed-000": (21, 21)}
    expected["validation-mazes-seed-003"] = (17, 21)
    for name, shape in expected.items():
        if shapes[name] != shape:
            raise SystemExit(f"{name}: generated {shapes[name]}, published {shape}: did pogema-toolbox change?")
    if "#" in maps["validation-mazes-seed-025"]:
        raise SystemExit("validation-mazes-seed-025 is wall-free as published: did pogema-toolbox change?")
    with open(sys.argv[1], "w", encoding="utf-8") as f:
        yaml.safe_dump(maps, f, default_style="|")
    return 0


if __name__ == "__main__":
    sys.exit(main())
