"""Fault injection host <-> SITL (20% loss, 5% corruption, 50 ms jitter, both directions): the robot still
follows a commanded path, never moves on a corrupted command, and the link recovers when the faults stop."""

from __future__ import annotations

import math
import time
from pathlib import Path

import pytest
from fleetmind.firmware_bridge.link import RobotLink
from fleetmind.firmware_bridge.messages import Arm, SetVelocityMsg
from fleetmind.firmware_bridge.transport import UdpTransport

from fleetmind.testing.faults import FaultRates, FaultyUdpProxy
from fleetmind.testing.sitl import Sitl, build_sitl

WAYPOINTS = [(0.5, 0.0), (0.5, 0.5), (0.0, 0.5)]


@pytest.fixture(scope="session")
def sitl_binary() -> Path:
    return build_sitl()


def go_to(link: RobotLink, goal: tuple[float, float], sent: dict[int, tuple[int, int]], timeout: float) -> bool:
    """Go-to-goal on telemetry (unicycle): turn towards the goal, drive when facing it; 25 Hz."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        t = link.telemetry
        if t is not None:
            dx, dy = goal[0] - t.x, goal[1] - t.y
            if math.hypot(dx, dy) < 0.04:
                return True
            err = math.atan2(math.sin(math.atan2(dy, dx) - t.yaw), math.cos(math.atan2(dy, dx) - t.yaw))
            v = 0.3 * max(0.0, math.cos(err)) if abs(err) < 0.6 else 0.0
            v = min(v, 1.5 * math.hypot(dx, dy))
            msg = SetVelocityMsg(round(v, 3), round(max(-1.5, min(1.5, 2.5 * err)), 3))
            seq = link.send(msg)
            sent[seq] = (round(msg.v * 1000), round(msg.omega * 1000))
        link.poll_for(0.04)
    return False


def test_path_following_under_loss_corruption_and_jitter(sitl_binary: Path, tmp_path: Path) -> None:
    with Sitl("udp", robot_id=7, events=tmp_path / "ev.log", binary=sitl_binary) as sitl:
        assert sitl.udp
        proxy = FaultyUdpProxy(sitl.udp, FaultRates(loss=0.2, corruption=0.05, jitter=0.05), seed=3).start()
        try:
            link = RobotLink(UdpTransport(*proxy.address), 7, heartbeat_timeout=0.5)
            assert link.sync(3.0)
            assert link.request(Arm(), timeout=1.0, retries=8) is not None
            sent: dict[int, tuple[int, int]] = {}
            t0 = time.monotonic()
            reached = [go_to(link, wp, sent, timeout=15.0) for wp in WAYPOINTS]  # ~2 s each when not loaded
            elapsed = time.monotonic() - t0
            faulty_stats = dict(proxy.stats)
            print(
                f"\npath under faults: reached {reached} in {elapsed:.1f}s; proxy {faulty_stats}; "
                f"host decoder faults {dict((k.value, v) for k, v in link.decoder.faults.items() if v)}"
            )
            assert all(reached)
            assert faulty_stats["dropped"] > 0.15 * faulty_stats["forwarded"] and faulty_stats["corrupted"] > 10
            # every command the firmware acted on is one the host sent, with the values it sent
            acted = [(int(e["seq"]), (int(e["v"]), int(e["w"]))) for e in sitl.events() if e["kind"] == "cmd"]
            assert acted and all(sent.get(seq) == vals for seq, vals in acted), "moved on a corrupted command"
            assert all(a < b for (a, _), (b, _) in zip(acted, acted[1:], strict=False))  # never a stale one
            # faults stop: the link recovers fully
            proxy.rates = FaultRates(loss=0.0, corruption=0.0, jitter=0.0)
            link.poll_for(0.2)
            count, faults = link.telemetry_count, sum(link.decoder.faults.values())
            for _ in range(25):
                link.send(SetVelocityMsg(0.2, 0.0))
                link.poll_for(0.04)
            received = link.telemetry_count - count  # 50 at 50 Hz; the rate is a benchmark figure
            assert not link.lost and received >= 10, f"{received} telemetry frames in 25 command periods"
            assert sum(link.decoder.faults.values()) == faults, "damaged frames after the faults stopped"
            assert link.telemetry is not None and link.telemetry.v == pytest.approx(0.2, abs=0.002)
            link.transport.close()
        finally:
            proxy.close()
