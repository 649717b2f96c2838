"""Plain-Python twins of the numba kernels (stumpy's habit): same inputs, same outputs, obvious code."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
from hypothesis import settings
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parents[2]
NO_JIT = os.environ.get("NUMBA_DISABLE_JIT") == "1"
# Examples per kernel-vs-twin test in the re-run without the JIT: that run checks that the kernels' Python source
# runs and agrees with the twins (and gives coverage); the breadth is in the JIT run, with each test's own count.
NO_JIT_EXAMPLES = 15


def twin_settings(max_examples: int) -> settings:
    """``settings(max_examples=..., deadline=None)`` for a kernel-vs-twin property test: ``max_examples`` under the
    JIT, at most ``NO_JIT_EXAMPLES`` in the re-run without it (same fixed seed)."""
    return settings(max_examples=min(max_examples, NO_JIT_EXAMPLES) if NO_JIT else max_examples, deadline=None)


def assert_twins_hold_without_jit(test_file: str, *more: str) -> None:
    """Re-run ``test_file``'s (and ``more`` files') kernel-vs-twin tests with ``NUMBA_DISABLE_JIT=1`` (the kernels'
    Python source runs, so coverage sees it and the twins check it), in one subprocess, with a fixed hypothesis
    seed. Only hypothesis's pytest plugin is loaded (the others' entry points cost seconds of start-up each run)."""
    env = {**os.environ, "NUMBA_DISABLE_JIT": "1", "PYTHONPATH": str(ROOT), "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
    plugins = ["-p", "no:cacheprovider", "-p", "_hypothesis_pytestplugin"]
    command = [sys.executable, "-m", "pytest", "-q", "-x", *plugins, test_file, *more]
    done = subprocess.run(
        [*command, "-k", "not without_jit", "--hypothesis-seed=0"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert " passed" in done.stdout


def random_grid(draw, max_side: int) -> tuple[np.ndarray, np.ndarray, np.random.Generator]:
    """For ``st.composite`` strategies of the kernel tests: a random map of 2..``max_side`` rows and columns (0, 15 or
    30% obstacles, at least one free cell), its free cells and a generator seeded from the draw."""
    h, w = draw(st.integers(2, max_side)), draw(st.integers(2, max_side))
    rng = np.random.default_rng(draw(st.integers(0, 2**31 - 1)))
    blocked = rng.random((h, w)) < draw(st.sampled_from([0.0, 0.15, 0.3]))
    free = np.flatnonzero(~blocked.ravel())
    if len(free) == 0:
        blocked[0, 0] = False
        free = np.array([0])
    return blocked, free, rng
