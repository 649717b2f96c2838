"""Episodes recorded to MCAP (ROS 2 schemas) read back with the poses the backend had; replay to GIF."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fleetmind.planners.oracle import make_oracle
from fleetmind.sim.grid.fleet import GridFleet
from fleetmind.sim.pybullet.layout import scene_of
from fleetmind.sim.record import RecordingFleet
from fleetmind.sim.record.replay import read_recording
from fleetmind.tasks.warehouse.rules import Warehouse
from mcap.reader import make_reader

from fleetmind.app.runner import run_episode
from fleetmind.app.scenario import load_scenario, parse_scenario
from fleetmind.cli import main


def test_pybullet_episode_round_trip(tmp_path):
    scenario = load_scenario("boxnet1_2x2").with_backend("pybullet")
    fleet = RecordingFleet(scenario.make_fleet(), tmp_path, scenario.name)
    record = run_episode(fleet, make_oracle("boxnet1"), 0)
    physics = fleet.inner
    final = {r: physics.world.pose(b) for r, b in physics.world.robots.items()}
    fleet.close()
    (path,) = fleet.paths
    assert path == tmp_path / "boxnet1_2x2_seed0.mcap" and record.success
    with path.open("rb") as f:
        summary = make_reader(f).get_summary()
    schemas = {s.name for s in summary.schemas.values()}
    assert {"geometry_msgs/msg/PoseStamped", "visualization_msgs/msg/MarkerArray", "std_msgs/msg/String"} <= schemas
    topics = {c.topic for c in summary.channels.values()}
    assert {"/robot_0/pose", "/robot_3/pose", "/boxes", "/targets", "/plan", "/metrics", "/episode"} <= topics
    rec = read_recording(path)
    assert rec.episode == {"scenario": "boxnet1_2x2", "seed": 0, "robots": ["robot_0", "robot_1", "robot_2", "robot_3"]}
    assert len(rec.plans) == record.steps and rec.metrics[-1]["success"] is True
    poses = rec.poses("robot_0")
    assert poses[0] == pytest.approx((0.0, 0.5, 0.5, 0.0))  # t, x, y, yaw: the centre of cell (0, 0)
    assert poses[-1][0] == pytest.approx(record.extra["sim_time"], abs=1e-4)
    assert len(poses) > 10 * record.steps  # sampled every 0.1 s of simulated time while driving
    for robot, (x, y, _, yaw) in final.items():
        assert rec.poses(robot)[-1][1:] == pytest.approx((x, y, yaw), abs=1e-9)
    moving = [p for p in poses if abs(p[1] - 0.5) + abs(p[2] - 0.5) > 0.05]
    assert moving, "robot_0 never left its home in the recording"
    assert not rec.frames[-1].boxes  # every box delivered


def test_grid_episode_round_trip_and_camera_images(tmp_path):
    task = Warehouse(4)
    fleet = RecordingFleet(GridFleet(task), tmp_path, "warehouse_4")
    record = run_episode(fleet, make_oracle("warehouse"), 1)
    fleet.close()
    rec = read_recording(fleet.paths[0])
    assert len(rec.frames) == record.steps + 1  # one frame per step, one second apart
    assert [f.t for f in rec.frames[:3]] == [0.0, 1.0, 2.0]
    start = scene_of(GridFleet(Warehouse(4)).reset(1).world)
    for robot, (x, y, _, _) in start.robots.items():
        assert rec.frames[0].robots[robot][:2] == pytest.approx((x, y))
    assert len(rec.frames[0].boxes) == len(start.boxes) and not rec.frames[-1].boxes

    doc = {
        "name": "cam",
        "world": {
            "backend": "pybullet",
            "task": "boxnet1",
            "rows": 1,
            "cols": 2,
            "pybullet": {"camera": {"width": 16, "height": 12}},
        },
    }
    sc = parse_scenario(doc)
    fleet = RecordingFleet(sc.make_fleet(), tmp_path / "cam", sc.name)
    result = run_episode(fleet, make_oracle("boxnet1"), 0)
    fleet.close()
    rec = read_recording(fleet.paths[0])
    assert rec.images == 2 * (result.steps + 1)  # two robots, at reset and after every step


def test_cli_record_and_replay_gif(tmp_path, capsys):
    out = tmp_path / "run"
    code = main(["run", "boxlift_4x10", "--backend", "pybullet", "--record", "--out", str(out), "-q"])
    assert code == 0
    assert json.loads((out / "metrics.json").read_text())["success_rate"] == 1.0
    (mcap,) = sorted(out.glob("*.mcap"))
    gif = out / "replay.gif"
    assert main(["replay", str(mcap), "--gif", str(gif), "--frames", "6"]) == 0
    assert gif.read_bytes()[:6] == b"GIF89a"
    from PIL import Image

    with Image.open(gif) as im:
        assert im.n_frames >= 6
    printed = capsys.readouterr().out
    assert f"replay GIF: {gif}" in printed
    bad = tmp_path / "bad.mcap"
    bad.write_bytes(b"not an mcap file")
    assert main(["replay", str(bad)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(bad) in err[0]
    assert main(["replay", str(Path(tmp_path) / "missing.mcap")]) == 2


KILLED_MID_EPISODE = """
import os, signal, sys
from pathlib import Path
from fleetmind.planners.oracle import make_oracle
from fleetmind.sim.grid.fleet import GridFleet
from fleetmind.sim.record import RecordingFleet
from fleetmind.tasks.warehouse.rules import Warehouse

