"""Where fleetmind's data files live: scenarios, config, URDFs and MAPF maps.

A plain (non-symlink) install puts them under ``share/fleetmind/<kind>`` (``setup.py`` ``data_files``); ROS finds
that folder through ``ament_index_python`` (``get_package_share_directory``), a pip install under ``sys.prefix``.
A source checkout keeps them in the repository's own folders, which come first so that edits there count.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

log = logging.getLogger(__name__)

PACKAGE = "fleetmind"
KINDS: dict[str, str] = {
    "scenarios": "scenarios",
    "config": "config",
    "launch": "launch",
    "urdf": "robots/urdf",
    "maps": "tasks/mapf_lifelong/maps",
}
"""Data kind -> its folder in a source checkout; installed, each is ``share/fleetmind/<kind>``."""
SOURCE_ROOT = Path(__file__).resolve().parents[1]
"""The repository root in a source checkout (in an install: site-packages/fleetmind, where no data folder is)."""


def ament_share() -> Path | None:
    """``share/fleetmind`` as the ament index knows it (``AMENT_PREFIX_PATH``), or ``None`` (no ROS / not found)."""
    try:
        from ament_index_python.packages import PackageNotFoundError, get_package_share_directory
    except ImportError:
        return None
    try:
        return Path(get_package_share_directory(PACKAGE))
    except (PackageNotFoundError, ValueError, LookupError, OSError):  # OSError: AMENT_PREFIX_PATH unset
        return None


def share_dirs() -> list[Path]:
    """Installed ``share/fleetmind`` folders, in lookup order: the ament index's, then ``sys.prefix``'s."""
    out: list[Path] = []
    for d in (ament_share(), Path(sys.prefix) / "share" / PACKAGE):
        if d is not None and d.is_dir() and d not in out:
            out.append(d)
    return out


def data_dirs(kind: str) -> list[Path]:
    """Every existing folder of one data ``kind`` (see :data:`KINDS`): the source checkout's, then installed ones."""
    if kind not in KINDS:
        raise ValueError(f"unknown data kind {kind!r}; known: {', '.join(KINDS)}")
    found = [SOURCE_ROOT / KINDS[kind]] + [d / kind for d in share_dirs()]
    return [d for d in found if d.is_dir()]


def data_file(kind: str, name: str) -> Path:
    """The first ``<kind>/<name>`` found; ``FileNotFoundError`` naming the folders searched."""
    dirs = data_dirs(kind)
    for d in dirs:
        if (d / name).is_file():
            return d / name
    where = ", ".join(str(d) for d in dirs) or f"no {kind} folder (source checkout or share/{PACKAGE}/{kind})"
    raise FileNotFoundError(f"{kind} file {name!r} not found in {where}")
