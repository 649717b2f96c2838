"""A flood of rejected frames (or of anyone's e-stops) cannot grow the SITL's event log without bound: at most
20 lines of each kind per second of the SITL clock, the rest counted in one summary line per second. Run in the
SITL's fuzz mode, whose clock is simulated (1 ms per 61 bytes read), so the figures are exact."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from fleetmind.firmware_bridge.codec import encode_frame
from fleetmind.firmware_bridge.messages import EStop, SetVelocityMsg

from fleetmind.testing.sitl import build_sitl

KEY = bytes(range(1, 33))
ROBOT = 3
FRAMES = 20_000


@pytest.fixture(scope="session")
def sitl_binary() -> Path:
    return build_sitl()


def _flood(binary: Path, stream: bytes, events: Path) -> dict[str, int]:
    proc = subprocess.run(
        [str(binary), "--fuzz", "--robot-id", str(ROBOT), "--key-hex", KEY.hex(), "--events", str(events)],
        input=stream,
        capture_output=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    stats = proc.stdout.decode().strip().splitlines()[-1]
    return {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", stats)}


def _lines(events: Path) -> list[dict[str, str]]:
    out = []
    for line in events.read_text().splitlines():
        kind, *fields = line.split()[1:]
        out.append({"kind": kind, **dict(f.split("=", 1) for f in fields)})
    return out


def test_reject_lines_are_rate_limited_and_summarised(sitl_binary: Path, tmp_path: Path) -> None:
    stream = b"".join(encode_frame(SetVelocityMsg(0.5, 0.0), ROBOT, 1 + i, 0) for i in range(FRAMES))  # no tag
    events = tmp_path / "ev.log"
    stats = _flood(sitl_binary, stream, events)
    seconds = len(stream) // 61 // 1000 + 1  # of the fuzz clock
    assert stats["auth_fail"] == FRAMES and stats["rejected"] == FRAMES and stats["actuations"] == 0
    lines = _lines(events)
    rejects = [e for e in lines if e["kind"] == "reject"]
    summaries = [e for e in lines if e["kind"] == "reject_suppressed"]
    assert len(rejects) <= 20 * (seconds + 1) and len(summaries) <= seconds + 1
    assert len(rejects) + sum(int(e["count"]) for e in summaries) == FRAMES  # every reject is accounted for
    per_second: dict[int, int] = {}
    for e in rejects:
        per_second[int(e["t"]) // 1000] = per_second.get(int(e["t"]) // 1000, 0) + 1
    assert max(per_second.values()) <= 20
    assert events.stat().st_size < 1000 * (seconds + 1)  # under 1 KB per second, not one line per frame
    print(f"\n{FRAMES} rejected frames over {seconds} s: {len(lines)} event lines, {events.stat().st_size} bytes")


def test_estop_lines_from_a_flood_are_rate_limited(sitl_binary: Path, tmp_path: Path) -> None:
    stream = b"".join(encode_frame(EStop(), ROBOT, 1 + i, 0) for i in range(FRAMES))  # anyone's e-stop is obeyed
    events = tmp_path / "ev.log"
    _flood(sitl_binary, stream, events)
    lines = _lines(events)
    estops = [e for e in lines if e["kind"] == "estop"]
    summaries = [e for e in lines if e["kind"] == "estop_suppressed"]
    assert 0 < len(estops) <= 20 * (len(summaries) + 1)
    assert len(estops) + sum(int(e["count"]) for e in summaries) == FRAMES
