"""``fleetmind bench llm`` command line: arguments, validation and the printed table."""

from __future__ import annotations

import argparse
import os
import platform
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, get_args

from fleetmind.app.argtypes import comma_list, positive
from fleetmind.app.bench import earlier_rows, merge_rows, paper_sizes, run_bench, write_tables
from fleetmind.app.run_summary import what_to_check
from fleetmind.planners.llm.config import Backend, HistoryMode, LLMSettings
from fleetmind.planners.registry import LLM_PLANNERS as FRAMEWORKS
from fleetmind.planners.registry import check_plays
from fleetmind.robots.errors import BadInputError
from fleetmind.robots.outputs import check_output_dir


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--quick", action="store_true", help="smallest size of each task, 2 seeds")
    p.add_argument("--llm", default="oracle", help="backend: oracle, oracle-faulty, local, openai (default: oracle)")
    p.add_argument("--frameworks", default=",".join(FRAMEWORKS), help="comma list (default: all four)")
    p.add_argument("--tasks", default=",".join(paper_sizes()), help="comma list (default: all four)")
    p.add_argument("--sizes", default=None, help="comma list, e.g. 2x2,4 (default: all paper sizes; --quick: smallest)")
    p.add_argument("--seeds", type=positive, default=None, help="seeds per cell (default 5; --quick 2)")
    p.add_argument("--history", default="state_action", help="comma list of history modes")
    p.add_argument("--hints", default=None, help="comma list of on/off (default: the backend's default)")
    p.add_argument("--out", type=Path, default=Path("runs/bench_llm"), help="output folder")
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="replace OUT/llm.json of another bench (other --llm or --seeds) or an unreadable one; without it the "
        "cells run are added to the same bench's tables and any other is refused",
    )


def run_from_args(args: argparse.Namespace) -> int:
    if args.llm not in get_args(Backend):
        raise BadInputError(f"--llm: unknown backend {args.llm!r}; choose one of {', '.join(get_args(Backend))}")
    frameworks = comma_list(args.frameworks, "--frameworks", FRAMEWORKS, "framework")
    sizes_of = paper_sizes()
    tasks = comma_list(args.tasks, "--tasks", list(sizes_of), "task")
    histories = comma_list(args.history, "--history", get_args(HistoryMode), "history mode")
    hints = (
        [None]
        if args.hints is None
        else [h == "on" for h in comma_list(args.hints, "--hints", ("on", "off"), "setting")]
    )
    for f in frameworks:  # before any row runs: every framework must play every chosen task
        for t in tasks:
            check_plays(f, t, "--frameworks")
    chosen = args.sizes.split(",") if args.sizes else None
    sizes = {t: [s for s in sizes_of[t] if chosen is None or s in chosen] for t in tasks}
    if args.quick and not chosen:
        sizes = {t: sizes_of[t][:1] for t in tasks}
    if any(not v for v in sizes.values()):
        empty = ", ".join(t for t, v in sizes.items() if not v)
        raise BadInputError(f"--sizes {args.sizes!r} matches no size of {empty}")
    seeds = args.seeds if args.seeds is not None else (2 if args.quick else 5)
    check_output_dir(args.out, "--out")  # before any row runs
    meta = {
        "llm": args.llm,
        "machine": f"{platform.node()} {platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}",
        "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "seeds": seeds,
        "token_counts": "server usage where reported; reference layout estimated at 4 characters per token",
    }
    earlier = earlier_rows(args.out, meta, args.overwrite)  # before any row runs

    def write(rows: list[dict[str, Any]]) -> None:
        for row in rows:
            row.setdefault("run_at", meta["timestamp"])  # rows kept from earlier benches say when they ran
        write_tables(merge_rows(earlier, rows), args.out, meta)

    rows = run_bench(args.llm, frameworks, tasks, sizes, seeds, histories, hints, on_row=write)
    print(f"LLM benchmark on {meta['machine']} at {meta['timestamp']}")
    for r in rows:
        cell = f"  {r['framework']:<6} {r['task']:<9} {r['size']:<6} hints {r['hints']:<3} "
        infra = ", ".join(f"{k}: {v}" for k, v in r["infrastructure_failures"].items())
        if not r["episodes_ran"]:
            print(f"{cell}not run: every episode failed for infrastructure, not planning ({infra})")
            continue
        print(
            f"{cell}success {r['success_rate']:.2f} steps {r['mean_steps']:.1f} (oracle {r['oracle_mean_steps']:.1f}) "
            f"calls/ep {r['llm_calls_per_episode']:.1f} model s/solved {r['model_s_per_solved_episode']} "
            f"re-prompts/ep {r['reprompts_per_episode']:.1f} shield/ep {r['shield_rejections_per_episode']:.1f} "
            f"repeats {r['repeated_rejections']} "
            f"tokens/ep {r['tokens_per_episode']:.0f} "
            f"prompt vs reference {r['prompt_ratio_vs_reference']} overhead {r['overhead_ms_per_round']:.2f} ms/round"
            + (f" ({r['episodes_ran']} of {r['episodes']} ran; {infra})" if infra else "")
        )
    if earlier:
        table = merge_rows(earlier, rows)
        print(
            f"  the tables hold {len(table)} rows: {len(table) - len(rows)} kept from earlier benches, "
            f"{len(earlier) + len(rows) - len(table)} replaced by this one's"
        )
    print(f"tables: {args.out}/llm.json, llm.csv, llm.md, llm.png")
    if rows and not any(r["episodes_ran"] for r in rows):
        check = what_to_check([k for r in rows for k in r["infrastructure_failures"]], LLMSettings(backend=args.llm))
        sys.stdout.flush()
        print(
            f"fleetmind: error: no cell ran: every episode failed for infrastructure, not planning; check {check}",
            file=sys.stderr,
        )
        return 1  # as fleetmind run: no planning result at all
    return 0
