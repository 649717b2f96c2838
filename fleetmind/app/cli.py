"""The ``fleetmind`` command: ``list``, ``run``, ``demo``. Each subcommand calls a ``run(config)`` function."""

from __future__ import annotations

import argparse
import logging
import os
import platform
import signal
import sys
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from tqdm import tqdm

from fleetmind.app.argtypes import nonneg, positive, threads_1_256
from fleetmind.app.llm import endpoint_text
from fleetmind.app.run_summary import merged, none_ran_line, summary
from fleetmind.app.runner import (
    EpisodeInterrupted,
    EpisodeRecord,
    RunConfig,
    StepInfo,
    earlier_episodes,
    run,
)
from fleetmind.app.scenario import BACKENDS, Scenario, ScenarioError, list_scenarios, load_scenario
from fleetmind.planners.llm import abort_llm_calls, resume_llm_calls
from fleetmind.planners.llm.config import LLMSettings
from fleetmind.planners.registry import LLM_PLANNERS, available_planners, check_plays
from fleetmind.robots.errors import BadInputError, ExpectedFailure, describe_validation
from fleetmind.robots.outputs import check_output_dir

DEFAULT_SCENARIO = "boxnet1_2x4"
DEMO_LLM_SCENARIO = "boxnet1_2x2"
EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2
EXIT_INTERRUPTED, EXIT_TERMINATED = 128 + signal.SIGINT, 128 + signal.SIGTERM  # 130, 143: the shell's codes
_OVERWRITE_HELP = (
    "replace OUT/metrics.json of another run (or an unreadable one); without it a run adds its seeds to the same "
    "run's metrics.json and refuses any other"
)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2
        self.exit(EXIT_BAD_INPUT, f"fleetmind: error: {message} (see `{self._command()} --help`)\n")

    def parse_known_args(self, args: Any = None, namespace: Any = None) -> Any:
        self._argv = list(sys.argv[1:] if args is None else args)  # for _command: the words given
        return super().parse_known_args(args, namespace)

    def _command(self) -> str:
        """The command whose help fits: this parser's own, or (the top-level parser reports unknown arguments for
        every subcommand) the subcommands named on the command line, e.g. ``fleetmind swarm run``."""
        words, parser = self.prog.split(), self
        if len(words) > 1:
            return " ".join(words)
        for arg in getattr(self, "_argv", ()):
            subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
            if not subs or arg not in subs[0].choices:
                continue
            parser = subs[0].choices[arg]
            words.append(arg)
        return " ".join(words)


def build_parser() -> tuple[argparse.ArgumentParser, Any]:
    """The ``fleetmind`` parser with the app's subcommands, and its subparsers (``fleetmind.cli`` adds ``up``)."""
    p = _Parser(prog="fleetmind", description="Multi-robot LLM planning: run scenarios, planners and benchmarks.")
    p.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)
    sub.add_parser("list", help="list scenarios and planners")
    r = sub.add_parser("run", help="run a planner on a scenario")
    r.add_argument("scenario", help="scenario file or name (e.g. scenarios/boxnet1_2x2.yaml or boxnet1_2x2)")
    _run_options(r)
    d = sub.add_parser("demo", help=f"an LLM framework on {DEMO_LLM_SCENARIO}, then the oracle on {DEFAULT_SCENARIO}")
    d.add_argument("--out", type=Path, default=Path("runs/demo"), help="output folder (default: runs/demo)")
    d.add_argument("--llm", default="local", help="LLM backend of the demo (default: local; oracle is instant)")
    d.add_argument("--planner", default="cmas", help="LLM framework of the demo (default: cmas)")
    d.add_argument("--overwrite", action="store_true", help=_OVERWRITE_HELP)
    llm = sub.add_parser("llm", help="the local model server")
    llm_sub = llm.add_subparsers(dest="llm_command", required=True, parser_class=_Parser)
    serve = llm_sub.add_parser("serve", help="start llama.cpp's server with the embedded model until Ctrl-C")
    serve.add_argument("--model", default="qwen2.5-coder-0.5b", help="local model (default: qwen2.5-coder-0.5b)")
    serve.add_argument("--threads", type=threads_1_256, default=2, help="CPU threads, 1 to 256 (default: 2)")
    bench = sub.add_parser("bench", help="benchmarks")
    bench_sub = bench.add_subparsers(dest="bench_command", required=True, parser_class=_Parser)
    from fleetmind.app.bench_cli import add_arguments

    add_arguments(bench_sub.add_parser("llm", help="LLM frameworks x tasks x sizes x seeds (paper Table I)"))
    from fleetmind.sim.record.cli import add_arguments as add_replay_arguments

    add_replay_arguments(sub.add_parser("replay", help="draw a recorded episode (.mcap) as a top-down GIF"))
    from fleetmind.app.swarm_cli import add_arguments as add_swarm_arguments

    add_swarm_arguments(sub.add_parser("swarm", help="swarm tasks: tune, train (Dec-POMFC) and run controllers"))
    return p, sub


