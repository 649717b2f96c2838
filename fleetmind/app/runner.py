"""Run a planner on a scenario for several episodes and keep every figure (``run(config)``).

The one pipeline ``Fleet -> planner -> shield -> Fleet``: :func:`shielded_step` is the only code that hands a
planner's commands to ``Fleet.step`` (``fleetmind run``, ``fleetmind bench``, the tests and the ROS world node
go through it). A plan the shield refuses never executes: the planner gets the violations back
(``Planner.replan``); one that cannot replan ends the episode with ``failure_reason`` ``"shield"``. Every episode
record counts ``shield_rejections``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from fleetmind.app.llm import planner_options
from fleetmind.app.outcomes import INTERRUPTED, tally
from fleetmind.app.results import load_earlier, seed_ranges, write_json, write_trace
from fleetmind.app.scenario import Scenario
from fleetmind.planners.llm.config import LLMSettings
from fleetmind.planners.registry import LLM_PLANNERS, make_planner
from fleetmind.planners.shield import check_plan
from fleetmind.robots.commands import Command
from fleetmind.robots.errors import FleetError
from fleetmind.robots.fleet import Fleet, Observation, StepResult
from fleetmind.robots.ids import RobotId
from fleetmind.robots.planner import Planner, PlanningFailed

log = logging.getLogger(__name__)

MAX_REPLANS = 3
"""Refused plans per step before the episode ends with ``failure_reason`` ``"shield"``."""


@dataclass(frozen=True)
class RunConfig:
    """What ``fleetmind run`` does: a scenario, a planner, seeds ``seed .. seed + episodes - 1``."""

    scenario: Scenario
    planner: str | None = None  # default: the scenario's run.planner
    seed: int | None = None
    episodes: int | None = None
    out: Path | None = None  # where metrics.json and the episode traces go; None: nowhere
    llm: LLMSettings | None = None  # default: the scenario's run.llm
    record: Path | None = None  # write every episode to record/<scenario>_seed<N>.mcap; None: no recording
    overwrite: bool = False  # replace out/metrics.json of another run (or an unreadable one) instead of refusing

    @property
    def llm_settings(self) -> LLMSettings:
        return self.llm or self.scenario.run.llm

    @property
    def planner_name(self) -> str:
        return self.planner or self.scenario.run.planner

    @property
    def seeds(self) -> range:
        first = self.scenario.run.seed if self.seed is None else self.seed
        count = self.scenario.run.episodes if self.episodes is None else self.episodes
        if first < 0 or count < 1:
            raise ValueError(f"need seed >= 0 and episodes >= 1, got seed={first}, episodes={count}")
        return range(first, first + count)


@dataclass
class EpisodeRecord:
    seed: int
    success: bool
    steps: int
    failure_reason: str | None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "seed": self.seed,
            "success": self.success,
            "steps": self.steps,
            "failure_reason": self.failure_reason,
            **self.extra,
        }


@dataclass
class RunResult:
    """``episodes``: this run's; ``earlier``: the same run's records already in ``out/metrics.json``, which
    ``to_json`` keeps for every seed this run did not (re-)run."""

    scenario: str
    planner: str
    episodes: list[EpisodeRecord]
    complete: bool = True
    earlier: list[EpisodeRecord] = field(default_factory=list)
    identity: dict[str, Any] | None = None

    def recorded(self) -> list[EpisodeRecord]:
        """Every record ``metrics.json`` holds: this run's plus the earlier seeds it did not re-run, by seed."""
        done = {e.seed for e in self.episodes}
        return sorted([e for e in self.earlier if e.seed not in done] + self.episodes, key=lambda e: e.seed)

    @property
    def replaced(self) -> list[int]:
        """Seeds this run re-ran whose earlier records it replaced."""
        done = {e.seed for e in self.episodes}
        return sorted(e.seed for e in self.earlier if e.seed in done)

    @property
    def success_rate(self) -> float:
        """Over this run's episodes that ran (:func:`tally`): infrastructure failures are no planning failures."""
        return float(tally(self.episodes)["success_rate"])

    @property
    def mean_steps(self) -> float:
        return float(tally(self.episodes)["mean_steps"])

    def to_json(self) -> dict[str, Any]:
        """``metrics.json``: every recorded episode (:meth:`recorded`), :func:`~fleetmind.app.outcomes.tally` over
        them (success rate and mean steps over the episodes that ran, infrastructure failures and interrupted ones
        counted apart) and the task's own figures' means; ``complete``: this run finished all its seeds; ``run``:
        :func:`run_identity`, what a later run must match to add seeds."""
        episodes = self.recorded()
        out: dict[str, Any] = {
            "scenario": self.scenario,
            "planner": self.planner,
            "episodes": [e.to_json() for e in episodes],
            **tally(episodes),
            "complete": self.complete,
        }
        if self.identity is not None:
            out["run"] = self.identity
        # the task's own per-episode figures (avg_throughput, CSR, ...) also as their mean over the episodes
        shared = set.intersection(*(set(e.extra) for e in episodes)) if episodes else set()
        for key in sorted(shared - set(out)):
            values = [e.extra[key] for e in episodes]
            if all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
                out[key] = sum(values) / len(values)
        return out


