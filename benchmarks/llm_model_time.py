"""Model time per solved episode on the embedded model, today's prompts against a baseline commit's, in one run.

    .venv/bin/python benchmarks/llm_model_time.py                              # BoxNet1 2x2, CMAS, seeds 0-1
    .venv/bin/python benchmarks/llm_model_time.py --baseline a9e3146 --seeds 3 --scenario boxnet1_2x2

Checks out ``--baseline`` (default a9e3146, the tree before the model-time work: no prompt cache, unstreamed
replies, full states in the history, hints ranked by notes only) into a temporary git worktree and runs
``fleetmind run SCENARIO --planner cmas --llm local`` there and in this checkout, seed by seed, alternating, so both
see the same machine load. Each side starts its own llama.cpp server (Qwen2.5-Coder-0.5B, hints on, temperature 0).
Prints per side: episodes solved, mean steps, model seconds (``llm_seconds``) per solved episode, calls and prompt
tokens per episode, and the ratio new / baseline; with the machine and its load average before and after.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from fleetmind.app.argtypes import positive

ROOT = Path(__file__).resolve().parents[1]


def _run(tree: Path, scenario: str, seed: int, out: Path) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(tree)}  # the tree's own fleetmind package, not the installed one
    cmd = [sys.executable, "-m", "fleetmind", "run", scenario, "--planner", "cmas", "--llm", "local"]
    cmd += ["--seed", str(seed), "--episodes", "1", "--out", str(out), "-q", "--overwrite"]
    subprocess.run(cmd, cwd=tree, env=env, check=True, stdout=subprocess.DEVNULL, timeout=3600)
    return json.loads((out / "metrics.json").read_text())["episodes"][0]


def _summary(episodes: list[dict[str, Any]]) -> dict[str, Any]:
    solved = [e for e in episodes if e["success"]]
    n = len(episodes)
    return {
        "episodes": n,
        "solved": len(solved),
        "mean_steps": sum(e["steps"] for e in episodes) / n,
        "model_s_per_solved_episode": round(sum(e.get("llm_seconds", 0.0) for e in episodes) / len(solved), 1)
        if solved
        else None,
        "calls_per_episode": sum(e.get("llm_calls", 0) for e in episodes) / n,
        "prompt_tokens_per_episode": round(sum(e.get("prompt_tokens", 0) for e in episodes) / n),
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--baseline", default="a9e3146", help="git commit of the baseline prompts (default a9e3146)")
    p.add_argument("--scenario", default="boxnet1_2x2")
    p.add_argument("--seeds", type=positive, default=2, help="seeds 0..N-1 on each side (default 2)")
    p.add_argument("--out", type=Path, default=Path("runs/llm_model_time"))
    args = p.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="fleetmind-baseline-") as tmp:
        base = Path(tmp) / "tree"
        subprocess.run(
            ["git", "worktree", "add", "--detach", str(base), args.baseline],
            cwd=ROOT,
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            sides: dict[str, list[dict[str, Any]]] = {"baseline": [], "new": []}
            for seed in range(args.seeds):
                for name, tree in (("baseline", base), ("new", ROOT)):
                    episode = _run(tree, args.scenario, seed, args.out / f"{name}_seed{seed}")
                    sides[name].append(episode)
                    print(
                        f"  {name:<8} seed {seed}: success {episode['success']}, steps {episode['steps']}, "
                        f"model {episode.get('llm_seconds', 0):.1f} s, calls {episode.get('llm_calls')}",
                        flush=True,
                    )
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(base)], cwd=ROOT, check=False)
    table = {name: _summary(eps) for name, eps in sides.items()}
    b, n = table["baseline"]["model_s_per_solved_episode"], table["new"]["model_s_per_solved_episode"]
    table["new_over_baseline"] = round(n / b, 3) if b and n else None
    table["machine"] = f"{platform.node()} {platform.machine()} {os.cpu_count()} cores"
    table["load_average"] = {
        "before": [round(x, 2) for x in load_before],
        "after": [round(x, 2) for x in os.getloadavg()],
    }
    table["command"] = " ".join(sys.argv)
    (args.out / "llm_model_time.json").write_text(json.dumps(table, indent=2) + "\n")
    print(json.dumps(table, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
