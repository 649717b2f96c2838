"""What ``fleetmind run`` prints when a run ends: the summary lines (success, failures by reason, where the metrics
and traces are, and for worlds that count collisions the model's calls and failures), and the one error line when no
episode ran."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from fleetmind.app.llm import endpoint_text
from fleetmind.app.outcomes import LLM_FAILURES, tally
from fleetmind.app.results import seed_ranges
from fleetmind.app.runner import RunConfig, RunResult
from fleetmind.planners.llm.config import LLMSettings
from fleetmind.robots.fleet import ROBOTS_UNREACHABLE


def summary(result: RunResult, out: Path) -> str:
    counts = tally(result.episodes)
    n, ran = len(result.episodes), counts["episodes_ran"]
    ok = sum(e.success for e in result.episodes)
    failures: dict[str, int] = {}
    for e in result.episodes:
        if not e.success and e.failure_reason not in counts["infrastructure_failures"]:
            failures[e.failure_reason or "?"] = failures.get(e.failure_reason or "?", 0) + 1
    why = ", ".join(f"{k}: {v}" for k, v in sorted(failures.items()))
    infra = ", ".join(f"{k}: {v}" for k, v in counts["infrastructure_failures"].items())
    lines = [
        f"{result.scenario} | planner {result.planner} | {n} episode(s)"
        + (f", {ran} ran" if ran != n else "")
        + f": success {ok}/{ran} ({result.success_rate:.0%}), mean steps {result.mean_steps:.1f}"
        + (f" | failures {why}" if why else "")
        + (f" | infrastructure (not planning) {infra}" if infra else ""),
        f"metrics: {out / 'metrics.json'}",
        f"traces:  {out / 'episodes'}/seed_<N>.jsonl",
    ]
    if result.earlier:
        lines.insert(1, merged(result))
    if any("collisions" in e.extra for e in result.episodes):  # worlds that count executed collisions (HAS)
        keys = ("collisions", "llm_calls", "manager_fallbacks", "leader_fallbacks", "flat_fallbacks")
        total = {k: sum(int(e.extra.get(k) or 0) for e in result.episodes) for k in keys}
        failed = sum(total[k] for k in keys[2:])
        lines.append(
            f"collisions: {total['collisions']} | llm_calls: {total['llm_calls']}"
            + (f" | model failures, the heuristic planned instead: {failed}" if failed else "")
        )
    return "\n".join(lines)


def none_ran_line(result: RunResult, config: RunConfig) -> str | None:
    """The one error line when every episode of this run failed for infrastructure (no planning verdict)."""
    counts = tally(result.episodes)
    if not result.episodes or counts["episodes_ran"] or counts["interrupted"]:
        return None
    why = ", ".join(f"{k}: {v}" for k, v in counts["infrastructure_failures"].items())
    n = len(result.episodes)
    return (
        f"no episode ran: {n} of {n} failed for infrastructure, not planning ({why}); "
        f"check {what_to_check(counts['infrastructure_failures'], config.llm_settings)}; "
        f"details in {config.out}/episodes/seed_<N>.jsonl"
    )


def merged(result: RunResult) -> str:
    """What metrics.json holds after adding this run's seeds to an earlier run's."""
    every = result.recorded()
    ok, n = sum(e.success for e in every), len(every)
    text = (
        f"metrics.json now holds seeds {seed_ranges(e.seed for e in every)} ({n} episode(s), "
        f"{len(result.earlier) - len(result.replaced)} kept from earlier runs): success {ok}/{n} ({ok / n:.0%})"
    )
    if result.replaced:
        text += f"; re-ran seed(s) {seed_ranges(result.replaced)}, replacing their earlier records"
    return text


def what_to_check(reasons: Iterable[str], llm: LLMSettings, links: str = "the warning above names each link") -> str:
    """What a person should look at when episodes failed for these infrastructure ``reasons``: the model server
    (named by ``llm``'s endpoint) and / or the robots (``links`` says where their addresses were logged)."""
    reasons = set(reasons)
    checks = []
    if reasons & set(LLM_FAILURES):
        checks.append(f"the model server ({endpoint_text(llm).removeprefix('LLM endpoint: ')})")
    if ROBOTS_UNREACHABLE in reasons:
        checks.append(f"the robots' power, addresses and keys ({links})")
    return " and ".join(checks)
