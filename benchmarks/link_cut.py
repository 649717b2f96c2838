"""Link-cut latency: the SITL must stop its motors within 200 ms of the last valid command (its own clock).

    .venv/bin/python benchmarks/link_cut.py --out DIR [--trials 20]   ->  DIR/link_cut.json

Each trial streams SetVelocity at 25 Hz for 0.3 s, then goes silent; the SITL logs the time of the last
accepted command and of the motors being zeroed. Trials alternate pty and UDP (keyed). The host-side
heartbeat-loss detection time (robot process killed) is measured too.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from fleetmind.firmware_bridge.link import RobotLink
from fleetmind.firmware_bridge.messages import Arm, SetVelocityMsg
from fleetmind.firmware_bridge.transport import SerialTransport, UdpTransport

from fleetmind.testing.sitl import Sitl, build_sitl

KEY = bytes(range(32))


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
    ap.add_argument("--trials", type=int, default=20)
    args = ap.parse_args(argv)
    binary = build_sitl()
    lat: list[int] = []
    lost_ms: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        for mode, trials in (("pty", args.trials // 2), ("udp", args.trials - args.trials // 2)):
            with Sitl(mode, robot_id=2, key=KEY, events=Path(tmp) / f"{mode}.log", binary=binary) as sitl:
                transport = SerialTransport(sitl.pty) if sitl.pty else UdpTransport(*(sitl.udp or ("", 0)))
                link = RobotLink(transport, 2, KEY)
                if not link.sync(2.0) or link.request(Arm()) is None:
                    raise SystemExit(f"{mode}: SITL did not answer")
                for _ in range(trials):
                    one_cut(sitl, link)
                transport.close()
                lat += latencies(sitl)
        for _ in range(3):
            with Sitl("udp", robot_id=2, binary=binary) as sitl:
                link = RobotLink(UdpTransport(*(sitl.udp or ("", 0))), 2)
                link.sync(2.0)
                link.poll_for(0.1)
                sitl.proc.send_signal(signal.SIGKILL)
                last = link.telemetry_time or time.monotonic()
                while not link.lost:
                    link.poll(0.002)
                lost_ms.append((time.monotonic() - last) * 1000)
                link.transport.close()
    result = {
        "stop_latency_ms_max": max(lat),
        "stop_latency_ms_min": min(lat),
        "stop_latency_ms_mean": round(statistics.mean(lat), 1),
        "trials": len(lat),
        "host_lost_detect_ms_max": round(max(lost_ms), 1),
        "host_lost_timeout_ms": 500,
        "machine": f"{platform.node()} {platform.machine()} {os.cpu_count()} cpus, {platform.platform()}",
        "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "link_cut.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return 0 if result["stop_latency_ms_max"] <= 200 and len(lat) >= 20 else 1


if __name__ == "__main__":
    sys.exit(main())
