"""Fuzz the wire protocol: N bad and good frames through the C firmware (SITL parser) and the Python decoder.

    .venv/bin/python benchmarks/fuzz_link.py --frames 1000000 --out DIR   ->  DIR/fuzz_link.json

The top-level figures are for ``--frames`` frames to a robot with a key (corrupted, truncated, oversized,
reordered, forged and replayed frames; ~10% legitimate). ``unkeyed`` reports ``--unkeyed-frames`` more frames
(corrupted, truncated, oversized, reordered) to a robot without a key: there only CRC-16 stands between a
corrupted frame and the motors, and a burst longer than 16 bits escapes it with probability ~2^-16, so
that figure can be non-zero (expected ~1 per 10^6 such frames) and is the reason to configure keys.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from fleetmind.app.argtypes import nonneg, positive
from fleetmind.testing.fuzz import FORGED_KINDS, host_decode, judge, make_stream
from fleetmind.testing.sitl import build_sitl

KEY = bytes(range(32))
CHUNK = 100_000


def machine() -> str:
    py = sys.version.split()[0]
    return f"{platform.node()} {platform.machine()} {os.cpu_count()} cpus, {platform.platform()}, Python {py}"


def run(binary: Path, frames: int, key: bytes | None, seed: int) -> dict[str, int]:
    totals = {
        "frames": 0,
        "crashes": 0,
        "bad_frames_actuated": 0,
        "forged_accepted": 0,
        "replayed_accepted": 0,
        "legit_frames": 0,
        "legit_actuated": 0,
        "forged_sent": 0,
        "replayed_sent": 0,
        "host_decoder_not_legit": 0,
    }
    done, chunk_i = 0, 0
    while done < frames:
        n = min(CHUNK, frames - done)
        stream = make_stream(n, seed * 100_003 + chunk_i, 3, key)
        cmd = [str(binary), "--fuzz", "--robot-id", "3"] + (["--key-hex", key.hex()] if key else [])
        proc = subprocess.run(cmd, input=stream.data, capture_output=True, timeout=300)
        lines = proc.stdout.decode(errors="replace").splitlines()
        if proc.returncode != 0 or not lines or not lines[-1].startswith("STATS"):
            totals["crashes"] += 1
        verdict = judge(stream, [line for line in lines if line.startswith("ACT")])
        try:
            _, not_legit = host_decode(stream, 3, key)
        except Exception:  # noqa: BLE001 - any exception escaping the decoder is a host-side crash
            totals["crashes"] += 1
            not_legit = 0
        totals["frames"] += n
        totals["bad_frames_actuated"] += verdict.bad_frames_actuated
        totals["forged_accepted"] += verdict.forged_accepted
        totals["replayed_accepted"] += verdict.replayed_accepted
        totals["legit_frames"] += stream.counts["legit"]
        totals["legit_actuated"] += verdict.actuations - verdict.bad_frames_actuated
        totals["forged_sent"] += sum(stream.counts[k] for k in FORGED_KINDS)
        totals["replayed_sent"] += stream.counts["replayed"]
        totals["host_decoder_not_legit"] += not_legit
        done += n
        chunk_i += 1
        label = "keyed" if key else "unkeyed"
        print(f"  {label}: {done}/{frames} frames, bad actuated so far {totals['bad_frames_actuated']}", flush=True)
    return totals


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=positive, default=1_000_000)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--unkeyed-frames", type=nonneg, default=300_000)
    ap.add_argument("--seed", type=nonneg, default=0)
    args = ap.parse_args(argv)
    binary = build_sitl()
    t0 = time.perf_counter()
    keyed = run(binary, args.frames, KEY, args.seed)
    unkeyed = run(binary, args.unkeyed_frames, None, args.seed + 1)
    elapsed = time.perf_counter() - t0
    result = {
        **keyed,
        "crashes": keyed["crashes"] + unkeyed["crashes"],
        "unkeyed": unkeyed,
        "seconds": round(elapsed, 1),
        "machine": machine(),
        "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "fuzz_link.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    ok = all(result[k] == 0 for k in ("crashes", "bad_frames_actuated", "forged_accepted", "replayed_accepted"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
