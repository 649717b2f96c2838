"""``fleetmind replay RECORDING.mcap --gif out.gif``: a recording read back and drawn top-down."""

from __future__ import annotations

import argparse
from pathlib import Path

from fleetmind.robots.errors import BadInputError
from fleetmind.robots.outputs import check_output_file
from fleetmind.sim.record.replay import read_recording, write_gif


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("recording", type=Path, help="an episode recording (fleetmind run ... --record)")
    p.add_argument("--gif", type=Path, default=None, help="write a top-down animation here (default: next to it)")
    p.add_argument("--frames", type=_frames, default=120, help="at most this many GIF frames, >= 2 (default: 120)")


def _frames(text: str) -> int:
    value = int(text)
    if value < 2:  # 0 and -1 were drawn as 2 frames without a word
        raise argparse.ArgumentTypeError(f"must be >= 2 (the first and the last frame), got {value}")
    return value


def run_from_args(args: argparse.Namespace) -> int:
    if args.gif is not None and args.gif.suffix.lower() != ".gif" and not args.gif.is_dir():
        raise BadInputError(f"--gif {args.gif}: the animation is a GIF; give a file name ending in .gif")
    gif = check_output_file(args.gif or args.recording.with_suffix(".gif"), "--gif")  # before the slow drawing
    rec = read_recording(args.recording)
    out = write_gif(rec, gif, max_frames=args.frames)
    last = rec.metrics[-1] if rec.metrics else {}
    print(
        f"{args.recording}: {len(rec.frames)} frames over {rec.frames[-1].t:.1f} s, {len(rec.plans)} steps, "
        f"success {last.get('success')}; {rec.images} camera images"
    )
    print(f"replay GIF: {out}")
    return 0
