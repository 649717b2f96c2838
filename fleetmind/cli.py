"""The ``fleetmind`` command: the app's subcommands (``list``, ``run``, ``demo``, ``llm``, ``bench``, ``replay``) plus
``up`` from the ROS edge. It sits above both layers, so neither imports the other's command line."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from fleetmind.app.cli import build_parser, run_command

EXIT_STDOUT_CLOSED = 141  # 128 + SIGPIPE: what a tool killed by SIGPIPE reports


def _up(args: argparse.Namespace) -> int:
    from fleetmind.ros.up_cli import run_from_args

    return run_from_args(args)


def _stdout_closed() -> int:
    """The reader of stdout went away (``fleetmind list | head -1``): no traceback, no error line. CPython's recipe
    (``signal`` docs, "Note on SIGPIPE"): point stdout at devnull so the flush at exit cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # no file descriptor (a test's captured stdout): nothing left to flush into
        pass
    return EXIT_STDOUT_CLOSED


def _main(argv: Sequence[str] | None) -> int:
    parser, sub = build_parser()
    from fleetmind.ros.up_cli import add_arguments as add_up_arguments

    add_up_arguments(sub.add_parser("up", help="start a scenario's ROS 2 nodes as processes (no `ros2 launch`)"))
    return run_command(parser.parse_args(argv), {"up": _up})


def main(argv: Sequence[str] | None = None) -> int:
    try:
        try:
            code = _main(argv)
        finally:  # also after --help's SystemExit: what is still buffered goes out here, not at interpreter exit
            sys.stdout.flush()
    except BrokenPipeError:
        return _stdout_closed()
    return code


if __name__ == "__main__":
    sys.exit(main())
