"""fleetmind: multi-robot LLM planning and hardware control.

Layers (imports only go down; ``tests/test_layers.py`` enforces them):
``robots`` <- ``tasks`` <- {``sim``, ``planners``, ``firmware_bridge``} <- ``testing`` <- ``app`` <- ``ros`` <- ``cli``.

Installed, ``fleetmind.robots`` etc. are sub-packages (``setup.py`` maps the repository's top-level folders under
``fleetmind``). Run from a source checkout that is not installed (e.g. the pogema benchmark venv puts the repository
on ``sys.path``), the checkout's root joins this package's path so the same names resolve to the same folders.
"""

from pathlib import Path as _Path

__version__ = "0.1.0"

_root = _Path(__file__).resolve().parent.parent
if (_root / "package.xml").is_file() and (_root / "setup.py").is_file() and (_root / "robots").is_dir():
    __path__.append(str(_root))  # noqa: F821 - a package's __path__
del _Path, _root
