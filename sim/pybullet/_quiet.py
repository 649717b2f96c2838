"""Keep pybullet's banner ("pybullet build time: ...") and b3Warning lines out of user output.

pybullet prints from C to file descriptors 1 and 2, so ``contextlib.redirect_stdout`` cannot catch it;
:func:`quiet_fds` points both descriptors at ``/dev/null`` for the duration of a block.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from types import ModuleType


@contextlib.contextmanager
def quiet_fds() -> Iterator[None]:
    """Silence C-level writes to fd 1 and 2 (Python's own streams are flushed first)."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    saved: list[tuple[int, int]] = []
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        for fd in (1, 2):
            try:
                saved.append((fd, os.dup(fd)))
                os.dup2(devnull, fd)
            except OSError:  # pragma: no cover - fd closed (embedded interpreters)
                continue
        yield
    finally:
        for fd, copy in saved:
            os.dup2(copy, fd)
            os.close(copy)
        os.close(devnull)


def import_pybullet() -> tuple[ModuleType, str]:
    """``(pybullet, pybullet_data path)``, imported without the banner."""
    if "pybullet" in sys.modules:
        import pybullet
        import pybullet_data

        return pybullet, pybullet_data.getDataPath()
    try:
        with quiet_fds():
            import pybullet
            import pybullet_data
    except ImportError:
        from fleetmind.robots.errors import BadInputError

        raise BadInputError(
            "world.backend: pybullet needs the optional pybullet package (wheels for Python <= 3.11): "
            "pip install 'fleetmind[pybullet]', or use backend: grid"
        ) from None
    return pybullet, pybullet_data.getDataPath()
