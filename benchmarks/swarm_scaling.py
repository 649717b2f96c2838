"""Swarm worlds: step time vs number of agents (issue 15), beside the issue's targets.

    .venv/bin/python benchmarks/swarm_scaling.py --quick --out runs/bench     # 100, 10,000 and 100,000 agents
    .venv/bin/python benchmarks/swarm_scaling.py --out runs/bench             # 100 ... 100,000 agents, more steps
    .venv/bin/python benchmarks/swarm_scaling.py --quick --no-vmas            # without the VMAS side by side

Each world (Vicsek, Kuramoto, aggregation) at a fixed density (agents per unit area, neighbour radius 1, periodic
box) is reset, stepped twice to warm the kernels (``cache=True`` loads them), then timed over several steps without
observations (``ms_per_step``: the median) and over several observations (``observe_ms``: every agent's neighbour
histogram). Vicsek rows from 10,000 agents also time the same world in the other threading mode right after
(``other_threads_ms_per_step``: serial where the default uses threads, and the reverse), and a step after ``--fly``
(300) more steps (``flown_ms_per_step``): by then the agents have left their starting cell order and gathered into
flocks (``mean_neighbours_start`` -> ``_flown``), so each step has more pairs to check; that figure is the honest
one for a long run. ``cpu_ms_per_step`` is the process's CPU time per step (all threads): on a busy machine it shows
the work done, while the wall time also counts waiting for a core. Targets: Vicsek and Kuramoto at 100,000 agents
<= 10 ms per step, at 10,000 agents <= 1 ms, on 2 cores.
Prints the machine (cores, CPU, load, Python, numba) and writes ``OUT/swarm_scaling.json``.

VMAS side by side (unless ``--no-vmas``): VMAS's ``flocking`` scenario on CPU (one environment of N agents, torch on
2 threads) in its own venv ``.venv-vmas`` (created here with ``pip install vmas==1.5.2`` when missing; VMAS is
GPL-3.0: measured, never vendored or imported by fleetmind), at N = 25 and 100 (a step of 100 agents takes seconds:
its collision checks loop over agent pairs in Python), beside our Vicsek world at the same N. VMAS simulates richer
physics (forces, collisions, obstacles, LIDAR observations), so the ratio compares simulators, not equal work. Its
rows have ``"world": "vmas_flocking"``; when its venv cannot be made, one row says ``"unavailable"`` and why.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import platform
import subprocess
import sys
import time
from importlib.metadata import version
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fleetmind.sim.swarm import AggregationWorld, KuramotoWorld, VicsekWorld  # noqa: E402
from fleetmind.sim.swarm import _kernels as kernels  # noqa: E402

from fleetmind.app.argtypes import nonneg, positive_number, positive_seconds  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
VMAS_VENV = ROOT / ".venv-vmas"
VMAS_PIN = "vmas==1.5.2"
VMAS_AGENTS = (25, 100)

TARGET_MS = {("vicsek", 100_000): 10.0, ("kuramoto", 100_000): 10.0, ("vicsek", 10_000): 1.0, ("kuramoto", 10_000): 1.0}


def machine() -> dict:
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = os.getloadavg() if hasattr(os, "getloadavg") else (math.nan,) * 3
    return {
        "node": platform.node(),
        "cpu": model,
        "cores": os.cpu_count(),
        "load_1min": round(load[0], 2),
        "python": platform.python_version(),
        "numba": version("numba"),
        "numba_threads": os.environ.get("NUMBA_NUM_THREADS", str(os.cpu_count())),
        "numba_threading_layer": os.environ.get("NUMBA_THREADING_LAYER", "default"),
        "vicsek_threads_from_agents": kernels.VICSEK_PARALLEL_MIN_AGENTS,
    }


def make(world: str, n: int, density: float):
    box = math.sqrt(n / density)
    if world == "vicsek":
        return VicsekWorld(n, box=box, radius=1.0, speed=0.05, eta=0.5), None
    if world == "kuramoto":
        return KuramotoWorld(n, box=box, radius=1.0, coupling=1.0, sigma=0.1), None
    velocity = np.random.default_rng(0).normal(0.0, 0.05, (n, 2))
    return AggregationWorld(n, box=box, radius=1.0, vmax=0.1, sigma=0.01), velocity


def timed_steps(w, actions, steps: int) -> tuple[float, float]:
    """Median wall and CPU milliseconds of ``steps`` steps without observations."""
    times, cpu = [], []
    for _ in range(steps):
        t0, c0 = time.perf_counter(), time.process_time()
        w.step(actions, observe=False)
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return 1e3 * float(np.median(times)), 1e3 * float(np.median(cpu))


def mean_neighbours(w) -> float:
    """Mean number of neighbours within the radius (the pair work of a step grows with it)."""
    return float(kernels.circular_neighbour_sums(w.pos, np.zeros(w.n), w.box, w.radius, w.periodic, *w.cells(),
                                                 w.ncx)[2].mean())  # fmt: skip


def measure(world: str, n: int, density: float, steps: int, fly: int = 0) -> dict:
    """One row. ``fly`` > 0 (moving worlds): also the step time after ``fly`` more steps, when the agents have
    left their starting (cell) order and, in Vicsek, gathered into flocks (more neighbours each)."""
    w, actions = make(world, n, density)
    w.reset(0)
    for _ in range(2):
        w.step(actions, observe=False)
    ms, cpu_ms = timed_steps(w, actions, steps)
    obs = []
    for _ in range(max(3, steps // 3)):
        t0 = time.perf_counter()
        w.observe()
        obs.append(time.perf_counter() - t0)
    row = {
        "world": world,
        "agents": n,
        "ms_per_step": round(ms, 4),
        "agent_steps_per_s": round(n / (ms / 1e3)),
        "cpu_ms_per_step": round(cpu_ms, 4),
        "observe_ms": round(1e3 * float(np.median(obs)), 4),
        "density": density,
        "steps_timed": steps,
    }
    if world == "vicsek" and n >= 10_000:  # the other threading mode on the same world, right after (A/B)
        row["threads"] = n >= kernels.VICSEK_PARALLEL_MIN_AGENTS
        saved = kernels.VICSEK_PARALLEL_MIN_AGENTS
        kernels.VICSEK_PARALLEL_MIN_AGENTS = 10**12 if row["threads"] else 0  # read by ``VicsekWorld.step``
        try:
            w.step(actions, observe=False)  # compiles / warms the other path
            other, other_cpu = timed_steps(w, actions, steps)
        finally:
            kernels.VICSEK_PARALLEL_MIN_AGENTS = saved
        row.update(other_threads_ms_per_step=round(other, 4), other_threads_cpu_ms_per_step=round(other_cpu, 4))
    if fly > 0:
        before = mean_neighbours(w)
        for _ in range(fly):
            w.step(actions, observe=False)
        flown, flown_cpu = timed_steps(w, actions, steps)
        row.update(flown_after_steps=fly + 2 + steps, flown_ms_per_step=round(flown, 4),
                   flown_cpu_ms_per_step=round(flown_cpu, 4), mean_neighbours_start=round(before, 2),
                   mean_neighbours_flown=round(mean_neighbours(w), 2))  # fmt: skip
    return row


def vmas_python(install_timeout: float = 1800.0) -> tuple[Path | None, str]:
    """The venv's interpreter (created and VMAS installed when missing; bounded), or None and the reason."""
    python = VMAS_VENV / "bin" / "python"
    try:
        if not python.exists():
            print(f"creating {VMAS_VENV} ({VMAS_PIN}, pulls torch: a few GB; bounded to {install_timeout:.0f} s)")
            subprocess.run([sys.executable, "-m", "venv", str(VMAS_VENV)], check=True, timeout=120)
        if subprocess.run([str(python), "-c", "import vmas"], capture_output=True, timeout=120).returncode != 0:
            done = subprocess.run([str(python), "-m", "pip", "install", "-q", VMAS_PIN], capture_output=True, text=True,
                                  timeout=install_timeout)  # fmt: skip
            if done.returncode != 0:
                return None, f"pip install {VMAS_PIN} failed: {(done.stderr or done.stdout).strip().splitlines()[-1:]}"
    except (OSError, subprocess.SubprocessError) as exc:
        return None, f"cannot make {VMAS_VENV}: {exc}"
    return python, ""