@dataclass(frozen=True)
class StepInfo:
    """What ``on_step`` callbacks see after every step."""

    seed: int
    commands: dict[RobotId, Command]
    dialogue: list[str]
    result: StepResult


class EpisodeInterrupted(KeyboardInterrupt):
    """Ctrl-C (or SIGTERM) during an episode; ``record``: the episode so far, ``failure_reason`` ``"interrupted"``."""

    def __init__(self, record: EpisodeRecord) -> None:
        self.record = record
        super().__init__(f"seed {record.seed} interrupted at step {record.steps + 1}")


class ShieldRejected(Exception):
    """The shield refused a joint plan; nothing was executed. ``violations``: one readable line each."""

    def __init__(self, violations: list[str]) -> None:
        self.violations = violations
        super().__init__("; ".join(violations))


def shield_physical(scenario: Scenario) -> bool:
    """Whether the shield applies the physical rules: on every backend with bodies, and in the grid world unless
    the scenario asks for the paper's looser rules (e.g. Warehouse ``paper_swaps``)."""
    return scenario.world.backend != "grid" or scenario.world.paper_rules() is None


def shielded_step(
    fleet: Fleet, observation: Observation, commands: Mapping[RobotId, Command], physical: bool = True
) -> StepResult:
    """The pipeline's last stage: the shield checks ``commands`` against ``observation`` (the state the fleet is
    in), then the fleet steps. Raises :class:`ShieldRejected` (the fleet untouched) on any violation."""
    violations = check_plan(observation, commands, physical)
    if violations:
        raise ShieldRejected(violations)
    return fleet.step(commands)


def _metrics(planner: Planner, rejections: int) -> dict[str, Any]:
    """The planner's figures plus the shield rejections of the runner's stage (LLM planners count their own)."""
    out = planner.metrics()
    out["shield_rejections"] = int(out.get("shield_rejections", 0)) + rejections
    return out


@dataclass
class _Pipeline:
    """Plan, shield, step: one episode's loop body, counting the shield's rejections."""

    fleet: Fleet
    planner: Planner
    physical: bool
    trace: list[dict[str, Any]] | None
    rejections: int = 0

    def step(self, obs: Observation) -> tuple[dict[RobotId, Command], StepResult]:
        """(the commands executed, the result). Raises ``PlanningFailed`` (reason ``"shield"`` when a refused plan
        is not replanned within ``MAX_REPLANS``) and ``FleetError``."""
        commands = self.planner.plan(obs)
        replans = 0
        while True:
            try:
                return commands, shielded_step(self.fleet, obs, commands, self.physical)
            except ShieldRejected as rejected:
                self.rejections += 1
                log.info("step %d: the shield refused %s's plan: %s", obs.step + 1, self.planner.name, rejected)
                if self.trace is not None:
                    refused = {r: c.text for r, c in commands.items()}
                    self.trace.append({"step": obs.step + 1, "shield": rejected.violations, "refused": refused})
                fixed = self.planner.replan(obs, commands, rejected.violations) if replans < MAX_REPLANS else None
                if fixed is None:
                    raise PlanningFailed("shield", str(rejected)) from None
                commands, replans = fixed, replans + 1


