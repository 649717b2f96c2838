"""Output paths checked before any work runs: a folder or file the command line will write must be writable now,
not after the first episode (minutes with an LLM). Nothing is created here; a probe file is made and removed."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from fleetmind.robots.errors import BadInputError


def _nearest_existing(path: Path) -> Path:
    """``path`` itself or its closest ancestor that exists (``.`` for a relative path with none)."""
    for candidate in (path, *path.parents):
        if os.path.lexists(candidate):
            return candidate
    return Path(".")


def _probe(folder: Path, option: str, path: Path) -> None:
    """Create and remove a file in ``folder``; a failure is bad input naming ``option``."""
    try:
        fd, name = tempfile.mkstemp(prefix=".fleetmind-write-test-", dir=folder)
    except OSError as exc:
        raise BadInputError(
            f"{option} {path}: cannot write in {folder} ({exc.strerror or exc}); give a writable folder"
        ) from None
    os.close(fd)
    os.unlink(name)


def check_output_dir(path: str | Path, option: str) -> Path:
    """``path`` is an existing writable folder, or a new one that can be created in a writable folder.

    Raises :class:`BadInputError` (one line naming ``option``) for a file, a device, a read-only place or a
    pseudo file system such as ``/proc``."""
    path = Path(path)
    found = _nearest_existing(path)
    if not found.is_dir():
        what = "is not a folder" if found == path else f"cannot be created: {found} is not a folder"
        raise BadInputError(f"{option} {path}: {what}; give a new or existing folder")
    _probe(found, option, path)
    return path


def check_output_file(path: str | Path, option: str) -> Path:
    """``path`` can be written as a file: not a folder, and its folder exists and is writable or can be created."""
    path = Path(path)
    if path.is_dir():
        raise BadInputError(f"{option} {path}: is a folder; give a file name (e.g. {path / 'out.gif'})")
    if path.exists():
        if not os.access(path, os.W_OK):
            raise BadInputError(f"{option} {path}: the file is not writable; give another file name")
        return path
    found = _nearest_existing(path.parent)
    if not found.is_dir():
        raise BadInputError(f"{option} {path}: cannot be created: {found} is not a folder; give another file name")
    _probe(found, option, path)
    return path