def measure_vmas(agents: tuple[int, ...], budget_s: float, timeout_s: float = 900.0) -> list[dict]:
    """VMAS flocking rows from its own venv (``_vmas_flocking.py``), or one row saying why there are none."""
    python, why = vmas_python()
    if python is None:
        return [{"world": "vmas_flocking", "agents": None, "ms_per_step": None, "agent_steps_per_s": None,
                 "unavailable": why}]  # fmt: skip
    script = Path(__file__).with_name("_vmas_flocking.py")
    try:
        done = subprocess.run([str(python), str(script), str(budget_s), *map(str, agents)], capture_output=True,
                              text=True, timeout=timeout_s)  # fmt: skip
    except subprocess.TimeoutExpired:
        return [{"world": "vmas_flocking", "agents": None, "ms_per_step": None, "agent_steps_per_s": None,
                 "unavailable": f"VMAS did not finish within {timeout_s:.0f} s"}]  # fmt: skip
    rows = []
    for line in done.stdout.splitlines():
        if line.startswith("{"):
            got = json.loads(line)
            ms = got["ms_per_step"]
            rows.append({"world": "vmas_flocking", "agents": got["agents"], "ms_per_step": round(ms, 3),
                         "agent_steps_per_s": round(got["agents"] / (ms / 1e3), 1), "steps_timed": got["steps"],
                         "vmas": got["vmas"], "torch": got["torch"], "device": "cpu"})  # fmt: skip
    if not rows:
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:]
        rows.append({"world": "vmas_flocking", "agents": None, "ms_per_step": None, "agent_steps_per_s": None,
                     "unavailable": f"VMAS run failed (exit {done.returncode}): {tail}"})  # fmt: skip
    return rows


