"""E-stop over the ROS real graph (issue 14): ``/fleet/estop`` while SITL robots drive.

    .venv/bin/python benchmarks/ros_estop.py --out runs/bench [--scenario scenarios/mapf_lifelong_4_sitl.yaml]

Runs the scenario as ``fleetmind up`` does (SITL robots, one ``fleetmind_bridge`` each, the world over them, the
planner) and, 0.3 s into step ``--at-step`` (robots moving), calls ``/fleet/estop`` (``std_srvs/Trigger``) from
another node. Figures: the service round trip (call -> response), per robot the time from the call until its
odometry (through its bridge) shows zero speed with the e-stop latched (the executor's own measurement, in the
response), the SITLs' ``estop`` events (their firmware latched it), and the episode's end (``failure_reason:
estop``). Prints them with the machine and its load, writes ``OUT/ros_estop.json``; exit 1 when a robot took more
than 200 ms or the episode did not end with ``estop``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import threading
import time
from pathlib import Path
from typing import Any

from fleetmind.app.argtypes import nonneg
from fleetmind.ros.up import UpConfig, up

LIMIT_S = 0.2


def machine() -> str:
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return f"{platform.node()} {platform.machine()} {os.cpu_count()} cpus, load {load:.1f}, {platform.platform()}"


def call_estop(timeout_s: float = 10.0) -> tuple[float, dict[str, Any]]:
    """Call ``/fleet/estop`` from a node of its own; ``(round trip seconds, response document)``."""
    import rclpy
    from rclpy.context import Context
    from std_srvs.srv import Trigger

    context = Context()
    rclpy.init(context=context)
    node = rclpy.create_node("estop_caller", context=context)
    try:
        client = node.create_client(Trigger, "/fleet/estop")
        if not client.wait_for_service(timeout_sec=timeout_s):
            return float("nan"), {"error": "no /fleet/estop service"}
        from rclpy.executors import SingleThreadedExecutor

        executor = SingleThreadedExecutor(context=context)
        executor.add_node(node)
        t0 = time.monotonic()
        future = client.call_async(Trigger.Request())
        while not future.done() and time.monotonic() - t0 < timeout_s:
            executor.spin_once(timeout_sec=0.01)
        elapsed = time.monotonic() - t0
        if not future.done():
            return elapsed, {"error": f"no response within {timeout_s}s"}
        return elapsed, json.loads(future.result().message)
    finally:
        node.destroy_node()
        rclpy.shutdown(context=context)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--scenario", default="scenarios/mapf_lifelong_4_sitl.yaml")
    ap.add_argument("--at-step", type=nonneg, default=2)
    args = ap.parse_args(argv)
    os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
    robots: list[Any] = []
    figures: dict[str, Any] = {}
    events: dict[str, list[dict[str, str]]] = {}

    def on_state(state: dict[str, Any], procs: list[Any]) -> None:
        if state["step"] >= args.at_step and "round_trip_s" not in figures and "pending" not in figures:
            figures["pending"] = True

            def stop() -> None:
                time.sleep(0.3)  # mid-step: the robots are driving
                figures["round_trip_s"], figures["response"] = call_estop()

            threading.Thread(target=stop, daemon=True).start()
        if state["done"]:
            for k, sitl in enumerate(robots):
                events[f"robot_{k}"] = [e for e in sitl.events() if e["kind"] == "estop"]

    config = UpConfig(args.scenario, timeout_s=300, log_dir=args.out / "ros_estop_logs")
    result = up(config, report=print, on_state=on_state, on_robots=robots.extend)
    deadline = time.monotonic() + 15.0
    while "round_trip_s" not in figures and time.monotonic() < deadline:
        time.sleep(0.1)
    zero = figures.get("response", {}).get("zero_speed_after", {})
    out = {
        "machine": machine(),
        "scenario": args.scenario,
        "episode": {"ran": result.ran, "steps": result.steps, "failure_reason": result.failure_reason},
        "round_trip_s": figures.get("round_trip_s"),
        "zero_speed_after_s": zero,
        "acked": figures.get("response", {}).get("acked"),
        "sitl_estop_events": {r: len(e) for r, e in events.items()},
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "ros_estop.json").write_text(json.dumps(out, indent=2))
    print(f"machine: {out['machine']}")
    print(f"episode: {out['episode']}")
    print(f"/fleet/estop round trip: {out['round_trip_s']}")
    worst = max(zero.values()) if zero else float("nan")
    print(f"call -> zero speed per robot (s): {zero}  worst {worst:.3f} (must be <= {LIMIT_S})")
    print(f"SITL estop events: {out['sitl_estop_events']}")
    ok = bool(zero) and worst <= LIMIT_S and len(zero) == len(robots) and result.failure_reason == "estop"
    print("verdict:", "OK" if ok else "MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