def run_episode(
    fleet: Fleet,
    planner: Planner,
    seed: int,
    trace: list[dict[str, Any]] | None = None,
    on_step: Callable[[StepInfo], None] | None = None,
    physical: bool = True,
) -> EpisodeRecord:
    """One episode. A planner that gives up (``PlanningFailed``), whose refused plan cannot be replanned
    (``"shield"``) or that issues an illegal command ends it with a failure reason; none is a crash. ``physical``:
    see :func:`shield_physical` (True unless a grid scenario asks for the paper's rules). Ctrl-C (or SIGTERM, which
    the command line turns into one) raises :class:`EpisodeInterrupted` with the episode so far."""
    stage = _Pipeline(fleet, planner, physical, trace)
    obs: Observation | None = None
    try:
        obs = fleet.reset(seed)
        planner.reset(obs, seed)
        if trace is not None:
            trace.append({"step": 0, "world": obs.text})
        while True:
            try:
                commands, result = stage.step(obs)
            except PlanningFailed as exc:
                log.warning("seed %d: planner %s gave up at step %d: %s", seed, planner.name, obs.step + 1, exc)
                if trace is not None:
                    trace.append({"step": obs.step + 1, "planning_failed": str(exc)})
                return EpisodeRecord(seed, False, obs.step, exc.reason, _metrics(planner, stage.rejections))
            except FleetError as exc:
                log.warning("seed %d: planner %s issued a bad command: %s", seed, planner.name, exc)
                if trace is not None:
                    trace.append({"step": obs.step + 1, "error": str(exc)})
                return EpisodeRecord(seed, False, obs.step, "illegal_command", _metrics(planner, stage.rejections))
            planner.observe_result(result)
            obs = result.observation
            dialogue = planner.explain()
            if on_step is not None:
                on_step(StepInfo(seed, dict(commands), dialogue, result))
            if trace is not None:
                trace.append(
                    {
                        "step": obs.step,
                        "commands": {r: c.text for r, c in commands.items()},
                        "dialogue": dialogue,
                        "events": [asdict(e) for e in result.events],
                        "metrics": dict(result.metrics),
                    }
                )
            if result.done:
                extra = {k: v for k, v in result.metrics.items() if k not in ("success", "steps", "failure_reason")}
                extra.update(_metrics(planner, stage.rejections))
                return EpisodeRecord(seed, result.success, int(result.metrics["steps"]), result.failure_reason, extra)
    except KeyboardInterrupt as stop:  # Ctrl-C or SIGTERM: the episode so far, marked interrupted
        steps = 0 if obs is None else obs.step
        log.info("seed %d: interrupted at step %d", seed, steps + 1)
        if trace is not None:
            trace.append({"step": steps + 1, "interrupted": True})
        record = EpisodeRecord(seed, False, steps, INTERRUPTED, _metrics(planner, stage.rejections))
        raise EpisodeInterrupted(record) from stop


_OPERATIONAL = frozenset(
    {"base_url", "api_key_env", "timeout_s", "step_timeout_s", "max_retries", "backoff_s", "threads"}
)
"""LLM settings that say how to reach the model, not what it plans: runs that differ only in them share seeds."""


def run_identity(config: RunConfig) -> dict[str, Any]:
    """What two runs must share for their episodes to be one ``metrics.json``: the scenario, its world, the planner
    and, for LLM planners, every LLM setting but the operational ones (URL, key, timeouts, retries, threads)."""
    llm = None
    if config.planner_name in LLM_PLANNERS:
        settings = config.llm_settings
        llm = {**settings.model_dump(mode="json", exclude=set(_OPERATIONAL)), "hints": settings.hints_on}
    return {
        "scenario": config.scenario.name,
        "world": config.scenario.world.model_dump(mode="json"),
        "planner": config.planner_name,
        "llm": llm,
    }


