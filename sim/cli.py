"""The ``fleetmind`` command: ``list``, ``run``, ``demo``. Each subcommand calls a ``run(config)`` function."""

from __future__ import annotations

import argparse
import logging
import platform
import sys
from collections.abc import Sequence
from pathlib import Path

from tqdm import tqdm

from planners.base import UnknownPlannerError, available_planners, make_planner
from sim.runner import EpisodeRecord, RunConfig, RunResult, run
from sim.scenario import Scenario, ScenarioError, list_scenarios, load_scenario

DEFAULT_SCENARIO = "boxnet1_2x4"
EXIT_OK, EXIT_BAD_INPUT = 0, 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2
        self.exit(EXIT_BAD_INPUT, f"fleetmind: error: {message} (see `fleetmind {self.prog.split()[-1]} --help`)\n")


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="fleetmind", description="Multi-robot LLM planning: run scenarios, planners and benchmarks.")
    p.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)
    sub.add_parser("list", help="list scenarios and planners")
    r = sub.add_parser("run", help="run a planner on a scenario")
    r.add_argument("scenario", help="scenario file or name (e.g. scenarios/boxnet1_2x2.yaml or boxnet1_2x2)")
    _run_options(r)
    d = sub.add_parser("demo", help=f"run the default scenario ({DEFAULT_SCENARIO}) and show one episode")
    d.add_argument("--out", type=Path, default=Path("runs/demo"), help="output folder (default: runs/demo)")
    return p


def _run_options(r: argparse.ArgumentParser) -> None:
    r.add_argument("--planner", default=None, help="planner name (default: the scenario's run.planner)")
    r.add_argument("--seed", type=_nonneg, default=None, help="seed of the first episode (default: scenario's, 0)")
    r.add_argument("--episodes", type=_positive, default=None, help="episodes, seeds N .. N+K-1 (default: scenario's)")
    r.add_argument("--out", type=Path, default=None, help="output folder (default: runs/<scenario name>)")
    r.add_argument("-q", "--quiet", action="store_true", help="no progress bar")


def _nonneg(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {value}")
    return value


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def _summary(result: RunResult, out: Path) -> str:
    n = len(result.episodes)
    ok = sum(e.success for e in result.episodes)
    failures: dict[str, int] = {}
    for e in result.episodes:
        if not e.success:
            failures[e.failure_reason or "?"] = failures.get(e.failure_reason or "?", 0) + 1
    why = ", ".join(f"{k}: {v}" for k, v in sorted(failures.items()))
    lines = [
        f"{result.scenario} | planner {result.planner} | {n} episode(s): "
        f"success {ok}/{n} ({result.success_rate:.0%}), mean steps {result.mean_steps:.1f}"
        + (f" | failures {why}" if why else ""),
        f"metrics: {out / 'metrics.json'}",
        f"traces:  {out / 'episodes'}/seed_<N>.jsonl",
    ]
    return "\n".join(lines)


def cmd_run(scenario: Scenario, args: argparse.Namespace) -> int:
    out = args.out or Path("runs") / scenario.name
    config = RunConfig(scenario=scenario, planner=args.planner, seed=args.seed, episodes=args.episodes, out=out)
    seeds = config.seeds
    with tqdm(total=len(seeds), desc=scenario.name, unit="ep", disable=args.quiet or None, file=sys.stderr) as bar:

        def tick(record: EpisodeRecord) -> None:
            bar.update(1)
            bar.set_postfix(success=f"{record.success}", steps=record.steps)

        result = run(config, on_episode=tick)
    print(_summary(result, out))
    return EXIT_OK


def cmd_list() -> int:
    found = list_scenarios()
    print(f"scenarios ({len(found)}):")
    for path, sc in found:
        if isinstance(sc, ScenarioError):
            print(f"  {path.stem:<16} INVALID: {sc}")
        else:
            print(f"  {sc.name:<16} {sc.world.task:<10} {sc.size:<22} {sc.description}")
    print(f"planners: {', '.join(available_planners())}")
    return EXIT_OK


def cmd_demo(args: argparse.Namespace) -> int:
    scenario = load_scenario(DEFAULT_SCENARIO)
    print(f"fleetmind demo on {platform.node() or 'this machine'}: {scenario.description}")
    fleet = scenario.make_fleet()
    planner = make_planner("oracle", scenario.world.task)
    obs = fleet.reset(0)
    planner.reset(obs, 0)
    print("episode seed 0, start:\n  " + obs.text.replace("\n", "\n  "))
    while True:
        commands = planner.plan(obs)
        result = fleet.step(commands)
        obs = result.observation
        plan = "; ".join(f"{r}: {commands[r].text}" for r in fleet.robot_ids if r in commands) or "all wait"
        print(f"step {obs.step:>2}: {plan}  [boxes left {result.metrics.get('boxes_left')}]")
        if result.done:
            break
    fleet.close()
    args.planner, args.seed, args.episodes, args.quiet = "oracle", 0, 10, True
    code = cmd_run(scenario, args)
    print(f"demo outputs are in {args.out}/ (metrics.json and one trace per episode)")
    return code


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    try:
        if args.command == "list":
            return cmd_list()
        if args.command == "demo":
            return cmd_demo(args)
        return cmd_run(load_scenario(args.scenario), args)
    except (ScenarioError, UnknownPlannerError, ValueError) as exc:
        print(f"fleetmind: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("fleetmind: interrupted; finished episodes are kept in metrics.json", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
