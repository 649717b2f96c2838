"""The SITL's differential-drive motion model (firmware/motion_model.c), tick by tick and end to end.

The model is pure C: a tiny harness compiled here drives it with duties for N ticks of 1 ms and prints the state,
checked against closed-form motion. The end-to-end tests read the SITL's own clock (event log, frame timestamps).
"""

from __future__ import annotations

import math
import subprocess
import time
from pathlib import Path

import pytest
from fleetmind.firmware_bridge.codec import Frame
from fleetmind.firmware_bridge.link import RobotLink
from fleetmind.firmware_bridge.messages import Ack, Arm, SetVelocityMsg, Status, Telemetry
from fleetmind.firmware_bridge.transport import UdpTransport

from fleetmind.testing.sitl import FIRMWARE_DIR, Sitl, build_sitl

HARNESS = r"""
#include <stdio.h>
#include <stdlib.h>
#include "motion_model.h"
/* argv: wheel_base wheel_radius max_acc noise seed; stdin lines "L R N" (duties, ticks); prints the state after each */
int main(int argc, char **argv) {
    if (argc != 6) return 2;
    mm_params_t p = {atof(argv[1]), atof(argv[2]), atof(argv[3]), atof(argv[4]), strtoull(argv[5], NULL, 0)};
    mm_t m;
    const char *why;
    if (mm_init(&m, &p, &why)) { fprintf(stderr, "%s\n", why); return 2; }
    int l, r;
    long n;
    while (scanf("%d %d %ld", &l, &r, &n) == 3) {
        for (long i = 0; i < n; i++) mm_step(&m, (short)l, (short)r, MM_TICK_S);
        printf("%.12f %.12f %.12f %.12f %.12f %.12f %.12f\n", m.x, m.y, m.yaw, m.v, m.w, m.wl, m.wr);
    }
    return 0;
}
"""

RIM_PER_PERMILLE = 1.5 / 1000  # FW_WHEEL_MAX at the nominal radius
KEY = bytes(range(32))


