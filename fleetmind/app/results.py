"""Result files a later run extends instead of replacing: ``metrics.json`` of ``fleetmind run``, ``llm.json`` of
``fleetmind bench llm``. Each says which run made it (its ``run`` object); a later run adds to it only when that
matches, and otherwise (or when the file cannot be read) is refused with one line naming the file, the difference
and the fix, unless ``--overwrite``. Nothing is ever replaced silently, and :func:`write_json` replaces a file
atomically, so a crash never leaves half of one."""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

from fleetmind.robots.errors import BadInputError

log = logging.getLogger(__name__)

OVERWRITE_FIX = "pass --overwrite to replace it, or choose another --out"
T = TypeVar("T")


def difference(old: Any, new: Any, where: str = "") -> str | None:
    """The first setting that differs, as ``where old (this run: new)``; None when equal."""
    if isinstance(old, dict) and isinstance(new, dict):
        for key in [*new, *(k for k in old if k not in new)]:
            found = difference(old.get(key), new.get(key), f"{where}.{key}" if where else str(key))
            if found:
                return found
        return None
    return None if old == new else f"{where} {old!r} (this run: {new!r})"


def seed_ranges(seeds: Iterable[int]) -> str:
    """``0-4, 7, 9-10``: sorted seeds as ranges."""
    parts: list[tuple[int, int]] = []
    for seed in sorted(set(seeds)):
        if parts and parts[-1][1] == seed - 1:
            parts[-1] = (parts[-1][0], seed)
        else:
            parts.append((seed, seed))
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in parts)


def load_earlier(
    path: Path, identity: dict[str, Any], overwrite: bool, rows_key: str, parse: Callable[[Any], T]
) -> list[T]:
    """The rows (``data[rows_key]``, each through ``parse``) of the result file ``path`` when its ``run`` equals
    ``identity``; none when there is no file or ``overwrite`` (which logs that it is replaced).

    Raises :class:`BadInputError` naming ``path`` and the fix for another run's file, an unreadable one, one
    without a ``run`` (an older fleetmind) or a row ``parse`` refuses (``ValueError``). Writes nothing."""
    if not os.path.lexists(path):
        return []
    if overwrite:
        log.warning("%s: replacing the earlier results (--overwrite)", path)
        return []
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise BadInputError(f"{path}: cannot read the earlier results ({reason}); {OVERWRITE_FIX}") from None
    if not isinstance(data, dict) or not isinstance(data.get(rows_key), list):
        raise BadInputError(f"{path}: not a fleetmind result file (no {rows_key} list); {OVERWRITE_FIX}")
    if not isinstance(data.get("run"), dict):
        raise BadInputError(f"{path}: does not say which settings made it (an older fleetmind); {OVERWRITE_FIX}")
    differs = difference(data["run"], identity)
    if differs:
        raise BadInputError(f"{path}: holds results of another run: {differs}; {OVERWRITE_FIX}")
    try:
        return [parse(row) for row in data[rows_key]]
    except ValueError as exc:
        raise BadInputError(f"{path}: {exc}; {OVERWRITE_FIX}") from None


def _replace_atomically(path: Path, fill: Callable[[str], None]) -> None:
    """``fill`` writes a temporary file beside ``path`` (its name given), which then replaces ``path`` by a rename: a
    crash (a full disk, an object json cannot write) leaves the old file and no temporary behind."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    os.close(fd)
    try:
        fill(tmp)
        os.chmod(tmp, 0o644)  # mkstemp makes it private; results are for everyone who can read the folder
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json(path: Path, data: Any, sort_keys: bool = False) -> None:
    """Write atomically: a crash never leaves a half-written file behind."""

    def fill(tmp: str) -> None:
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=2, sort_keys=sort_keys)
            f.write("\n")

    _replace_atomically(path, fill)


def write_trace(path: Path, trace: Iterable[dict[str, Any]]) -> None:
    """One JSON object per line (an episode's trace, a model's calls)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as f:
        for row in trace:
            f.write(json.dumps(row) + "\n")


def copy_atomic(src: Path, dst: Path) -> None:
    """Copy ``src`` over ``dst`` through a temporary file beside it and a rename: a crash leaves the old ``dst``."""
    _replace_atomically(dst, lambda tmp: shutil.copyfile(src, tmp))
