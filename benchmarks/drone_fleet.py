"""MAVLink drone fleet over real UDP (issue 14, drones): vehicle-double processes, lifelong MAPF, a link cut, an e-stop.

    .venv/bin/python benchmarks/drone_fleet.py --out runs/bench               # 3 vehicles, 10 steps (~1 min)
    .venv/bin/python benchmarks/drone_fleet.py --out runs/bench --vehicles 6 --steps 20

Each vehicle is a ``fleetmind.testing.vehicle_double`` process (PX4 mode numbers, every second one ArduPilot's) on
its own UDP port, driven by :class:`fleetmind.firmware_bridge.drones.MavlinkFleet` on the real clock, with the
keep-alive thread streaming setpoints between steps. The doubles fly kinematically (2 m/s cap, land at 1 m/s), so
the times below are the fleet's protocol and waiting, not a flight model.

1. Lifelong MAPF on a 4x6 open grid (1 m cells, 1.5 m altitude), PIBT, every plan through the shield: take-off time
   (reset), mean and max step time, the largest distance from the setpoint at arrival, the closest two vehicles came
   (take-off included; 1 m cells, an L-shaped follow passes 0.707 m), landing time, and whether any
   vehicle fell out of offboard between steps (the planner "thinks" 1 s before every step; must be 0).
2. Link cut: one double is stopped (SIGSTOP) mid-step: time until the fleet finds the link lost (heartbeat timeout
   1 s; the fleet's clock is time.monotonic, as here) and commands land, the step's result (must be robot_lost), and
   whether the other vehicles landed.
3. E-stop: mid-step, another thread calls ``estop_all()``: time until every vehicle has been commanded to land and
   until every heartbeat reports land mode (the doubles beat at 5 Hz), and until all are disarmed on the ground.

Prints the figures with the machine and its load, writes ``OUT/drone_fleet.json``; exit 1 when a must is missed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from fleetmind.firmware_bridge.drone_config import DroneFleetConfig
from fleetmind.firmware_bridge.drones import MavlinkFleet
from fleetmind.planners.registry import make_planner
from fleetmind.robots.ids import RobotId
from fleetmind.sim.grid.mapf import MapfFleet
from fleetmind.tasks.mapf_lifelong import TASK
from fleetmind.tasks.mapf_lifelong.maps import parse_string_map

from fleetmind.app.argtypes import positive
from fleetmind.app.runner import shielded_step

GRID = "......\n......\n......\n......"
THINK = 1.0  # seconds the "planner" waits before each step: the keep-alive thread must stream meanwhile


def machine() -> str:
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return f"{platform.node()} {platform.machine()} {os.cpu_count()} cpus, load {load:.1f}, {platform.platform()}"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Doubles:
    """``n`` vehicle-double processes on free UDP ports, their logs in a temporary folder."""

    def __init__(self, n: int) -> None:
        self.folder = tempfile.TemporaryDirectory(prefix="fleetmind-drones-")
        self.autopilots = ["px4" if k % 2 == 0 else "ardupilot" for k in range(n)]
        self.ports, self.logs, self.procs = [], [], []
        for k, autopilot in enumerate(self.autopilots):
            port, log = free_port(), Path(self.folder.name) / f"robot_{k}.log"
            cmd = [sys.executable, "-m", "fleetmind.testing.vehicle_double", "--port", str(port), "--log", str(log)]
            proc = subprocess.Popen([*cmd, "--autopilot", autopilot], stdout=subprocess.PIPE, start_new_session=True)
            assert proc.stdout is not None and proc.stdout.readline().strip() == b"READY"
            self.ports.append(port)
            self.logs.append(log)
            self.procs.append(proc)

    def notes(self, k: int) -> list[str]:
        return [line.split(" ", 1)[1] for line in self.logs[k].read_text().splitlines()]

    def close(self) -> None:
        for proc in self.procs:
            proc.send_signal(signal.SIGCONT)
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
        self.folder.cleanup()


def build(doubles: Doubles, steps: int) -> MavlinkFleet:
    n = len(doubles.ports)
    robots = [
        {"name": f"robot_{k}", "url": f"udpout:127.0.0.1:{port}", "autopilot": a}
        for k, (port, a) in enumerate(zip(doubles.ports, doubles.autopilots, strict=True))
    ]
    config = DroneFleetConfig.model_validate({"robots": robots, "cell_size": 1.0, "altitude": 1.5, "layer_gap": 1.0})
    return MavlinkFleet(MapfFleet(parse_string_map(GRID), n, steps, "restart"), TASK, config)


def flight(n: int, steps: int) -> dict[str, Any]:
    doubles = Doubles(n)
    fleet = build(doubles, steps)
    planner = make_planner("pibt", TASK.name, {})
    try:
        t0 = time.monotonic()
        obs = fleet.reset(seed=0)
        takeoff = time.monotonic() - t0
        times, result = [], None
        for _ in range(steps):
            time.sleep(THINK)
            plan = planner.plan(obs)
            t = time.monotonic()
            result = shielded_step(fleet, obs, plan)
            times.append(time.monotonic() - t)
            obs = result.observation
            if result.done:
                break
        assert result is not None
        starved = sum(note.startswith("MODE hold offboard_loss") for k in range(n) for note in doubles.notes(k))
        return {
            "vehicles": n,
            "steps": len(times),
            "takeoff_s": round(takeoff, 3),
            "mean_step_s": round(sum(times[:-1]) / max(1, len(times) - 1), 3),
            "max_step_s": round(max(times[:-1], default=0.0), 3),
            "last_step_with_landing_s": round(times[-1], 3),
            "max_arrival_error_m": result.metrics["max_arrival_error"],
            "closest_vehicles_m": result.metrics["closest_vehicles"],
            "goals_reached": result.metrics.get("goals_reached"),
            "failure_reason": result.failure_reason,
            "landed": result.metrics["landed"],
            "offboard_losses_between_steps": starved,
        }
    finally:
        fleet.close()
        doubles.close()


def link_cut(n: int) -> dict[str, Any]:
    doubles = Doubles(n)
    fleet = build(doubles, 100)
    planner = make_planner("pibt", TASK.name, {})
    try:
        obs = fleet.reset(seed=1)
        cut_at: list[float] = []

        def cut() -> None:
            time.sleep(0.1)
            cut_at.append(time.monotonic())
            doubles.procs[0].send_signal(signal.SIGSTOP)

        threading.Thread(target=cut, daemon=True).start()
        result = shielded_step(fleet, obs, planner.plan(obs))
        v0 = fleet.vehicles[RobotId("robot_0")]
        assert v0.lost_at is not None and v0.last_heartbeat is not None
        others = [not fleet.vehicles[RobotId(f"robot_{k}")].armed for k in range(1, n)]
        return {
            "failure_reason": result.failure_reason,
            "cut_to_lost_and_land_commanded_s": round(v0.lost_at - cut_at[0], 3),
            "last_heartbeat_to_lost_s": round(v0.lost_at - v0.last_heartbeat, 3),
            "link_losses": v0.link_losses,
            "others_landed": all(others),
        }
    finally:
        fleet.close()
        doubles.close()


def estop(n: int) -> dict[str, Any]:
    doubles = Doubles(n)
    fleet = build(doubles, 100)
    planner = make_planner("pibt", TASK.name, {})
    try:
        obs = fleet.reset(seed=2)
        marks: dict[str, float] = {}

        def stop() -> None:
            time.sleep(0.15)
            marks["call"] = time.monotonic()
            fleet.estop_all()
            marks["returned"] = time.monotonic()

        def watch() -> None:  # reads the vehicles' state only (the links are served by the fleet's threads)
            end = time.monotonic() + 30
            while time.monotonic() < end and "mode" not in marks:
                if "call" in marks and all(v.mode_is("land") for v in fleet.vehicles.values()):
                    marks["mode"] = time.monotonic()
                time.sleep(0.001)

        threads = [threading.Thread(target=f, daemon=True) for f in (stop, watch)]
        for th in threads:
            th.start()
        result = shielded_step(fleet, obs, planner.plan(obs))
        marks["step_returned"] = time.monotonic()
        for th in threads:
            th.join(timeout=40)
        return {
            "failure_reason": result.failure_reason,
            "call_to_land_mode_on_all_s": round(marks.get("mode", float("nan")) - marks["call"], 3),
            "call_to_all_landed_and_disarmed_s": round(marks["step_returned"] - marks["call"], 3),
            "landed": result.metrics["landed"],
        }
    finally:
        fleet.close()
        doubles.close()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--vehicles", type=positive, default=3)
    ap.add_argument("--steps", type=positive, default=10)
    args = ap.parse_args()
    out: dict[str, Any] = {"machine": machine(), "grid": GRID.replace("\n", "/"), "think_s": THINK}
    print(f"machine: {out['machine']}")
    for name, run in (
        ("flight", lambda: flight(args.vehicles, args.steps)),
        ("link_cut", lambda: link_cut(args.vehicles)),
        ("estop", lambda: estop(args.vehicles)),
    ):
        out[name] = run()
        print(f"{name}: " + ", ".join(f"{k}={v}" for k, v in out[name].items()), flush=True)
    musts = {
        "no offboard loss between steps": out["flight"]["offboard_losses_between_steps"] == 0,
        "flight lands every vehicle": out["flight"]["landed"] == args.vehicles,
        "link cut ends robot_lost": out["link_cut"]["failure_reason"] == "robot_lost",
        "link cut lands the others": out["link_cut"]["others_landed"],
        "e-stop ends estop": out["estop"]["failure_reason"] == "estop",
        "e-stop lands every vehicle": out["estop"]["landed"] == args.vehicles,
    }
    out["musts"] = musts
    for what, ok in musts.items():
        print(f"{'ok  ' if ok else 'MISS'} {what}")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "drone_fleet.json").write_text(json.dumps(out, indent=2) + "\n")
    return 0 if all(musts.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