def side_by_side(rows: list[dict], vmas: list[dict]) -> None:
    """Print VMAS's rows beside our Vicsek world at the same N (and add ``ratio_vs_vmas`` to ours)."""
    print("\nVMAS flocking (CPU, its own venv; richer physics: forces, collisions, obstacles, LIDAR) vs our Vicsek:")
    for row in vmas:
        if row.get("unavailable"):
            print(f"  VMAS unavailable: {row['unavailable']}")
            continue
        ours = next((r for r in rows if r["world"] == "vicsek" and r["agents"] == row["agents"]), None)
        if ours is None:
            ours = measure("vicsek", row["agents"], 2.0, 21)
            ours["target"], ours["verdict"] = "-", "-"
            rows.append(ours)
        ratio = ours["agent_steps_per_s"] / row["agent_steps_per_s"]
        ours["ratio_vs_vmas"] = round(ratio, 1)
        row["ratio_ours_over_vmas"] = round(ratio, 1)
        verdict_text = "PASS" if ratio >= 100 else "MISS"
        print(f"  N={row['agents']:>4}: VMAS {row['ms_per_step']:>10.1f} ms/step {row['agent_steps_per_s']:>10,.1f} "
              f"agent-steps/s | ours {ours['ms_per_step']:.4f} ms/step {ours['agent_steps_per_s']:>12,} agent-steps/s"
              f" | ours/VMAS {ratio:,.0f}x (target >= 100x) {verdict_text}")  # fmt: skip


