"""HAS over ROS 2 (issue 16): ``fleetmind up`` runs a HAS mission with the manager in the planner node and each group's
LLM leader in its robot's agent node (6 processes for 4 robots), the scripted LLM server answering: the same steps as
in process, and the leaders answered from the agents."""

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


def _in_process_steps(scenario: Path) -> int:
    from fleetmind.planners.llm.config import LLMSettings

    from fleetmind.app.runner import RunConfig, run
    from fleetmind.app.scenario import load_scenario

    sc = load_scenario(scenario)
    result = run(
        RunConfig(scenario=sc, planner="has_llm_leaders", seed=0, episodes=1, llm=LLMSettings(backend="oracle"))
    )
    assert result.episodes[0].success
    return result.episodes[0].steps


def test_fleetmind_up_runs_a_has_search_with_llm_leaders(ros_env):
    scenario = ros_env / "has_tiny.yaml"
    scenario.write_text(SCENARIO, encoding="utf-8")
    steps = _in_process_steps(scenario)
    cmd = [str(BIN / "fleetmind"), "up", str(scenario), "--llm", "oracle", "--timeout", "480"]
    cmd += ["--heartbeat-timeout", "20"]  # a loaded machine starves agents for seconds: no drop, the same run
    env = {**os.environ, "ROS_DOMAIN_ID": str(60 + os.getpid() % 30), "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [*cmd, "--log-dir", str(ros_env / "logs")], cwd=ROOT, env=env, capture_output=True, text=True, timeout=560
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    agents = ", ".join(f"/robot_{i}/agent" for i in range(4))
    assert f"6 processes (/world, /planner, {agents})" in proc.stdout
    assert f"has_tiny over ROS 2 | planner has_llm_leaders | success True, steps {steps}" in proc.stdout
    logs = {p.stem: p.read_text(encoding="utf-8") for p in (ros_env / "logs").glob("*.log")}
    led = [line for text in logs.values() for line in text.splitlines() if " leads group g" in line]
    assert led and all("its model failed" not in line for line in led), logs.keys()
    planner = next(text for name, text in logs.items() if "planner" in name)
    assert "did not answer within" not in planner and "answer refused" not in planner and " dropped: " not in planner
