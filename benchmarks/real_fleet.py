"""Real-robot executor on SITL robots (issue 14): lifelong MAPF, a link cut, an e-stop.

    .venv/bin/python benchmarks/real_fleet.py --out runs/bench            # 8 robots, 100 steps (~5-8 min)
    .venv/bin/python benchmarks/real_fleet.py --out runs/bench --quick    # 8 robots, 20 steps

1. Lifelong MAPF on a small warehouse map (``warehouse_map(2, 2, 4)``: 9x23 cells of 0.5 m, two rows of shelves),
   N SITL robots (the C firmware with its motion model: 2 m/s^2 wheel acceleration, 0.01 m/s wheel noise), PIBT,
   every plan through the shield and the full executor (25 Hz control, separation 0.3 m): throughput (goals per
   step), mean step time, max tracking error (distance from the cell-to-cell segment), collisions (centres closer
   than 0.15 m; must be 0), near-misses (closer than the 0.3 m separation), the smallest distance seen.
2. Link cut: the same fleet, one robot's UDP link through a proxy that drops everything from mid-step 3 on. Its stop
   (SITL clock: last accepted command -> motors zeroed, must be <= 200 ms), when the executor finds it lost and drops
   it (host clock, from the cut), and how many steps the others complete after it.
3. E-stop: mid-step, another thread calls ``estop_all()``; the time from the call until every robot's telemetry shows
   zero speed with the e-stop latched (must be <= 200 ms).

Prints the figures with the machine and its load, writes ``OUT/real_fleet.json``; exit 1 when a must is missed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fleetmind.firmware_bridge.config import FirmwareFleetConfig, RobotLinkConfig
from fleetmind.firmware_bridge.executor import ExecutorFleet
from fleetmind.firmware_bridge.executor_config import ExecutorSettings, SitlSettings
from fleetmind.firmware_bridge.fleet import FirmwareFleet
from fleetmind.planners.registry import make_planner
from fleetmind.sim.grid.mapf import MapfFleet
from fleetmind.tasks.mapf_lifelong import TASK
from fleetmind.tasks.mapf_lifelong.maps import warehouse_map

from fleetmind.app.argtypes import positive
from fleetmind.app.firmware import start_sitl_robots
from fleetmind.app.runner import shielded_step
from fleetmind.testing.faults import FaultRates, FaultyUdpProxy

SETTINGS = ExecutorSettings(cell_size=0.5, sitl=SitlSettings(wheel_noise=0.01, max_accel=2.0, seed=1))
STOP_LIMIT = 0.2


def machine() -> str:
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return f"{platform.node()} {platform.machine()} {os.cpu_count()} cpus, load {load:.1f}, {platform.platform()}"


def build(robots: int, steps: int, cut: int | None = None) -> tuple[ExecutorFleet, list[Any], FaultyUdpProxy | None]:
    """N SITL robots behind the executor; robot ``cut`` (if any) reached through a fault proxy."""
    inner = MapfFleet(warehouse_map(2, 2, 4), robots, episode_steps=steps)
    links, owned = start_sitl_robots(list(inner.robot_ids), SETTINGS.sitl)  # type: ignore[arg-type]
    proxy = None
    if cut is not None:
        rc = links[cut]
        proxy = FaultyUdpProxy(("127.0.0.1", rc.udp_port), FaultRates(0.0, 0.0, 0.0)).start()  # type: ignore[arg-type]
        links[cut] = RobotLinkConfig(**{**rc.model_dump(), "udp_port": proxy.address[1]})
    config = FirmwareFleetConfig(robots=links, heartbeat_timeout=SETTINGS.heartbeat_timeout, step_limit=1_000_000)
    fleet = ExecutorFleet(inner, TASK, FirmwareFleet(config, owned=owned), SETTINGS)
    fleet.processes = [o for o in owned if hasattr(o, "proc")]
    return fleet, fleet.processes, proxy


def episode(fleet: ExecutorFleet, steps: int, on_step: Any = None) -> tuple[list[Any], float]:
    planner = make_planner("pibt", TASK.name, {})
    obs = fleet.reset(0)
    planner.reset(obs, 0)
    results = []
    t0 = time.monotonic()
    for k in range(steps):
        if on_step:
            on_step(k)
        result = shielded_step(fleet, obs, planner.plan(obs))
        planner.observe_result(result)
        results.append(result)
        obs = result.observation
        if result.done:
            break
    return results, time.monotonic() - t0


def keep_logs(processes: list[Any], out: Path | None) -> None:
    """Copy the SITLs' event logs (their temporary folder goes with the fleet) to ``out``."""
    if out is None:
        return
    out.mkdir(parents=True, exist_ok=True)
    for process in processes:
        if process.events_path is not None and process.events_path.exists():
            shutil.copy(process.events_path, out / process.events_path.name)


def mapf(robots: int, steps: int, logs: Path | None = None) -> dict[str, Any]:
    fleet, processes, _ = build(robots, steps)
    try:
        results, wall = episode(fleet, steps)
        if results[-1].failure_reason is not None:
            keep_logs(processes, logs)
    finally:
        fleet.close()
    m = results[-1].metrics
    keys = ("collisions", "near_misses", "min_distance", "max_tracking_error", "mean_step_time", "goals_reached")
    return {
        "robots": robots,
        "steps": len(results),
        "failure_reason": results[-1].failure_reason,
        "throughput": m.get("avg_throughput"),
        **{k: m.get(k) for k in keys},
        "wall_s": round(wall, 2),
    }


