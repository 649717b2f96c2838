"""End to end on SITL robots: ``fleetmind run`` of the shipped ``backend: firmware`` scenario (cut to 2 steps) starts
4 SITL processes itself, drives them through the executor, finishes with no collision, writes metrics and an MCAP
whose ``/tf`` and ``/<robot>/odom`` show the robots moving in the map frame, and leaves no process behind."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import pytest
import yaml
from fleetmind.firmware_bridge.localization import Pose2D
from mcap.reader import make_reader
from mcap_ros2.decoder import DecoderFactory

from fleetmind.cli import main
from fleetmind.testing.sitl import build_sitl

SCENARIO = Path(__file__).resolve().parents[1] / "scenarios" / "mapf_lifelong_4_sitl.yaml"


def sitl_children() -> list[int]:
    """SITL processes whose parent is this test process."""
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            cmd = (entry / "cmdline").read_bytes()
        except (OSError, IndexError, ValueError):
            continue
        if ppid == os.getpid() and b"build/sitl" in cmd:
            out.append(int(entry.name))
    return out


def messages(path: Path, topic: str) -> list[object]:
    with path.open("rb") as f:
        reader = make_reader(f, decoder_factories=[DecoderFactory()])
        return [msg for _, _, _, msg in reader.iter_decoded_messages(topics=[topic])]


def yaw_of(q: object) -> float:
    return 2.0 * math.atan2(q.z, q.w)  # type: ignore[attr-defined]


def test_fleetmind_run_drives_four_sitl_robots_and_records_tf_and_odom(tmp_path: Path) -> None:
    try:
        build_sitl()
    except Exception as exc:  # pragma: no cover - no gcc/make on this machine
        pytest.skip(f"SITL cannot be built: {exc}")
    data = yaml.safe_load(SCENARIO.read_text())
    assert data["world"]["backend"] == "firmware" and data["world"]["agents"] == 4
    data["world"]["episode_steps"] = 2
    scenario = tmp_path / "short_sitl.yaml"
    scenario.write_text(yaml.safe_dump(data))
    out = tmp_path / "out"
    assert main(["run", str(scenario), "--out", str(out), "--record", "-q"]) == 0
    assert sitl_children() == []  # the run stopped every SITL it started

    metrics = json.loads((out / "metrics.json").read_text())
    (episode,) = metrics["episodes"]
    assert episode["success"] is True and episode["steps"] == 2
    assert episode["collisions"] == 0 and episode["lost_robots"] == 0
    assert episode["max_tracking_error"] < 0.15 and episode["mean_step_time"] > 0.5

    cell = data["world"]["firmware"]["cell_size"]
    map_from_odom: dict[str, Pose2D] = {}
    first: dict[str, Pose2D] = {}
    last: dict[str, Pose2D] = {}
    stamps = 0
    recording = out / f"{data['name']}_seed0.mcap"
    for m in messages(recording, "/tf"):
        for tf in m.transforms:  # type: ignore[attr-defined]
            tr = tf.transform
            pose = Pose2D(tr.translation.x, tr.translation.y, yaw_of(tr.rotation))
            if tf.header.frame_id == "map":
                map_from_odom[tf.child_frame_id.split("/")[0]] = pose
            else:
                robot = tf.header.frame_id.split("/")[0]
                assert tf.child_frame_id == f"{robot}/base_link"
                in_map = map_from_odom[robot].compose(pose)
                first.setdefault(robot, in_map)
                last[robot] = in_map
                stamps += 1
    assert sorted(last) == ["robot_0", "robot_1", "robot_2", "robot_3"] and stamps > 4 * 10
    moved = [r for r in last if first[r].distance(last[r]) > 0.9 * cell]
    assert moved  # in 2 steps of lifelong MAPF at least one robot left its cell
    for r, pose in last.items():  # every robot ends on a cell centre of the map frame
        for v in (pose.x, pose.y):
            assert abs(v / cell - math.floor(v / cell) - 0.5) * cell < 0.06, (r, pose)
    odom = messages(recording, "/robot_0/odom")
    assert odom and odom[0].header.frame_id == "robot_0/odom"  # type: ignore[attr-defined]
    assert odom[0].child_frame_id == "robot_0/base_link"  # type: ignore[attr-defined]