fleet = RecordingFleet(GridFleet(Warehouse(4)), Path(sys.argv[1]), "warehouse_4")
planner = make_oracle("warehouse")
for seed in (0, 1):
    obs = fleet.reset(seed)
    planner.reset(obs, seed)
    for _ in range(3 if seed else 1000):
        result = fleet.step(planner.plan(obs))
        obs = result.observation
        if result.done:
            break
os.kill(os.getpid(), signal.SIGKILL)  # seed 1 is three steps in
"""


def test_sigkill_mid_episode_leaves_a_part_file_never_a_broken_mcap(tmp_path, capsys):
    """The episode in progress is written under ``.mcap.part`` and renamed when it ends: after SIGKILL the finished
    episode's MCAP reads back, no 0-byte or unfinished ``.mcap`` is left, and replay says why the part is unreadable."""
    import signal
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", KILLED_MID_EPISODE, str(tmp_path)], capture_output=True, timeout=120)
    assert done.returncode == -signal.SIGKILL, done.stderr.decode()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["warehouse_4_seed0.mcap", "warehouse_4_seed1.mcap.part"]
    finished = read_recording(tmp_path / "warehouse_4_seed0.mcap")
    assert finished.metrics[-1]["success"] is True and finished.episode["seed"] == 0
    part = tmp_path / "warehouse_4_seed1.mcap.part"
    assert main(["replay", str(part)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"fleetmind: error: {part}: ")
    assert "the run that wrote it stopped before the episode ended" in err


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (lambda good: b"", "empty file (0 bytes): the run that wrote it stopped before the episode ended"),
        (lambda good: good[:8], "unfinished MCAP (8 bytes, no end marker)"),
        (lambda good: good[: len(good) // 2], "unfinished MCAP ("),
        (lambda good: b"hello world" * 10, "not an MCAP file (it does not start with the MCAP magic bytes"),
        (lambda good: good[:200] + b"\0" * 50 + good[250:], "corrupt MCAP recording: ZstdError: "),  # was a traceback
        (lambda good: None, "a folder, not a recording file"),
    ],
)
def test_replay_gives_a_reason_for_every_unreadable_file(content, reason, tmp_path, capsys):
    fleet = RecordingFleet(GridFleet(Warehouse(4)), tmp_path / "good", "warehouse_4")
    run_episode(fleet, make_oracle("warehouse"), 1)
    fleet.close()
    good = fleet.paths[0].read_bytes()
    data = content(good)
    bad = tmp_path / "bad.mcap"
    if data is None:
        bad.mkdir()
    else:
        bad.write_bytes(data)
    assert main(["replay", str(bad), "--gif", str(tmp_path / "out.gif")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert err.startswith(f"fleetmind: error: {bad}: {reason}"), err