def link_cut(robots: int, steps: int, cut: int = 3, at_step: int = 3) -> dict[str, Any]:
    fleet, sitls, proxy = build(robots, steps, cut)
    assert proxy is not None
    rid = fleet.robot_ids[cut]
    cut_time: list[float] = []

    def arm_cut(k: int) -> None:
        if k == at_step:

            def go() -> None:
                proxy.rates.loss = 1.0
                cut_time.append(fleet.clock.now())

            threading.Timer(0.5, go).start()

    try:
        results, _ = episode(fleet, steps, arm_cut)
        events = sitls[cut].events()
        lost_at = fleet.lost_at.get(rid)
    finally:
        fleet.close()
        proxy.close()
    dropped_step = next((i for i, r in enumerate(results) if any(e.kind == "lost" for e in r.events)), None)
    zero = [int(e["t"]) for e in events if e["kind"] in ("motors_zero", "watchdog")]
    cmds = [int(e["t"]) for e in events if e["kind"] == "cmd"]
    last_cmd = max(cmds) if cmds else None
    stop_ms = min((z - last_cmd for z in zero if last_cmd is not None and z >= last_cmd), default=None)
    after = len(results) - 1 - dropped_step if dropped_step is not None else 0
    return {
        "cut_robot": rid,
        "stop_ms_sitl_clock": stop_ms,
        "lost_after_s": round(lost_at - cut_time[0], 3) if lost_at is not None and cut_time else None,
        "dropped_at_step": None if dropped_step is None else dropped_step + 1,
        "steps_after_drop": after,
        "final_failure_reason": results[-1].failure_reason,
        "collisions": results[-1].metrics.get("collisions"),
    }


def estop(robots: int) -> dict[str, Any]:
    fleet, _, _ = build(robots, 10)

    def trigger(k: int) -> None:
        if k == 0:
            threading.Timer(0.6, fleet.estop_all).start()

    try:
        results, _ = episode(fleet, 3, trigger)
        report = fleet.last_estop
    finally:
        fleet.close()
    zero = report.get("zero_speed_after", {})
    return {
        "failure_reason": results[-1].failure_reason,
        "acked": sum(report.get("acked", {}).values()),
        "stopped": len(zero),
        "zero_speed_all_ms": round(max(zero.values()) * 1000, 1) if len(zero) == robots else None,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path("runs/bench"))
    ap.add_argument("--robots", type=positive, default=8)
    ap.add_argument("--steps", type=positive, default=100)
    ap.add_argument("--quick", action="store_true", help="20 MAPF steps")
    args = ap.parse_args()
    steps = 20 if args.quick else args.steps
    stamp = datetime.now(UTC).isoformat(timespec="seconds")
    print(f"real_fleet benchmark | {stamp} | {machine()}")
    out: dict[str, Any] = {"timestamp": stamp, "machine": machine(), "settings": SETTINGS.model_dump(mode="json")}
    out["mapf"] = m = mapf(args.robots, steps, args.out / "sitl_logs")
    print(
        f"MAPF lifelong, {m['robots']} SITL robots, {m['steps']} steps: "
        f"throughput {m['throughput'] or 0.0:.3f} goals/step, mean step {m['mean_step_time'] or 0.0:.2f} s, "
        f"max tracking error {(m['max_tracking_error'] or 0.0) * 100:.1f} cm, "
        f"collisions {m['collisions']} (must be 0), near-misses {m['near_misses']} (< {SETTINGS.min_separation} m), "
        f"min distance {m['min_distance']} m, failure {m['failure_reason']}, wall {m['wall_s']} s"
    )
    out["link_cut"] = c = link_cut(args.robots, 12)
    print(
        f"link cut of {c['cut_robot']}: stopped {c['stop_ms_sitl_clock']} ms after its last command (SITL clock, "
        f"<= 200), found lost and dropped {c['lost_after_s']} s after the cut (heartbeat timeout "
        f"{SETTINGS.heartbeat_timeout} s), in step {c['dropped_at_step']}; the others then completed "
        f"{c['steps_after_drop']} more steps (end: {c['final_failure_reason']}), collisions {c['collisions']}"
    )
    out["estop"] = e = estop(args.robots)
    print(
        f"e-stop from another thread mid-step: {e['acked']}/{args.robots} acknowledged, zero speed on all "
        f"{e['stopped']} after {e['zero_speed_all_ms']} ms (<= 200), step ended with {e['failure_reason']}"
    )
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "real_fleet.json").write_text(json.dumps(out, indent=2) + "\n")
    ok = (
        m["collisions"] == 0
        and c["stop_ms_sitl_clock"] is not None
        and c["stop_ms_sitl_clock"] <= STOP_LIMIT * 1000
        and e["zero_speed_all_ms"] is not None
        and e["zero_speed_all_ms"] <= STOP_LIMIT * 1000
    )
    print("verdict:", "all musts met" if ok else "a must was MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