@pytest.fixture(scope="module")
def harness(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("mm")
    (d / "h.c").write_text(HARNESS)
    exe = d / "h"
    subprocess.run(
        ["gcc", "-O2", "-std=c11", "-Wall", "-Werror", f"-I{FIRMWARE_DIR}", "-o", str(exe), str(d / "h.c"),
         str(FIRMWARE_DIR / "motion_model.c"), "-lm"],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return exe


def run_model(
    exe: Path,
    segments: list[tuple[int, int, int]],
    base: float = 0.30,
    radius: float = 0.035,
    acc: float = 0.0,
    noise: float = 0.0,
    seed: int = 1,
) -> list[dict[str, float]]:
    stdin = "".join(f"{left} {right} {n}\n" for left, right, n in segments)
    out = subprocess.run(
        [str(exe), str(base), str(radius), str(acc), str(noise), str(seed)],
        input=stdin, capture_output=True, text=True, check=True, timeout=30,
    ).stdout  # fmt: skip
    keys = ("x", "y", "yaw", "v", "w", "wl", "wr")
    return [dict(zip(keys, map(float, line.split()), strict=True)) for line in out.splitlines()]


def test_straight_line(harness: Path) -> None:
    (s,) = run_model(harness, [(200, 200, 1000)])  # 0.3 m/s for 1 s
    assert s["x"] == pytest.approx(0.3, abs=1e-9) and abs(s["y"]) < 1e-12 and s["yaw"] == 0.0
    assert s["v"] == pytest.approx(0.3, abs=1e-12) and s["w"] == 0.0


def test_pure_rotation(harness: Path) -> None:
    (s,) = run_model(harness, [(-100, 100, 1000)])  # wheels -0.15 / +0.15 m/s on a 0.30 m base: 1 rad/s
    assert s["yaw"] == pytest.approx(1.0, abs=1e-9) and abs(s["x"]) < 1e-12 and abs(s["y"]) < 1e-12
    assert s["v"] == pytest.approx(0.0, abs=1e-12) and s["w"] == pytest.approx(1.0, abs=1e-12)
    (s,) = run_model(harness, [(-100, 100, 4000)])  # 4 rad: wrapped to [-pi, pi]
    assert s["yaw"] == pytest.approx(4.0 - 2 * math.pi, abs=1e-9)


@pytest.mark.parametrize(("base", "radius"), [(0.30, 0.035), (0.50, 0.05)])
def test_arc_matches_the_closed_form(harness: Path, base: float, radius: float) -> None:
    scale = radius / 0.035  # a bigger wheel at the same motor speed
    vl, vr = 100 * RIM_PER_PERMILLE * scale, 300 * RIM_PER_PERMILLE * scale
    v, w, t = 0.5 * (vl + vr), (vr - vl) / base, 2.0
    (s,) = run_model(harness, [(100, 300, 2000)], base=base, radius=radius)
    assert s["x"] == pytest.approx(v / w * math.sin(w * t), abs=1e-9)
    assert s["y"] == pytest.approx(v / w * (1 - math.cos(w * t)), abs=1e-9)
    assert s["yaw"] == pytest.approx(w * t, abs=1e-9)


def test_acceleration_limit_ramps_and_stops_bypass_it(harness: Path) -> None:
    # 1 m/s^2 towards 0.6 m/s: +0.001 m/s per tick, so 0.1 m/s after 100 ticks and 0.6 m/s after 600
    s100, s600, s700, down, stop = run_model(
        harness, [(400, 400, 100), (400, 400, 500), (400, 400, 100), (100, 100, 100), (0, 0, 1)], acc=1.0
    )
    assert s100["v"] == pytest.approx(0.1, abs=1e-9) and s600["v"] == pytest.approx(0.6, abs=1e-9)
    ramp_x = sum(k * 1e-3 * 1e-3 for k in range(1, 601))  # speed after each tick, integrated over the tick
    assert s600["x"] == pytest.approx(ramp_x, abs=1e-9)
    assert s700["x"] == pytest.approx(ramp_x + 0.1 * 0.6, abs=1e-9)
    assert down["v"] == pytest.approx(0.5, abs=1e-9)  # towards 0.15 m/s, no faster than 1 m/s^2
    assert stop["v"] == 0.0 and stop["wl"] == 0.0 and stop["wr"] == 0.0  # (0, 0): the driver brakes at once
    assert stop["x"] == down["x"]


def test_noise_is_deterministic_per_seed_and_still_when_stopped(harness: Path) -> None:
    segments = [(200, 200, 2000), (0, 0, 1000)]
    a = run_model(harness, segments, noise=0.02, seed=7)
    assert a == run_model(harness, segments, noise=0.02, seed=7)
    b = run_model(harness, segments, noise=0.02, seed=8)
    assert a != b
    for run in (a, b):
        moving, stopped = run
        assert 0.0 < abs(moving["x"] - 0.6) < 0.05 and 0.0 < abs(moving["yaw"]) < 0.5  # drift, bounded
        assert stopped["x"] == moving["x"] and stopped["yaw"] == moving["yaw"]  # a braked robot does not drift
    ideal = run_model(harness, segments, noise=0.0, seed=7)
    assert ideal[0]["x"] == pytest.approx(0.6, abs=1e-9)


def test_bad_model_options_are_refused_with_the_option_name(harness: Path) -> None:
    sitl = build_sitl()
    proc = subprocess.run(
        [str(sitl), "--udp", "127.0.0.1:0", "--wheel-radius", "0"], capture_output=True, text=True, timeout=10
    )
    assert proc.returncode == 2 and "--wheel-radius must be in" in proc.stderr
    with pytest.raises(ValueError, match="max_accel must be >= 0"):
        Sitl("udp", max_accel=-1.0, binary=sitl)


def test_sitl_odometry_follows_the_model_and_the_watchdog_stops_it_at_once(tmp_path: Path) -> None:
    """A slow wheel (0.5 m/s^2) and a larger wheel radius: odometry shows the model; when commands stop, the
    watchdog zeroes the motors within 200 ms of the last command on the SITL clock and the robot stops at once."""
    binary = build_sitl()
    events = tmp_path / "ev.log"
    with Sitl("udp", robot_id=3, key=KEY, events=events, binary=binary, wheel_radius=0.0525, max_accel=0.5) as sitl:
        assert sitl.udp
        transport = UdpTransport(*sitl.udp)
        lk = RobotLink(transport, 3, KEY)
        try:
            assert lk.sync(2.0) and isinstance(lk.request(Arm()), Ack)
            frames: list[Frame] = []

            def sitl_ms() -> int:  # the SITL clock, from the newest telemetry frame
                return max((f.header.timestamp_ms for f in frames if isinstance(f.message, Telemetry)), default=0)

            frames += lk.poll(0.1)
            start, deadline = sitl_ms(), time.monotonic() + 10.0  # the deadline only guards a hung SITL
            while sitl_ms() < start + 1200 and time.monotonic() < deadline:  # 0.2 m/s commanded for 1.2 s
                lk.send(SetVelocityMsg(0.2, 0.0))
                end = time.monotonic() + 0.04
                while time.monotonic() < end:
                    frames += lk.poll(0.01)
            stopped = sitl_ms()
            while sitl_ms() < stopped + 400 and time.monotonic() < deadline:  # no more commands: watchdog trips
                frames += lk.poll(0.05)
        finally:
            transport.close()
    telem = [(f.header.timestamp_ms, f.message) for f in frames if isinstance(f.message, Telemetry)]
    speeds = [m.v for _, m in telem]
    assert max(speeds) == pytest.approx(0.3, abs=0.002)  # 0.2 m/s on the firmware's wheel = 0.3 m/s on this one
    ramp = [m.v for _, m in telem if 0.0 < m.v < 0.29]
    assert ramp and min(ramp) < 0.1  # ramped at 0.5 m/s^2 (about 0.6 s to 0.3 m/s at 50 Hz telemetry)
    last_cmd = max(int(e["t"]) for e in sitl.events() if e["kind"] == "cmd")
    zero = [int(e["t"]) for e in sitl.events() if e["kind"] == "motors_zero"]
    assert zero and 0 < zero[-1] - last_cmd <= 200
    assert telem[-1][1].status & Status.WATCHDOG
    after = [(t, m) for t, m in telem if t >= zero[-1]]
    assert after and all(m.v == 0.0 and m.omega == 0.0 for _, m in after)  # stopped in the tick it braked
    assert len({m.x for _, m in after}) == 1 and after[0][1].x > 0.2
