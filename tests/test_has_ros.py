"""HAS over ROS 2 (issue 16): ``fleetmind up`` runs a HAS mission with the manager and the LLM leaders in the planner
node (leaders in the robots' agent nodes are not built yet), the scripted LLM server answering."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent

SCENARIO = """\
name: has_tiny
description: HAS M2 on a 32x32 rooms map, 4 robots, one target
world: {backend: grid, task: has, mission: multi_search, family: rooms, size: 32, robots: 4, radius: 5, targets: 1,
        step_limit: 80}
run: {planner: has_llm_leaders, seed: 0, episodes: 1}
"""


def test_fleetmind_up_runs_a_has_search_with_llm_leaders(ros_env):
    scenario = ros_env / "has_tiny.yaml"
    scenario.write_text(SCENARIO, encoding="utf-8")
    cmd = [str(BIN / "fleetmind"), "up", str(scenario), "--llm", "oracle", "--timeout", "150"]
    env = {**os.environ, "ROS_DOMAIN_ID": str(60 + os.getpid() % 30), "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [*cmd, "--log-dir", str(ros_env / "logs")], cwd=ROOT, env=env, capture_output=True, text=True, timeout=240
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "2 processes (/world, /planner)" in proc.stdout
    assert "has_tiny over ROS 2 | planner has_llm_leaders | success True, steps 30" in proc.stdout