def verdict(row: dict) -> tuple[str, str]:
    target = TARGET_MS.get((row["world"], row["agents"]))
    if target is None:
        return "-", "-"
    return f"<= {target:g} ms", "PASS" if row["ms_per_step"] <= target else "MISS"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="100, 10,000 and 100,000 agents, fewer steps")
    ap.add_argument("--out", type=Path, default=Path("runs/bench"), help="folder for swarm_scaling.json")
    ap.add_argument("--density", type=positive_number, default=2.0, help="agents per unit area (neighbour radius 1)")
    ap.add_argument("--worlds", nargs="+", default=["vicsek", "kuramoto", "aggregation"])
    ap.add_argument("--no-vmas", action="store_true", help="skip the VMAS side by side (its venv pulls torch)")
    ap.add_argument(
        "--fly", type=nonneg, default=300, help="Vicsek: also time a step after this many more steps (0: not)"
    )
    ap.add_argument(
        "--vmas-seconds", type=positive_seconds, default=10.0, help="time budget per VMAS size (at least one step)"
    )
    args = ap.parse_args(argv)
    agents = [100, 10_000, 100_000] if args.quick else [100, 1_000, 10_000, 100_000]
    steps = 7 if args.quick else 21
    info = machine()
    stamp = dt.datetime.now().isoformat(timespec="seconds")
    print(f"swarm_scaling | {stamp} | {info['cpu']} | {info['cores']} cores | load {info['load_1min']} (1 min) | "
          f"python {info['python']} | numba {info['numba']} ({info['numba_threads']} threads, layer "
          f"{info['numba_threading_layer']}; Vicsek threads from {info['vicsek_threads_from_agents']:,} "
          "agents)")  # fmt: skip
    print(f"density {args.density} agents per unit area, radius 1 (about {math.pi * args.density:.1f} neighbours), "
          f"periodic box; median of {steps} steps, kernels warm")  # fmt: skip
    if info["load_1min"] > 0.5 * (info["cores"] or 1):
        print("note: machine busy (load above half the cores): other work shares these cores, so figures are slower")
    head = f"{'world':<12}{'agents':>9}{'ms/step':>11}{'agent-steps/s':>15}{'cpu ms':>9}{'observe ms':>12}"
    print(f"{head}  {'target':<10}verdict")
    rows = []
    for world in args.worlds:
        for n in agents:
            row = measure(world, n, args.density, steps, args.fly if world == "vicsek" and n > 100 else 0)
            target, ok = verdict(row)
            row["target"], row["verdict"] = target, ok
            rows.append(row)
            line = f"{world:<12}{n:>9,}{row['ms_per_step']:>11.3f}{row['agent_steps_per_s']:>15,}"
            print(f"{line}{row['cpu_ms_per_step']:>9.3f}{row['observe_ms']:>12.3f}  {target:<10}{ok}", flush=True)
            if "other_threads_ms_per_step" in row:
                mode = "serial" if row["threads"] else f"{info['numba_threads']} threads"
                other = row["other_threads_ms_per_step"]
                print(f"{'  ' + mode:<21}{other:>11.3f}{'':>15}{row['other_threads_cpu_ms_per_step']:>9.3f}  "
                      "(same world, the other threading mode)")  # fmt: skip
            if "flown_ms_per_step" in row:
                print(f"{'  after':<12}{row['flown_after_steps']:>9,} steps: {row['flown_ms_per_step']:.3f} ms/step, "
                      f"cpu {row['flown_cpu_ms_per_step']:.3f} ms (flocks: mean neighbours "
                      f"{row['mean_neighbours_start']} -> {row['mean_neighbours_flown']})", flush=True)  # fmt: skip
    if not args.no_vmas:
        vmas = measure_vmas(VMAS_AGENTS, args.vmas_seconds)
        side_by_side(rows, vmas)
        rows += vmas
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / "swarm_scaling.json"
    path.write_text(json.dumps({"machine": info, "time": stamp, "quick": args.quick, "rows": rows}, indent=1))
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
