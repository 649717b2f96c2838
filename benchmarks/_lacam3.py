"""The LaCAM3 side of ``mapf_oneshot.py --lacam3 BIN``: run a user-built LaCAM3 binary (Okumura, AAMAS 2024; MIT,
https://github.com/Kei18/lacam3, not shipped here) on the same ``.map``/``.scen`` files with the same time limit, read
its output file, check the solution with our own checker and cost it as ours is costed.

Build the peer outside this repository::

    git clone --recursive https://github.com/Kei18/lacam3 && cd lacam3
    cmake -B build -DCMAKE_BUILD_TYPE=Release && make -C build -j2     # the binary is build/main

Its output file holds ``key=value`` lines (``comp_time`` ms, ``comp_time_initial_solution`` ms: the first solution's
time, ``cost_initial_solution``: that solution's sum of loss, ``soc``, ``sum_of_loss``, ``makespan``, ``soc_lb``,
...), then ``starts=``/``goals=`` as ``(x,y),`` lists and ``solution=`` followed by one ``t:(x,y),(x,y),...`` line
per time step (x: column, y: row).
"""

from __future__ import annotations

import logging
import re
import resource
import shutil
import subprocess
import time
from pathlib import Path

import numpy as np
from fleetmind.planners.mapf import solution_costs
from fleetmind.tasks.mapf_lifelong.validate import check_paths

log = logging.getLogger(__name__)

HOW_TO_BUILD = (
    "build LaCAM3 from https://github.com/Kei18/lacam3 (git clone --recursive; cmake -B build "
    "-DCMAKE_BUILD_TYPE=Release && make -C build) and pass --lacam3 path/to/build/main"
)
_PAIR = re.compile(r"\((-?\d+),(-?\d+)\)")


def find_binary(path: Path | None) -> Path | None:
    """``path`` if it is an executable file (or a command on PATH), else None."""
    if path is None:
        return None
    if path.is_file():
        return path
    found = shutil.which(str(path))
    return Path(found) if found else None


def _pairs(text: str) -> np.ndarray:
    """``(x,y),(x,y),...`` -> ``(K, 2) int64`` (row, col)."""
    xy = np.array([(int(x), int(y)) for x, y in _PAIR.findall(text)], dtype=np.int64).reshape(-1, 2)
    return xy[:, ::-1].copy()


def parse_output(text: str) -> dict:
    """LaCAM3's output file -> ``{"fields": {key: str}, "starts", "goals": (N, 2), "paths": (T+1, N, 2) or None}``
    (row, col). Raises ``ValueError`` naming the line if a solution line is malformed or its agent count differs."""
    fields: dict[str, str] = {}
    starts = goals = None
    rows: list[np.ndarray] = []
    in_solution = False
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line:
            continue
        if in_solution:
            step, _, body = line.partition(":")
            if not step.isdigit() or int(step) != len(rows):
                raise ValueError(f"LaCAM3 output line {number}: expected time step {len(rows)}, got {line[:40]!r}")
            rows.append(_pairs(body))
            if rows[-1].shape[0] != rows[0].shape[0]:
                raise ValueError(f"LaCAM3 output line {number}: {rows[-1].shape[0]} agents, {rows[0].shape[0]} before")
            continue
        key, sep, value = line.partition("=")
        if not sep:
            continue
        if key == "solution":
            in_solution = True
        elif key == "starts":
            starts = _pairs(value)
        elif key == "goals":
            goals = _pairs(value)
        else:
            fields[key] = value
    paths = np.stack(rows) if rows else None
    return {"fields": fields, "starts": starts, "goals": goals, "paths": paths}


def evaluate(parsed: dict, blocked: np.ndarray, starts: np.ndarray, goals: np.ndarray) -> dict:
    """Check LaCAM3's solution against the instance with :func:`check_paths` (map, moves to neighbours, vertex and
    swap conflicts, starts, goals) and cost it with :func:`solution_costs`, as ours is costed."""
    fields, paths = parsed["fields"], parsed["paths"]
    out: dict = {"solved": False, "problems": [], "reported_soc": _int(fields.get("soc"))}
    if paths is None or fields.get("solved") == "0" or paths.shape[0] == 0:
        out["problems"] = ["no solution in the output"]
        return out
    problems = check_paths(paths, blocked, starts, goals)
    if problems:
        out["problems"] = problems
        return out
    w = blocked.shape[1]
    cells = paths[..., 0] * w + paths[..., 1]
    goal = np.asarray(goals, dtype=np.int64) @ np.array([w, 1])
    soc, loss, makespan = solution_costs(cells, goal)
    first_ms = _int(fields.get("comp_time_initial_solution"))
    out.update(
        solved=True,
        sum_of_costs=soc,
        sum_of_loss=loss,
        makespan=makespan,
        first_solution_s=first_ms / 1000 if first_ms is not None and first_ms >= 0 else None,
        first_sum_of_loss=_int(fields.get("cost_initial_solution")),  # LaCAM3 reports its first solution's loss
        seconds=(_int(fields.get("comp_time")) or 0) / 1000,
    )
    return out


def _int(value: str | None) -> int | None:
    try:
        return int(float(value)) if value is not None else None
    except ValueError:
        return None


def run(
    binary: Path,
    map_path: Path,
    scen_path: Path,
    agents: int,
    limit: float,
    seed: int,
    out_file: Path,
    blocked: np.ndarray,
    starts: np.ndarray,
    goals: np.ndarray,
) -> dict:
    """Run LaCAM3 on the first ``agents`` of ``scen_path`` for ``limit`` seconds (rounded up to whole seconds, as
    LaCAM3 takes them), bounded by a timeout of the limit + 60 s; the evaluated row, with its wall and CPU time."""
    seconds = max(1, int(np.ceil(limit)))
    command = [str(binary), "-m", str(map_path), "-i", str(scen_path), "-N", str(agents)]
    command += ["-t", str(seconds), "-s", str(seed), "-o", str(out_file), "-v", "0"]
    out_file.unlink(missing_ok=True)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60, check=False)
        status = f"exit {proc.returncode}" if proc.returncode else ""
    except subprocess.TimeoutExpired:
        status = f"killed after {seconds + 60} s"
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if out_file.is_file():
        row = evaluate(parse_output(out_file.read_text(encoding="utf-8")), blocked, starts, goals)
    else:
        row = {"solved": False, "problems": [f"no output file ({status or 'no reason given'})"]}
    if status and row["solved"]:
        row["problems"] = [status]
    row.update(wall_s=wall, cpu_s=cpu, seconds_limit=seconds)
    return row
