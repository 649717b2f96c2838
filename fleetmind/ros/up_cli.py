"""``fleetmind up`` command line: arguments and the printed summary (the process work is in :mod:`fleetmind.ros.up`)."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

from fleetmind.robots.errors import BadInputError
from fleetmind.robots.outputs import check_output_dir
from fleetmind.ros.up import UpConfig, summary, up


def add_arguments(p: Any) -> None:
    """``fleetmind up`` options (registered by :mod:`fleetmind.cli`)."""
    from fleetmind.app.argtypes import nonneg, positive_seconds
    from fleetmind.app.cli import add_llm_options

    p.add_argument("scenario", help="scenario file or name (e.g. scenarios/boxnet1_2x2.yaml)")
    p.add_argument("--planner", default=None, help="planner (default: the scenario's); dmas/hmas1/hmas2 add agents")
    p.add_argument(
        "--timeout", type=positive_seconds, default=300.0, help="give up after this many seconds (default: 300)"
    )
    p.add_argument(
        "--record",
        type=Path,
        nargs="?",
        const=Path("auto"),
        default=None,
        help="record the fleet topics as an MCAP rosbag2 in this new folder (default: runs/up/bag-<time>)",
    )
    p.add_argument("--seed", type=nonneg, default=None, help="episode seed (default: the scenario's)")
    p.add_argument("--heartbeat-timeout", type=positive_seconds, default=2.0, help="drop a silent agent after this (s)")
    p.add_argument("--log-dir", type=Path, default=Path("runs/up"), help="process logs (default: runs/up)")
    add_llm_options(p)


def run_from_args(args: Any) -> int:
    from fleetmind.app.cli import llm_settings
    from fleetmind.app.scenario import load_scenario
    from fleetmind.planners.registry import check_plays

    scenario = load_scenario(args.scenario)
    # refused here, before the model server's line or any process (it printed the endpoint first)
    check_plays(
        args.planner or scenario.run.planner,
        scenario.world.task,
        "--planner" if args.planner else f"{scenario.name}: run.planner",
    )
    config = UpConfig(
        scenario=args.scenario,
        planner=args.planner or scenario.run.planner,
        llm=llm_settings(scenario.run.llm, args),
        timeout_s=args.timeout,
        record=Path(time.strftime("runs/up/bag-%Y%m%d-%H%M%S")) if args.record == Path("auto") else args.record,
        seed=args.seed,
        heartbeat_timeout_s=args.heartbeat_timeout,
        log_dir=args.log_dir,
    )
    check_output_dir(config.log_dir, "--log-dir")  # before any process starts
    if config.record is not None:
        if config.record.exists():
            raise BadInputError(f"--record {config.record}: already exists; give a new folder for the bag")
        check_output_dir(config.record, "--record")
    from fleetmind.app.llm import endpoint_text
    from fleetmind.app.outcomes import INFRASTRUCTURE
    from fleetmind.app.run_summary import what_to_check
    from fleetmind.planners.registry import LLM_PLANNERS

    if config.planner in LLM_PLANNERS:
        print(endpoint_text(config.llm), flush=True)
    try:
        result = up(config)
    except KeyboardInterrupt:
        print("fleetmind up: interrupted; every process was stopped", file=sys.stderr)
        return 130
    if result.bad_input:  # a node refused its parameters before the episode started: exit 2, one line
        raise BadInputError(result.aborted or "a node refused its parameters")
    print(summary(config, result))
    if config.record and result.ran:
        print(f"rosbag2 (MCAP): {config.record}")
    if result.ran and result.failure_reason in INFRASTRUCTURE:  # as fleetmind run: no planning result, exit 1
        check = what_to_check([result.failure_reason], config.llm, "the world node's log names each link")
        sys.stdout.flush()
        print(
            f"fleetmind: error: no episode ran: it failed for infrastructure, not planning ({result.failure_reason}); "
            f"check {check}",
            file=sys.stderr,
        )
        return 1
    return 0 if result.ran else 1