def _record(row: Any) -> EpisodeRecord:
    """An episode of ``metrics.json`` back as a record; ``ValueError`` when it is not one."""
    if not isinstance(row, dict):
        raise ValueError(f"an episode is {type(row).__name__}, not an object")
    seed, success, steps = row.get("seed"), row.get("success"), row.get("steps")
    if not (isinstance(seed, int) and isinstance(steps, int) and isinstance(success, bool)) or isinstance(seed, bool):
        raise ValueError(f"episode {seed!r} lacks an integer seed and steps or a true/false success")
    extra = {k: v for k, v in row.items() if k not in ("seed", "success", "steps", "failure_reason")}
    return EpisodeRecord(seed, success, steps, row.get("failure_reason"), extra)


def earlier_episodes(config: RunConfig) -> list[EpisodeRecord]:
    """The records in ``config.out/metrics.json`` this run extends: see :func:`fleetmind.app.results.load_earlier`
    (another run's or an unreadable file is :class:`BadInputError` unless ``config.overwrite``)."""
    if config.out is None:
        return []
    return load_earlier(config.out / "metrics.json", run_identity(config), config.overwrite, "episodes", _record)


def _clear_traces(folder: Path) -> None:
    """``--overwrite``: the replaced run's traces go with its metrics.json."""
    for old in folder.glob("seed_*.jsonl"):
        old.unlink()


def run(
    config: RunConfig,
    on_episode: Callable[[EpisodeRecord], None] | None = None,
    on_step: Callable[[StepInfo], None] | None = None,
) -> RunResult:
    """Run every episode of ``config``; writes ``out/metrics.json`` (after each episode, so an
    interrupted run keeps what it finished, and the episode Ctrl-C or SIGTERM stopped as ``"interrupted"``
    unless an earlier run finished that seed) and ``out/episodes/seed_<N>.jsonl`` traces. An existing
    ``metrics.json`` is extended or refused first (:func:`earlier_episodes`)."""
    scenario = config.scenario
    earlier = earlier_episodes(config)  # before anything is built or written
    again = sorted({e.seed for e in earlier} & set(config.seeds))
    if again:
        log.warning("%s: re-running seed(s) %s replaces their earlier records", config.out, seed_ranges(again))
    planner = make_planner(config.planner_name, scenario.world.task, planner_options(config.llm_settings))
    result = RunResult(
        scenario.name, config.planner_name, [], complete=False, earlier=earlier, identity=run_identity(config)
    )
    clear = config.overwrite
    fleet = scenario.make_fleet()
    physical = shield_physical(scenario)
    if config.record is not None:
        from fleetmind.sim.record import RecordingFleet

        fleet = RecordingFleet(fleet, config.record, scenario.name)
    try:
        for seed in config.seeds:
            trace: list[dict[str, Any]] | None = [] if config.out else None
            stopped: EpisodeInterrupted | None = None
            try:
                record = run_episode(fleet, planner, seed, trace, on_step, physical)
            except EpisodeInterrupted as stop:
                record, stopped = stop.record, stop
                if any(e.seed == seed and e.failure_reason != INTERRUPTED for e in earlier):
                    raise  # an earlier run finished this seed: its record stays
            result.episodes.append(record)
            if config.out:
                if clear:
                    _clear_traces(config.out / "episodes")
                    clear = False
                write_trace(config.out / "episodes" / f"seed_{seed}.jsonl", trace or [])
                calls = planner.call_log()
                calls_path = config.out / "episodes" / f"seed_{seed}.llm.jsonl"
                if calls:
                    write_trace(calls_path, calls)
                elif calls_path.exists():  # an earlier run's calls for this seed are not this run's
                    calls_path.unlink()
                write_json(config.out / "metrics.json", result.to_json())
            if stopped is not None:
                raise stopped
            if on_episode:
                on_episode(record)
        result.complete = True
    finally:
        fleet.close()
        if config.out and result.episodes:
            write_json(config.out / "metrics.json", result.to_json())
    return result
