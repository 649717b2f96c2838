"""``fleetmind replay RECORDING.mcap --gif out.gif``: a recording read back and drawn top-down."""

from __future__ import annotations

import argparse
from pathlib import Path

from fleetmind.robots.outputs import check_output_file
from fleetmind.sim.record.replay import read_recording, write_gif


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("recording", type=Path, help="an episode recording (fleetmind run ... --record)")
    p.add_argument("--gif", type=Path, default=None, help="write a top-down animation here (default: next to it)")
    p.add_argument("--frames", type=int, default=120, help="at most this many frames in the GIF (default: 120)")


def run_from_args(args: argparse.Namespace) -> int:
    gif = check_output_file(args.gif or args.recording.with_suffix(".gif"), "--gif")  # before the slow drawing
    rec = read_recording(args.recording)
    out = write_gif(rec, gif, max_frames=max(2, args.frames))
    last = rec.metrics[-1] if rec.metrics else {}
    print(
        f"{args.recording}: {len(rec.frames)} frames over {rec.frames[-1].t:.1f} s, {len(rec.plans)} steps, "
        f"success {last.get('success')}; {rec.images} camera images"
    )
    print(f"replay GIF: {out}")
    return 0
