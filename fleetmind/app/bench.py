"""``fleetmind bench llm``: frameworks x tasks x sizes x seeds x history modes, like the paper's Table I.

Writes ``llm.json`` (rows), ``llm.csv``, ``llm.md`` and ``llm.png`` into ``--out``; a later bench with the same
backend and seeds adds its cells to them (a cell run again replaces its row), any other is refused unless
``--overwrite`` (:func:`earlier_rows`), so no table loses rows silently. Each row also
compares the prompt tokens per step with the reference implementation's prompt layout for the same
states (re-created here as a measuring stick, not its text), and reports the framework's own
overhead per planning round apart from model time.
"""

from __future__ import annotations

import csv
import logging
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from tqdm import tqdm

from fleetmind.app.outcomes import tally
from fleetmind.app.results import load_earlier, write_json
from fleetmind.planners.llm.client import estimate_tokens
from fleetmind.planners.llm.config import LLMSettings
from fleetmind.robots.fleet import Observation
from fleetmind.tasks import GridTaskPlugin, get_task, task_names

log = logging.getLogger(__name__)


def paper_sizes() -> dict[str, list[str]]:
    """Task name -> the sizes of the paper's Table I, for every task LLM planners can play."""
    out = {}
    for name in task_names():
        task = get_task(name)
        if isinstance(task, GridTaskPlugin) and task.paper_sizes:
            out[name] = list(task.paper_sizes)
    return out


def reference_layout_tokens(observation: Observation, history_steps: int) -> int:
    """Prompt tokens of the reference implementation's layout for the same state (our re-creation).

    Its layout: a long fixed preamble; every robot as ``Agent[r, c]: I am in square[r, c], I can
    observe [python list], I can do [python list of every action]``; and for each earlier step the
    whole state block again plus the JSON plan. We rebuild that shape with our own words and count it
    with the same estimator as our prompts, so the ratio compares layouts, not tokenizers.
    """
    preamble = 1400  # characters of fixed instructions, the reference's order of magnitude
    lines = []
    for rid, ro in observation.robots.items():
        observed = [
            *(f"box_{c}" for c in ro.data.get("boxes", [])),
            *(f"target_{c}" for c in ro.data.get("targets", [])),
        ]
        lines.append(f"Agent {rid}: I am at {ro.text}, I can observe {observed!r}, I can do {list(ro.legal_text)!r}")
    state = "\n".join(lines)
    plan_chars = 60 * len(observation.robots)
    return estimate_tokens("x" * preamble + state + (state + "x" * plan_chars) * history_steps)


def _scenario(task: str, size: str) -> Any:
    from fleetmind.app.scenario import parse_scenario

    world = get_task(task).world_for_size(size)
    return parse_scenario({"name": f"{task}_{size}", "world": world}, "<bench>")