def _run_options(r: argparse.ArgumentParser) -> None:
    r.add_argument("--planner", default=None, help="planner name (default: the scenario's run.planner)")
    r.add_argument("--seed", type=nonneg, default=None, help="seed of the first episode (default: scenario's, 0)")
    r.add_argument("--episodes", type=positive, default=None, help="episodes, seeds N .. N+K-1 (default: scenario's)")
    r.add_argument("--out", type=Path, default=None, help="output folder (default: runs/<scenario name>)")
    r.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    r.add_argument("--backend", choices=BACKENDS, default=None, help="world backend (default: scenario's)")
    r.add_argument("--record", action="store_true", help="record every episode to OUT/<scenario>_seed<N>.mcap")
    r.add_argument("--overwrite", action="store_true", help=_OVERWRITE_HELP)
    add_llm_options(r)


def add_llm_options(r: argparse.ArgumentParser) -> None:
    r.add_argument("--llm", default=None, help="LLM backend: openai, local, oracle, oracle-faulty (LLM planners)")
    r.add_argument("--model", default=None, help="model name for the openai backend ($FLEETMIND_LLM_MODEL)")
    r.add_argument("--base-url", default=None, help="OpenAI-compatible URL ($FLEETMIND_LLM_BASE_URL)")
    r.add_argument("--hints", choices=["on", "off"], default=None, help="action hints (default: on for local)")
    r.add_argument("--history", default=None, help="history mode: none, state_action, dialogue, compressed")
    r.add_argument(
        "--llm-timeout",
        type=float,
        default=None,
        metavar="SECONDS",
        help="request timeout: until a reply starts, then the longest silence inside it (default: run.llm.timeout_s, "
        "120); each planning step's calls together stay within run.llm.step_timeout_s",
    )


def llm_settings(base: LLMSettings, args: argparse.Namespace) -> LLMSettings:
    """Command-line overrides on the scenario's run.llm, validated by the same pydantic model."""
    update = {
        "backend": getattr(args, "llm", None),
        "model": getattr(args, "model", None),
        "base_url": getattr(args, "base_url", None),
        "history": getattr(args, "history", None),
        "hints": None if getattr(args, "hints", None) is None else args.hints == "on",
        "timeout_s": getattr(args, "llm_timeout", None),
    }
    data = {**base.model_dump(), **{k: v for k, v in update.items() if v is not None}}
    try:
        return LLMSettings.model_validate(data)
    except ValidationError as exc:
        raise BadInputError(describe_validation(exc.errors(), noun="option", name=_option)) from None


def _option(loc: tuple[Any, ...]) -> str:
    """An LLMSettings field as the command-line option that sets it: ``backend`` -> ``--llm``."""
    field = str(loc[0]) if loc else "llm"
    return "--" + {"backend": "llm", "timeout_s": "llm-timeout"}.get(field, field).replace("_", "-")


