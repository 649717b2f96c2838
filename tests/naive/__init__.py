"""Plain-Python twins of the numba kernels (stumpy's habit): same inputs, same outputs, obvious code."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def assert_twins_hold_without_jit(test_file: str) -> None:
    """Re-run ``test_file``'s kernel-vs-twin tests with ``NUMBA_DISABLE_JIT=1`` (the kernels' Python source runs,
    so coverage sees it and the twins check it), in a subprocess, with a fixed hypothesis seed."""
    env = {**os.environ, "NUMBA_DISABLE_JIT": "1", "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", test_file]
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