def run_bench(
    backend: str,
    frameworks: Sequence[str],
    tasks: Sequence[str],
    sizes: dict[str, list[str]],
    seeds: int,
    histories: Sequence[str],
    hints: Sequence[bool | None],
    progress: bool = True,
    on_row: Callable[[list[dict[str, Any]]], None] | None = None,
) -> list[dict[str, Any]]:
    """One row per cell; ``on_row`` sees the rows so far after each cell (so nothing is lost on a crash)."""
    from fleetmind.app.runner import RunConfig, run

    cells = [(fw, t, s, h, k) for t in tasks for s in sizes[t] for fw in frameworks for h in histories for k in hints]
    rows: list[dict[str, Any]] = []
    for fw, task, size, history, hint in tqdm(
        cells, desc="bench llm", unit="cell", disable=not progress, file=sys.stderr
    ):
        scenario = _scenario(task, size)
        settings = LLMSettings(backend=backend, history=history, hints=hint)  # type: ignore[arg-type]
        prompt_tokens_steps: list[tuple[int, int]] = []

        def note(info: Any, _s: list[tuple[int, int]] = prompt_tokens_steps) -> None:
            _s.append((info.result.observation.step, 0))

        start = time.perf_counter()
        result = run(RunConfig(scenario=scenario, planner=fw, seed=0, episodes=seeds, llm=settings), on_step=note)
        wall = time.perf_counter() - start
        eps = result.episodes
        steps_total = sum(e.steps for e in eps) or 1
        tokens = [e.extra.get("prompt_tokens", 0) + e.extra.get("completion_tokens", 0) for e in eps]
        solved = [t for t, e in zip(tokens, eps, strict=True) if e.success]
        fleet = scenario.make_fleet()
        obs0 = fleet.reset(0)
        ref = reference_layout_tokens(obs0, history_steps=min(3, max(0, int(result.mean_steps) - 1)))
        calls = max(1, sum(e.extra.get("llm_calls", 0) for e in eps))
        ours = sum(e.extra.get("prompt_layout_tokens", 0) for e in eps) / calls
        oracle = run(RunConfig(scenario=scenario, planner="oracle", seed=0, episodes=seeds))
        model_s = sum(e.extra.get("llm_seconds", 0.0) for e in eps)
        n_solved = sum(1 for e in eps if e.success)
        counts = tally(eps)
        ran = counts["episodes_ran"]
        rows.append(
            {
                "framework": fw,
                "task": task,
                "size": size,
                "history": history,
                "hints": "on" if settings.hints_on else "off",
                "llm": backend,
                "episodes": len(eps),
                "episodes_ran": ran,  # the others failed for infrastructure (the model server): no planning result
                "infrastructure_failures": counts["infrastructure_failures"],
                "success_rate": result.success_rate if ran else None,
                "mean_steps": result.mean_steps if ran else None,
                "oracle_mean_steps": oracle.mean_steps,
                "failures": sorted({e.failure_reason for e in eps if e.failure_reason}),
                "llm_calls_per_episode": sum(e.extra.get("llm_calls", 0) for e in eps) / len(eps),
                "tokens_per_episode": sum(tokens) / len(eps),
                "tokens_per_solved_episode": (sum(tokens) / len(solved)) if solved else None,
                "model_s_per_solved_episode": round(model_s / n_solved, 2) if n_solved else None,
                "reprompts_per_episode": sum(e.extra.get("reprompts", 0) for e in eps) / len(eps),
                "shield_rejections_per_episode": sum(e.extra.get("shield_rejections", 0) for e in eps) / len(eps),
                "repeated_rejections": sum(e.extra.get("repeated_rejections", 0) for e in eps),
                "prompt_tokens_per_call": round(ours, 1),
                "reference_layout_tokens_per_call": ref,
                "prompt_ratio_vs_reference": round(ours / ref, 3) if ref else None,
                "overhead_ms_per_round": round(
                    sum(e.extra.get("overhead_ms_per_round", 0.0) for e in eps) / len(eps), 3
                ),
                "wall_s_per_episode": round(wall / len(eps), 3),
                "steps_total": steps_total,
                **dialogue_columns(eps),
            }
        )
        if on_row is not None:
            on_row(rows)
    return rows


DIALOGUE_SUMS = (
    "hmas2_checks",
    "hmas2_agreements",
    "hmas2_unfounded",
    "hmas2_revisions",
    "hmas2_plan_changes",
    "dialogue_steps",
    "dialogue_turns",
    "execute_first_turn",
)

DIALOGUE_TABLE = ("hmas2_agreement_rate", "hmas2_plan_changes", "dialogue_turns_per_step", "execute_first_turn_rate")


