"""fleetmind: multi-robot LLM planning and hardware control.

Layers (imports only go down; ``tests/test_layers.py`` enforces them):
``robots`` <- ``tasks`` <- {``sim``, ``planners``, ``firmware_bridge``} <- ``testing`` <- ``app`` <- ``ros`` <- ``cli``.

Installed, ``fleetmind.robots`` etc. are sub-packages (``setup.py`` maps the repository's top-level folders under
``fleetmind``). Run from a source checkout that is not installed (e.g. the pogema benchmark venv puts the repository
on ``sys.path``), the checkout's root joins this package's path so the same names resolve to the same folders.
"""

import hashlib as _hashlib
import importlib.util as _importlib_util
import os as _os
import shutil as _shutil
import sys as _sys
import time as _time
from pathlib import Path as _Path

__version__ = "0.1.0"

_root = _Path(__file__).resolve().parent.parent
if (_root / "package.xml").is_file() and (_root / "setup.py").is_file() and (_root / "robots").is_dir():
    __path__.append(str(_root))  # noqa: F821 - a package's __path__

KERNEL_PACKAGES = ("robots", "tasks", "sim", "planners")  # where the numba kernels (``*_kernels.py``) live


def kernel_sources_key(paths: list[_Path]) -> str:
    """16 hex digits of a hash over the given kernel files' names and contents."""
    digest = _hashlib.sha256()
    for path in sorted(paths):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


STALE_CACHE_DAYS = 30.0
"""A keyed numba cache folder unused (not imported from) this long is removed when a new one is made."""


def prune_stale_caches(base: _Path, keep: _Path, now: float, days: float = STALE_CACHE_DAYS) -> list[_Path]:
    """Remove the folders under ``base`` other than ``keep`` last used (modified) more than ``days`` ago: every
    kernel change starts a new keyed cache, and nothing else would ever remove the old ones. Returns those removed."""
    removed = []
    for folder in base.iterdir():
        try:
            stale = folder != keep and folder.is_dir() and now - folder.stat().st_mtime > days * 86400.0
        except OSError:
            continue
        if stale:
            _shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed


def _key_numba_cache() -> None:
    """Numba's on-disk cache (``cache=True``) checks only the file of the function it caches, not the kernels that
    function calls from other files: after an update that changes only a callee, a stale cache loads old machine
    code (or fails with ``NRT_adapt_ndarray_to_python 'descr' is NULL``). So the cache lives in a folder keyed on the
    contents of every kernel module (``$XDG_CACHE_HOME/fleetmind/numba/<key>``): any kernel change starts a fresh
    cache, and making one removes the keyed folders unused for ``STALE_CACHE_DAYS``. A ``NUMBA_CACHE_DIR`` set by the
    user is kept; nothing is done once numba is imported."""
    if "NUMBA_CACHE_DIR" in _os.environ or "numba" in _sys.modules:
        return
    files: list[_Path] = []
    for name in KERNEL_PACKAGES:
        spec = _importlib_util.find_spec(f"{__name__}.{name}")
        for folder in (spec.submodule_search_locations or []) if spec else []:
            files.extend(_Path(folder).rglob("*_kernels.py"))
    base = _Path(_os.environ.get("XDG_CACHE_HOME") or _Path.home() / ".cache") / "fleetmind" / "numba"
    cache = base / kernel_sources_key(files)
    try:
        new = not cache.is_dir()
        cache.mkdir(parents=True, exist_ok=True)
        _os.utime(cache)  # its last use, for prune_stale_caches
        if new:
            prune_stale_caches(base, cache, _time.time())
    except OSError:  # no writable cache home: numba's own default (__pycache__ beside the sources)
        return
    _os.environ["NUMBA_CACHE_DIR"] = str(cache)


_key_numba_cache()
del _root
