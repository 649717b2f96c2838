"""Link-cut latency: the SITL must stop its motors within 200 ms of the last valid command (its own clock).

    .venv/bin/python benchmarks/link_cut.py --out DIR [--trials 20] [--load [N]] [--flood]  ->  DIR/link_cut.json

Each trial streams SetVelocity at 25 Hz for 0.3 s, then goes silent; the SITL logs the time of the last
accepted command and of the motors being zeroed. Trials alternate pty and UDP (keyed). The host-side
heartbeat-loss detection time (robot process killed) is measured too. ``--load`` starts N busy processes
(default: one per CPU) for the whole run; ``--flood`` has another process send forged frames (no tag, so every
one is verified and rejected) to the SITL as fast as it can during the trials. Exit 1 if any stop took longer
than 200 ms.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing
import os
import platform
import signal
import socket
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from fleetmind.firmware_bridge.codec import encode_frame
from fleetmind.firmware_bridge.link import RobotLink
from fleetmind.firmware_bridge.messages import Arm, SetVelocityMsg
from fleetmind.firmware_bridge.transport import SerialTransport, UdpTransport

from fleetmind.app.argtypes import nonneg, positive
from fleetmind.testing.sitl import Sitl, build_sitl

KEY = bytes(range(32))


def _busy() -> None:  # pragma: no cover - runs in a child process
    while True:
        pass


def _flood(target: str | tuple[str, int], robot: int) -> None:  # pragma: no cover - runs in a child process
    """Forged SetVelocity frames without a tag, back to back, into the SITL's pty or UDP port."""
    frames = [encode_frame(SetVelocityMsg(1.0, 0.0), robot, seq, 0) for seq in range(1, 1001)]
    if isinstance(target, str):
        fd = os.open(target, os.O_WRONLY | os.O_NOCTTY | os.O_NONBLOCK)
        while True:
            for frame in frames:
                with contextlib.suppress(BlockingIOError):
                    os.write(fd, frame)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    while True:
        for frame in frames:
            with contextlib.suppress(OSError):
                sock.sendto(frame, target)


def _start(target: object, *args: object) -> multiprocessing.Process:
    proc = multiprocessing.Process(target=target, args=args, daemon=True)
    proc.start()
    return proc


def _stop(procs: list[multiprocessing.Process]) -> None:
    for proc in procs:
        proc.terminate()
        proc.join(2.0)


def one_cut(sitl: Sitl, link: RobotLink) -> None:
    end = time.monotonic() + 0.3
    while time.monotonic() < end:
        link.send(SetVelocityMsg(0.3, 0.1))
        link.poll_for(0.04)
    link.poll_for(0.3)


def latencies(sitl: Sitl) -> list[int]:
    out, last = [], None
    for ev in sitl.events():
        if ev["kind"] == "cmd":
            last = int(ev["t"])
        elif ev["kind"] == "motors_zero" and last is not None:
            out.append(int(ev["t"]) - last)
            last = None
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--trials", type=positive, default=20)
    ap.add_argument(
        "--load",
        type=nonneg,
        nargs="?",
        const=os.cpu_count() or 1,
        default=0,
        metavar="N",
        help="start N busy processes for the whole run (default N: one per CPU)",
    )
    ap.add_argument("--flood", action="store_true", help="flood the SITL with forged frames during the trials")
    args = ap.parse_args(argv)
    binary = build_sitl()
    lat: list[int] = []
    lost_ms: list[float] = []
    load = [_start(_busy) for _ in range(args.load)]
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for mode, trials in (("pty", args.trials // 2), ("udp", args.trials - args.trials // 2)):
                with Sitl(mode, robot_id=2, key=KEY, events=Path(tmp) / f"{mode}.log", binary=binary) as sitl:
                    transport = SerialTransport(sitl.pty) if sitl.pty else UdpTransport(*(sitl.udp or ("", 0)))
                    link = RobotLink(transport, 2, KEY)
                    if not link.sync(2.0) or link.request(Arm()) is None:
                        raise SystemExit(f"{mode}: SITL did not answer")
                    flood = [_start(_flood, sitl.pty or sitl.udp, 2)] if args.flood else []
                    try:
                        for _ in range(trials):
                            one_cut(sitl, link)
                    finally:
                        _stop(flood)
                    transport.close()
                    lat += latencies(sitl)
            for _ in range(3):
                with Sitl("udp", robot_id=2, key=KEY, binary=binary) as sitl:
                    link = RobotLink(UdpTransport(*(sitl.udp or ("", 0))), 2, KEY)
                    link.sync(2.0)
                    link.poll_for(0.1)
                    sitl.proc.send_signal(signal.SIGKILL)
                    last = link.telemetry_time or time.monotonic()
                    while not link.lost:
                        link.poll(0.002)
                    lost_ms.append((time.monotonic() - last) * 1000)
                    link.transport.close()
    finally:
        _stop(load)
    result = {
        "stop_latency_ms_max": max(lat),
        "stop_latency_ms_min": min(lat),
        "stop_latency_ms_mean": round(statistics.mean(lat), 1),
        "trials": len(lat),
        "host_lost_detect_ms_max": round(max(lost_ms), 1),
        "host_lost_timeout_ms": 500,
        "watchdog_trip_ms": 150,
        "load_processes": args.load,
        "flood": args.flood,
        "machine": f"{platform.node()} {platform.machine()} {os.cpu_count()} cpus, {platform.platform()}",
        "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "link_cut.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return 0 if result["stop_latency_ms_max"] <= 200 and len(lat) >= 20 else 1


if __name__ == "__main__":
    sys.exit(main())