def dialogue_columns(episodes: Sequence[Any]) -> dict[str, Any]:
    """HMAS-2's checks (agreement rate, revisions that changed the plan) and DMAS / HMAS-1's dialogue (turns per
    step, EXECUTE on the first turn), summed over the cell's episodes; empty for CMAS and the other planners."""
    sums = {k: sum(e.extra.get(k, 0) for e in episodes) for k in DIALOGUE_SUMS if any(k in e.extra for e in episodes)}
    out: dict[str, Any] = dict(sums)
    if "hmas2_checks" in sums:
        checks = sums["hmas2_checks"]
        out["hmas2_agreement_rate"] = round(sums.get("hmas2_agreements", 0) / checks, 4) if checks else None
    if "dialogue_steps" in sums:
        steps = sums["dialogue_steps"]
        out["dialogue_turns_per_step"] = round(sums.get("dialogue_turns", 0) / steps, 4) if steps else None
        out["execute_first_turn_rate"] = round(sums.get("execute_first_turn", 0) / steps, 4) if steps else None
    return out


CELL = ("framework", "task", "size", "history", "hints", "llm")
"""The keys that name a row's cell: a later bench's row for the same cell replaces it."""


def bench_identity(meta: dict[str, Any]) -> dict[str, Any]:
    """What two benches must share for their rows to be one table: the LLM backend and the seeds per cell."""
    return {"llm": meta["llm"], "seeds": meta["seeds"]}


def _row(row: Any) -> dict[str, Any]:
    if not isinstance(row, dict) or not all(isinstance(row.get(k), str) for k in CELL):
        raise ValueError(f"a row lacks its cell ({', '.join(CELL)})")
    return row


def earlier_rows(out: Path, meta: dict[str, Any], overwrite: bool) -> list[dict[str, Any]]:
    """The rows of ``out/llm.json`` this bench extends; another bench's or an unreadable file is
    ``BadInputError`` unless ``overwrite`` (see :func:`fleetmind.app.results.load_earlier`)."""
    return load_earlier(out / "llm.json", bench_identity(meta), overwrite, "rows", _row)


def merge_rows(earlier: list[dict[str, Any]], rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``earlier`` without the cells ``rows`` ran again, then ``rows``."""
    done = {tuple(r[k] for k in CELL) for r in rows}
    return [r for r in earlier if tuple(r[k] for k in CELL) not in done] + rows


def write_tables(rows: list[dict[str, Any]], out: Path, meta: dict[str, Any]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    table = {"meta": meta, "run": bench_identity(meta), "rows": rows}
    write_json(out / "llm.json", table)  # atomic: the rows of earlier runs survive a crash mid-write
    nested = ("failures", "infrastructure_failures")
    cols = list(dict.fromkeys(k for r in rows for k in r if k not in nested))  # CMAS rows lack the dialogue columns
    with (out / "llm.csv").open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=cols, extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)
    head = [
        "framework",
        "task",
        "size",
        "hints",
        "success_rate",
        "mean_steps",
        "oracle_mean_steps",
        "llm_calls_per_episode",
        "tokens_per_episode",
        "model_s_per_solved_episode",
        "reprompts_per_episode",
        "shield_rejections_per_episode",
        "repeated_rejections",
        "prompt_ratio_vs_reference",
        "wall_s_per_episode",
    ]
    head += [k for k in DIALOGUE_TABLE if any(k in r for r in rows)]
    md = [
        f"# LLM benchmark ({meta['llm']}, {meta['machine']}, {meta['timestamp']})",
        "",
        "| " + " | ".join(head) + " |",
        "|" + "---|" * len(head),
    ]
    for r in rows:
        md.append("| " + " | ".join(_fmt(r.get(h)) for h in head) + " |")
    (out / "llm.md").write_text("\n".join(md) + "\n")
    _plot(rows, out / "llm.png")


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.2f}"
    return "-" if v is None else str(v)


def _plot(rows: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    labels = [f"{r['framework']}\n{r['task']} {r['size']}" for r in rows]
    axes[0].bar(range(len(rows)), [r["success_rate"] or 0.0 for r in rows], color="tab:green")  # None: none ran
    axes[0].set_title("success rate")
    axes[1].bar(range(len(rows)), [r["tokens_per_episode"] for r in rows], color="tab:blue")
    axes[1].set_title("tokens per episode")
    for ax in axes:
        ax.set_xticks(range(len(rows)), labels, rotation=90, fontsize=6)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
