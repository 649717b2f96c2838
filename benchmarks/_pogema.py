"""The POGEMA side of the benchmarks: the pogema venv, the POGEMA benchmark's own map sets, its published anchors.

pogema pins pydantic 1 and numpy < 2, so it lives in ``.venv-pogema/`` (git-ignored), made on first use from the
package registry. pogema-toolbox 0.1.1 (Apache-2.0) is installed there without its dependencies (wandb, dask, ...):
only its map generators are used, and they need numpy and PyYAML alone.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
VENV = ROOT / ".venv-pogema"
PINS = ["pogema==1.4.0", "gymnasium==0.28.1", "numpy<=1.26.4", "pydantic<=1.9.1", "numba==0.60.0", "PyYAML==6.0.2"]
NO_DEPS = ["pogema-toolbox==0.1.1"]
BENCHMARK_MAPS = VENV / "pogema-benchmark-maps.yaml"
SHARED_MAPS = ROOT.parent / "shared" / "maps"
CITY_TILE = re.compile(r"^(Berlin_1|Boston_0|London_2|Milan_0|Moscow_0|NewYork_1|Paris_1|Paris_2)_256_(0\d|1[0-5])$")
CITY_TILES = 128

# Published anchors of issue 4 (POGEMA benchmark, lifelong, mean avg_throughput): (map set, agents) -> (who, value,
# the maps they were measured on, or None when those are this map set).
ANCHORS: dict[tuple[str, int], tuple[str, float, str | None]] = {
    ("wfi_warehouse", 192): ("Follower", 3.94, None),
    ("wfi_warehouse", 128): ("RHCR", 3.49, None),
    ("validation-random", 64): ("RHCR", 3.82, None),
    ("validation-mazes", 64): ("RHCR", 2.59, None),
    ("city-tiles", 256): ("RHCR", 5.13, None),
    ("den520d", 256): ("RHCR", 5.13, "the 128 64x64 city tiles Berlin_1_256_00 ... Paris_2_256_15"),
    ("Paris_1", 256): ("RHCR", 5.13, "the 128 64x64 city tiles Berlin_1_256_00 ... Paris_2_256_15"),
}

# The published Follower (Skrynnik et al. 2024, learn-to-follow) on the same instances, the reference of issue 17's
# "decentralized >= the published Follower figures everywhere they exist": POGEMA benchmark raw data
# (raw_data_LMAPF/<set>/Follower.json), the mean of the per-map avg_throughput over the 128 maps at 64 agents, seed 0,
# 256 steps (random) or 128 (mazes), as its RHCR anchors; warehouse 192 is the figure above.
FOLLOWER_PUBLISHED: dict[tuple[str, int], float] = {
    ("wfi_warehouse", 192): 3.94,
    ("validation-random", 64): 2.465,
    ("validation-mazes", 64): 1.613,
}


def ensure_venv() -> Path:
    """The pogema venv's python, created (or brought up to the pins) on first use."""
    python = VENV / "bin" / "python"
    marker = VENV / ".fleetmind-pins"
    wanted = "\n".join(PINS + NO_DEPS)
    if python.exists() and marker.exists() and marker.read_text() == wanted:
        return python
    print(f"creating {VENV} with {' '.join(PINS + NO_DEPS)} ...", flush=True)
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(VENV)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "-q", *PINS], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-deps", *NO_DEPS], check=True)
    marker.write_text(wanted)
    BENCHMARK_MAPS.unlink(missing_ok=True)
    return python


def benchmark_maps() -> dict[str, str]:
    """The POGEMA benchmark's ``validation-random-seed-NNN`` and ``validation-mazes-seed-NNN`` maps (128 each) as
    string maps, generated once by pogema-toolbox in the pogema venv and cached next to it."""
    if not BENCHMARK_MAPS.exists():
        python = ensure_venv()
        tmp = BENCHMARK_MAPS.with_suffix(".tmp")
        subprocess.run([str(python), str(ROOT / "benchmarks" / "_pogema_maps.py"), str(tmp)], check=True)
        tmp.replace(BENCHMARK_MAPS)
    data = yaml.safe_load(BENCHMARK_MAPS.read_text(encoding="utf-8"))
    return {str(k): str(v) for k, v in data.items()}


def city_tiles(path: Path | None = None) -> dict[str, str]:
    """The POGEMA benchmark's MovingAI set: 64x64 tiles ``Berlin_1_256_00`` ... ``Paris_2_256_15`` (128) of eight
    MovingAI street maps, as string maps, from a YAML file of string maps (``path``) or from any YAML file under
    ``../shared/maps``. No registry package ships them, so without such a file this is empty."""
    files = [path] if path else sorted(SHARED_MAPS.rglob("*.yaml")) if SHARED_MAPS.is_dir() else []
    tiles: dict[str, str] = {}
    for f in files:
        try:
            data = yaml.safe_load(f.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            print(f"city tiles: skipping {f}: {exc}")
            continue
        if isinstance(data, dict):
            tiles.update({str(k): str(v) for k, v in data.items() if CITY_TILE.match(str(k))})
    return tiles
