"""Node stop latency: every node of ``fleetmind up`` must end within 2 s of its SIGTERM (issue 13 item 1).

    .venv/bin/python benchmarks/node_stop.py [--trials 3] [--delay S] [--load [N]] [--out DIR]  ->  DIR/node_stop.json

Each trial starts ``fleetmind up boxnet1_2x2 --planner dmas --llm oracle``, waits for the world's "episode ...
started" line (the agents are then importing the OpenAI client stack and starting their oracle servers: the slow
phase), waits ``--delay`` s more and SIGKILLs ``up``: the kernel sends every node SIGTERM (``PR_SET_PDEATHSIG``).
This process is their sub-reaper, so it reaps each node when it ends: the figure is the time from the SIGKILL to
that, and the exit status says how it ended (0: clean stop, 143: the 1.5 s SIGTERM deadline). ``--load`` starts N
busy processes (default: one per CPU) for the whole run. Exit 1 if any node took 2 s or more.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import multiprocessing
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from fleetmind.app.argtypes import nonneg, nonneg_seconds, positive

ROOT = Path(__file__).resolve().parents[1]
BOUND_S = 2.0
PR_SET_CHILD_SUBREAPER = 36


def _busy() -> None:  # pragma: no cover - runs in a child process
    while True:
        pass


def _marked(mark: str) -> dict[int, str]:
    """Live processes whose environment carries ``mark``: pid -> node name (from ``__ns:=`` and the script)."""
    found = {}
    for env in Path("/proc").glob("[0-9]*/environ"):
        try:
            if mark.encode() not in env.read_bytes():
                continue
            args = [a.decode() for a in (env.parent / "cmdline").read_bytes().split(b"\0") if a]
        except OSError:
            continue
        script = Path(args[1]).name if len(args) > 1 else "?"
        ns = next((a[len("__ns:=") :] for a in args if a.startswith("__ns:=")), "")
        found[int(env.parent.name)] = f"{ns}/{script}".lstrip("/")
    return found


def one_trial(delay_s: float, domain: int) -> dict[str, dict[str, float | int | None]]:
    """One SIGKILLed ``fleetmind up``: per node, seconds from the SIGKILL to its exit and its exit status."""
    with tempfile.TemporaryDirectory() as tmp:
        logs, mark = Path(tmp) / "logs", uuid.uuid4().hex
        env = {
            **os.environ,
            "ROS_AUTOMATIC_DISCOVERY_RANGE": "LOCALHOST",
            "ROS_DOMAIN_ID": str(domain),
            "ROS_LOG_DIR": str(Path(tmp) / "ros_log"),
            "FLEETMIND_BENCH_MARK": mark,
        }
        cmd = [str(Path(sys.executable).parent / "fleetmind"), "up", "boxnet1_2x2", "--planner", "dmas"]
        cmd += ["--llm", "oracle", "--log-dir", str(logs)]
        up = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 120
        while "started" not in _read(logs / "world.log"):
            if time.monotonic() > deadline or up.poll() is not None:
                up.kill()
                raise SystemExit(f"the episode did not start; see {logs}")
            time.sleep(0.02)
        time.sleep(delay_s)
        nodes = {pid: name for pid, name in _marked(mark).items() if pid != up.pid}
        up.send_signal(signal.SIGKILL)
        killed = time.monotonic()
        up.wait()
        out: dict[str, dict[str, float | int | None]] = {n: {"seconds": None, "status": None} for n in nodes.values()}
        while any(v["seconds"] is None for v in out.values()) and time.monotonic() - killed < 10.0:
            pid, status = os.waitpid(-1, os.WNOHANG)
            if pid == 0:
                time.sleep(0.005)
            elif pid in nodes:
                code = os.waitstatus_to_exitcode(status)
                out[nodes[pid]] = {"seconds": round(time.monotonic() - killed, 3), "status": code}
        for pid in _marked(mark):  # never leave a node behind
            os.kill(pid, signal.SIGKILL)
        return out


def _read(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except OSError:
        return ""


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=positive, default=3)
    ap.add_argument(
        "--delay", type=nonneg_seconds, default=0.0, help="seconds between the episode's start and the SIGKILL"
    )
    ap.add_argument(
        "--load",
        type=nonneg,
        nargs="?",
        const=os.cpu_count() or 1,
        default=0,
        metavar="N",
        help="start N busy processes for the whole run (default N: one per CPU)",
    )
    ap.add_argument("--out", type=Path, default=None, help="also write DIR/node_stop.json")
    args = ap.parse_args(argv)
    if not sys.platform.startswith("linux"):
        raise SystemExit("node_stop: Linux only (PR_SET_PDEATHSIG, PR_SET_CHILD_SUBREAPER)")
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise SystemExit("node_stop: cannot become the nodes' sub-reaper (prctl failed)")
    load = [multiprocessing.Process(target=_busy, daemon=True) for _ in range(args.load)]
    for p in load:
        p.start()
    trials = []
    try:
        for i in range(args.trials):
            trial = one_trial(args.delay, 180 + (os.getpid() + i) % 40)
            trials.append(trial)
            print(f"trial {i + 1}: " + ", ".join(f"{n} {v['seconds']} s ({v['status']})" for n, v in trial.items()))
    finally:
        for p in load:
            p.terminate()
            p.join(2.0)
    times = [v["seconds"] for t in trials for v in t.values()]
    worst = max((s if s is not None else float("inf")) for s in times) if times else float("inf")
    result = {
        "max_stop_s": worst,
        "bound_s": BOUND_S,
        "verdict": "pass" if worst < BOUND_S else "FAIL",
        "statuses": sorted({v["status"] for t in trials for v in t.values()}, key=str),
        "trials": trials,
        "delay_s": args.delay,
        "load_processes": args.load,
        "loadavg_at_end": [round(x, 2) for x in os.getloadavg()],
        "machine": f"{platform.node()} {platform.machine()} {os.cpu_count()} cpus, {platform.platform()}",
        "python": platform.python_version(),
        "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "node_stop.json").write_text(json.dumps(result, indent=2) + "\n")
    summary = {k: v for k, v in result.items() if k != "trials"}
    print(json.dumps(summary, indent=2))
    return 0 if result["verdict"] == "pass" else 1


if __name__ == "__main__":
    sys.exit(main())
