"""The ``fleetmind`` command: the app's subcommands (``list``, ``run``, ``demo``, ``llm``, ``bench``, ``replay``) plus
``up`` from the ROS edge. It sits above both layers, so neither imports the other's command line."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from fleetmind.app.cli import build_parser, run_command


def _up(args: argparse.Namespace) -> int:
    from fleetmind.ros.up_cli import run_from_args

    return run_from_args(args)


def main(argv: Sequence[str] | None = None) -> int:
    parser, sub = build_parser()
    from fleetmind.ros.up_cli import add_arguments as add_up_arguments

    add_up_arguments(sub.add_parser("up", help="start a scenario's ROS 2 nodes as processes (no `ros2 launch`)"))
    return run_command(parser.parse_args(argv), {"up": _up})


if __name__ == "__main__":
    sys.exit(main())
