"""Wire-level proof that real ROS 2 machines see the fleet: an independent DDS implementation (Cyclone DDS's
Python binding, no ROS at all) reads ``rt/robot_2/odom`` as ``nav_msgs::msg::dds_::Odometry_`` from
``fleetmind_world`` (rclpy on Fast DDS), over localhost only, inside ``unshare -n`` where available."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.test_ros_up import _env, _isolated

pytest.importorskip("cyclonedds", reason="cyclonedds (Python) is not installed: pip install cyclonedds==11.0.1")
ROOT = Path(__file__).resolve().parents[1]

CYCLONE_LOCALHOST = (
    "<CycloneDDS><Domain id='any'><General><Interfaces><NetworkInterface address='127.0.0.1'/></Interfaces>"
    "<AllowMulticast>false</AllowMulticast></General><Discovery><ParticipantIndex>auto</ParticipantIndex>"
    "<MaxAutoParticipantIndex>40</MaxAutoParticipantIndex><Peers><Peer address='127.0.0.1'/></Peers>"
    "</Discovery></Domain></CycloneDDS>"
)


def test_a_non_ros_dds_participant_reads_the_robots_odometry(ros_env):
    env = {**_env(ros_env, 230 - os.getpid() % 10), "CYCLONEDDS_URI": CYCLONE_LOCALHOST}
    reader = ROOT / "tests" / "ros_cyclone_reader.py"
    proc = subprocess.run(
        [*_isolated(), sys.executable, str(reader), "robot_2"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["samples"], f"Cyclone DDS saw no odometry within 30 s: {proc.stderr[-2000:]}"
    sample = out["samples"][0]
    # robot_2 stands in cell (row 1, col 0) of boxnet1_2x2: x = col + 0.5, y = row + 0.5
    assert (sample["x"], sample["y"], sample["qw"]) == (0.5, 1.5, 1.0)
    assert sample["frame_id"] == "robot_2/odom" and sample["child_frame_id"] == "robot_2/base_link"