def cmd_run(scenario: Scenario, args: argparse.Namespace) -> int:
    out = args.out or Path("runs") / scenario.name
    planner = args.planner or scenario.run.planner  # refused here, before any model server or fleet starts
    check_plays(planner, scenario.world.task, "--planner" if args.planner else f"{scenario.name}: run.planner")
    if getattr(args, "backend", None):
        scenario = scenario.with_backend(args.backend)
    config = RunConfig(
        scenario=scenario,
        planner=args.planner,
        seed=args.seed,
        episodes=args.episodes,
        out=out,
        llm=llm_settings(scenario.run.llm, args),
        record=out if getattr(args, "record", False) else None,
        overwrite=getattr(args, "overwrite", False),
    )
    check_output_dir(out, "--out")  # before any episode runs, not after the first one
    if config.planner_name in LLM_PLANNERS:
        print(endpoint_text(config.llm_settings), flush=True)
    seeds = config.seeds
    with tqdm(total=len(seeds), desc=scenario.name, unit="ep", disable=args.quiet or None, file=sys.stderr) as bar:

        def tick(record: EpisodeRecord) -> None:
            bar.update(1)
            bar.set_postfix(success=f"{record.success}", steps=record.steps)

        result = run(config, on_episode=tick)
    print(summary(result, out))
    if config.record is not None:
        print(f"recordings: {out}/{scenario.name}_seed<N>.mcap (fleetmind replay FILE --gif out.gif)")
    none_ran = none_ran_line(result, config)
    if none_ran is not None:
        sys.stdout.flush()
        print(f"fleetmind: error: {none_ran}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


def cmd_list() -> int:
    found = list_scenarios()
    print(f"scenarios ({len(found)}):")
    valid = [sc for _, sc in found if not isinstance(sc, ScenarioError)]
    name_w = max([len(p.stem) for p, _ in found] + [len(sc.name) for sc in valid] + [16])  # columns line up
    task_w = max([len(sc.world.task) for sc in valid] + [10])
    size_w = max([len(sc.size) for sc in valid] + [22])
    for path, sc in found:
        if isinstance(sc, ScenarioError):
            print(f"  {path.stem:<{name_w}} INVALID: {sc}")
        else:
            print(f"  {sc.name:<{name_w}} {sc.world.task:<{task_w}} {sc.size:<{size_w}} {sc.description}")
    print(f"planners: {', '.join(available_planners())}")
    return EXIT_OK


def cmd_demo(args: argparse.Namespace) -> int:
    """An LLM framework on the embedded model (hints on) with its dialogue, then the oracle floor."""
    print(f"fleetmind demo on {platform.node() or 'this machine'} ({platform.machine()}, {os.cpu_count()} cores)")
    scenario = load_scenario(DEMO_LLM_SCENARIO)
    check_plays(args.planner, scenario.world.task, "--planner")
    settings = llm_settings(scenario.run.llm, args).model_copy(update={"hints": True})  # --llm bogus: one line
    out = args.out / f"{args.planner}_{args.llm}"
    check_output_dir(args.out, "--out")
    floor = RunConfig(load_scenario(DEFAULT_SCENARIO), "oracle", out=args.out / "oracle", overwrite=args.overwrite)
    earlier_episodes(floor)  # the oracle part's folder is refused (if at all) before the LLM part writes anything
    print(f"{args.planner.upper()} with the {args.llm} model (hints on) on {scenario.description}; seed 0")

    def show(info: StepInfo) -> None:
        for line in info.dialogue:
            print(f"    {line}")
        r = info.result
        feedback = [f"{e.robot}: {e.detail}" for e in r.events if e.kind not in ("moved",)]
        print(
            f"  step {r.metrics['steps']:>2}: boxes left {r.metrics.get('boxes_left')}"
            + (f"; {'; '.join(feedback)}" if feedback else "")
        )

    obs_text = scenario.make_fleet().reset(0).text
    print("  start:\n    " + obs_text.replace("\n", "\n    "))
    config = RunConfig(
        scenario=scenario,
        planner=args.planner,
        seed=0,
        episodes=1,
        out=out,
        llm=settings,
        record=out,
        overwrite=args.overwrite,
    )
    result = run(config, on_step=show)
    ep = result.episodes[0]
    print(
        f"{args.planner} ({args.llm}, hints on): success {ep.success}, steps {ep.steps}, failure {ep.failure_reason}, "
        f"LLM calls {ep.extra.get('llm_calls')}, "
        f"tokens {ep.extra.get('prompt_tokens')}+{ep.extra.get('completion_tokens')}, "
        f"model time {ep.extra.get('llm_seconds')} s"
    )
    print(f"  metrics: {out / 'metrics.json'}; prompts and replies: {out / 'episodes'}/seed_0.llm.jsonl")
    if result.earlier:
        print(f"  {merged(result)}")
    from fleetmind.sim.record.replay import read_recording, write_gif

    mcap = out / f"{scenario.name}_seed0.mcap"
    gif = write_gif(read_recording(mcap), out / "replay.gif")
    print(f"  recording (opens in Foxglove): {mcap}; top-down replay: {gif}")
    scenario = load_scenario(DEFAULT_SCENARIO)
    args.planner, args.seed, args.episodes, args.quiet, args.llm = "oracle", 0, 10, True, None
    args.out = args.out / "oracle"
    code = cmd_run(scenario, args)
    print(f"demo outputs are in {args.out.parent}/ (metrics.json, traces and LLM call logs)")
    none_ran = none_ran_line(result, config)  # the model server failed: the demo did not show what it is for
    if none_ran is not None:
        sys.stdout.flush()
        print(f"fleetmind: error: demo's {config.planner_name.upper()} part: {none_ran}", file=sys.stderr)
        return EXIT_FAILED
    return code


def cmd_llm(args: argparse.Namespace) -> int:
    from fleetmind.planners.llm.local import MODELS, LlamaServer

    if args.model not in MODELS:
        raise BadInputError(f"--model: {args.model!r} is not allowed; allowed values: {', '.join(map(repr, MODELS))}")
    with LlamaServer(args.model, threads=args.threads) as server:
        print(f"llama-server with {args.model} at {server.base_url} (OpenAI-compatible); Ctrl-C stops it", flush=True)
        print(f"  use it: FLEETMIND_LLM_BASE_URL={server.base_url} fleetmind run SCENARIO --planner cmas --llm openai")
        try:
            while server.proc is not None and server.proc.poll() is None:
                time.sleep(0.5)
        except KeyboardInterrupt:
            print("stopping llama-server")
    return EXIT_OK


def _report(exc: BaseException, code: int) -> int:
    """``fleetmind: error: <what went wrong>`` as one line on stderr; returns ``code``."""
    text = " ".join(line.strip() for line in str(exc).splitlines() if line.strip()) or type(exc).__name__
    print(f"fleetmind: error: {text}", file=sys.stderr)
    return code


def _sigterm_as_ctrl_c(received: list[int]) -> tuple[Any, Any] | None:
    """From now on SIGTERM raises ``KeyboardInterrupt`` (once; ``received`` notes it), so a run stopped by a
    supervisor keeps its finished episodes like Ctrl-C does. Both end the LLM calls other threads have in flight at
    once (HMAS-2's checks), instead of the interrupt waiting for them. Returns the previous (SIGTERM, SIGINT)
    handlers; None off the main thread. A SIGINT that is ignored (a background job) stays ignored."""
    if threading.current_thread() is not threading.main_thread():
        return None

    def stop(signum: int, frame: object) -> None:
        if not received:  # a second SIGTERM does not break the clean-up of the first
            received.append(signum)
            abort_llm_calls()
            raise KeyboardInterrupt

    def ctrl_c(signum: int, frame: object) -> None:
        abort_llm_calls()
        raise KeyboardInterrupt

    previous_int = signal.getsignal(signal.SIGINT)
    if previous_int is signal.default_int_handler:
        signal.signal(signal.SIGINT, ctrl_c)
    return signal.signal(signal.SIGTERM, stop), previous_int


def _restore_signals(previous: tuple[Any, Any] | None) -> None:
    """The handlers :func:`_sigterm_as_ctrl_c` replaced; LLM calls may run again."""
    if previous is not None:
        signal.signal(signal.SIGTERM, previous[0])
        if previous[1] is not None:
            signal.signal(signal.SIGINT, previous[1])
    resume_llm_calls()


def _interrupted(exc: KeyboardInterrupt, terminated: bool) -> int:
    """One line for Ctrl-C (exit 130) or SIGTERM (exit 143)."""
    what = "terminated (SIGTERM)" if terminated else "interrupted"
    kept = "finished episodes are kept in metrics.json"
    if isinstance(exc, EpisodeInterrupted):
        kept += f", seed {exc.record.seed} is recorded as interrupted at step {exc.record.steps + 1}"
    print(f"fleetmind: {what}; {kept}", file=sys.stderr)
    return EXIT_TERMINATED if terminated else EXIT_INTERRUPTED


def run_command(args: argparse.Namespace, extra: Mapping[str, Callable[[argparse.Namespace], int]]) -> int:
    """Run the parsed subcommand (``extra``: commands of higher layers, e.g. ``up``, which handle signals
    themselves). Bad input (:class:`BadInputError`) is one line on stderr and exit 2; an expected failure at run time
    (:class:`ExpectedFailure`, ``OSError``) one line and exit 1; Ctrl-C exit 130, SIGTERM the same clean-up and exit
    143. A closed stdout (``BrokenPipeError``) propagates to ``fleetmind.cli.main``. Anything else is a bug:
    traceback."""
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    terminated: list[int] = []
    previous = None if args.command in extra else _sigterm_as_ctrl_c(terminated)
    try:
        if args.command in extra:
            return extra[args.command](args)
        if args.command == "list":
            return cmd_list()
        if args.command == "demo":
            return cmd_demo(args)
        if args.command == "llm":
            return cmd_llm(args)
        if args.command == "replay":
            from fleetmind.sim.record.cli import run_from_args as run_replay

            return run_replay(args)
        if args.command == "swarm":
            from fleetmind.app.swarm_cli import run_from_args as run_swarm

            return run_swarm(args)
        if args.command == "bench":
            from fleetmind.app.bench_cli import run_from_args

            return run_from_args(args)
        return cmd_run(load_scenario(args.scenario), args)
    except BadInputError as exc:  # ScenarioError, UnknownPlannerError, UnknownTaskError, an option's value, ...
        return _report(exc, EXIT_BAD_INPUT)
    except BrokenPipeError:  # stdout closed by its reader (`fleetmind list | head -1`): no error, see cli.main
        raise
    except (ExpectedFailure, OSError) as exc:  # no local model, a model server that cannot start, a full disk, ...
        return _report(exc, EXIT_FAILED)
    except KeyboardInterrupt as exc:
        return _interrupted(exc, bool(terminated))
    finally:
        _restore_signals(previous)
