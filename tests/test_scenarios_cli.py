"""Scenario schema, loader errors and the `fleetmind` command line, as a user runs them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from fleetmind.planners.llm.config import LLMSettings
from fleetmind.tasks import TASKS, GridTaskPlugin, get_task

from fleetmind.app.scenario import Scenario, ScenarioError, list_scenarios, load_scenario, parse_scenario
from fleetmind.cli import main

ROOT = Path(__file__).resolve().parents[1]
PAPER = {
    "boxnet1": ["2x2", "2x4", "4x4", "4x8"],
    "boxnet2": ["2x2", "2x4", "4x4", "4x8"],
    "warehouse": ["4", "6", "8", "10"],
    "boxlift": ["4x10", "6x14", "8x18", "10x24"],
}


def test_sixteen_scenarios_one_per_task_and_size():
    names = {p.stem for p in (ROOT / "scenarios").glob("*.yaml")}
    paper = {f"{t}_{s}" for t, sizes in PAPER.items() for s in sizes}
    assert len(paper) == 16 and paper <= names
    assert {"warehouse_lifelong_64"} <= names - paper  # lifelong MAPF scenarios (issue 4) come on top
    for path, sc in list_scenarios():
        assert isinstance(sc, Scenario), f"{path}: {sc}"
        assert sc.name == path.stem


def test_readme_says_which_scenarios_are_the_papers_and_that_structured_output_is_always_on():
    readme = (ROOT / "README.md").read_text()
    names = {p.stem for p in (ROOT / "scenarios").glob("*.yaml")}
    paper = {f"{t}_{s}" for t, sizes in PAPER.items() for s in sizes}
    assert f"Of the {len(names)} scenarios in `scenarios/`, {len(paper)} are the paper's" in readme
    assert all(f"`{name}`" in readme for name in names - paper), names - paper
    backends = ("openai", "local", "oracle", "oracle-faulty")
    assert all(LLMSettings(backend=b).structured_on for b in backends)
    assert "with `structured` on (the default for every backend, `openai`\nincluded;" in readme


@pytest.mark.parametrize(
    ("doc", "expected"),
    [
        (
            {"name": "x", "world": {"task": "boxnet1", "colz": 3}},
            "unknown key 'world.colz'; allowed keys here: backend, cols, firmware, mavlink, pybullet, rows, "
            "step_limit, task",
        ),
        (
            {"name": "x", "world": {"task": "boxnet9"}},
            "world.task: 'boxnet9' is not allowed; allowed values: 'boxnet1', 'boxnet2', 'warehouse', 'boxlift'",
        ),
        ({"name": "x", "world": {"rows": 2}}, "world: missing key 'task'"),
        (
            {"name": "x", "world": {"task": "warehouse"}, "run": {"planer": "oracle"}},
            "unknown key 'run.planer'; allowed keys here: episodes, llm, planner, seed",
        ),
        (
            {"name": "x", "extra": 1, "world": {"task": "boxlift"}},
            "unknown key 'extra'; allowed keys here: description, name, run, world",
        ),
        (
            {"name": "x", "world": {"task": "boxnet2", "rows": 0}},
            "world.rows: Input should be greater than or equal to 1 (got 0)",
        ),
        (
            {"name": "x", "world": {"task": "boxlift"}, "run": {"planner": "gpt9"}},
            "run.planner: unknown planner 'gpt9'; available: ",
        ),
        ({"world": {"task": "boxlift"}}, "name: required key is missing"),
        (["not", "a", "mapping"], "a scenario must be a mapping"),
    ],
)
def test_bad_scenarios_fail_with_one_line_naming_file_and_key(doc, expected):
    with pytest.raises(ScenarioError) as info:
        parse_scenario(doc, "bad.yaml")
    message = str(info.value)
    assert message.startswith("bad.yaml: ")
    assert expected in message
    assert "\n" not in message


def test_invalid_yaml_and_missing_file(tmp_path):
    bad = tmp_path / "broken.yaml"
    bad.write_text("name: x\nworld: {task: boxnet1\n")
    with pytest.raises(ScenarioError, match=r"broken.yaml: invalid YAML at line 3"):
        load_scenario(bad)
    with pytest.raises(ScenarioError, match=r"scenario file not found: nope.yaml \(`fleetmind list`"):
        load_scenario("nope.yaml")
    (tmp_path / "two").mkdir()
    (tmp_path / "two" / "b.yaml").write_text("name: b\n")
    (tmp_path / "two" / "a.yaml").write_text("name: a\n")
    # a folder was "not found" although it is there
    with pytest.raises(ScenarioError) as info:
        load_scenario(tmp_path / "two")
    assert (
        str(info.value) == f"{tmp_path / 'two'}: is a folder; give one scenario file in it, e.g. {tmp_path}/two/a.yaml"
    )


def test_scenario_by_name_and_defaults():
    sc = load_scenario("warehouse_8")
    assert sc.world.task == "warehouse" and sc.world.robots == 8
    fleet = sc.make_fleet()
    assert len(fleet.robot_ids) == 8 and fleet.step_limit == 40
    assert {n for n in TASKS if isinstance(get_task(n), GridTaskPlugin)} == set(PAPER)


def test_cli_run_writes_metrics(tmp_path, capsys):
    out = tmp_path / "out"
    code = main(
        ["run", str(ROOT / "scenarios/boxlift_4x10.yaml"), "--seed", "3", "--episodes", "4", "--out", str(out), "-q"]
    )
    assert code == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["scenario"] == "boxlift_4x10" and metrics["planner"] == "oracle"
    assert [e["seed"] for e in metrics["episodes"]] == [3, 4, 5, 6]
    for e in metrics["episodes"]:
        assert {"seed", "success", "steps", "failure_reason"} <= set(e)
    assert metrics["success_rate"] == 1.0
    assert metrics["mean_steps"] == pytest.approx(sum(e["steps"] for e in metrics["episodes"]) / 4)
    trace = (out / "episodes" / "seed_3.jsonl").read_text().splitlines()
    assert len(trace) == metrics["episodes"][0]["steps"] + 1  # the start plus one line per step
    assert json.loads(trace[-1])["metrics"]["success"] is True
    printed = capsys.readouterr().out
    assert "success 4/4 (100%)" in printed and str(out / "metrics.json") in printed


def test_cli_bad_input_exits_2_with_one_line(tmp_path, capsys):
    assert main(["run", "scenarios/missing.yaml"]) == 2
    err = capsys.readouterr().err.strip()
    expected = "scenario file not found: scenarios/missing.yaml (`fleetmind list` shows the available scenarios)"
    assert err == f"fleetmind: error: {expected}"
    bad = tmp_path / "unknown_key.yaml"
    bad.write_text(yaml.safe_dump({"name": "x", "world": {"task": "boxnet1", "size": 3}}))
    assert main(["run", str(bad)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "unknown key 'world.size'" in err[0] and str(bad) in err[0]
    assert main(["run", "boxnet1_2x2", "--planner", "nope", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "unknown planner 'nope'; available: " in err and "oracle" in err


def test_cli_list(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    found = len(list((ROOT / "scenarios").glob("*.yaml")))
    assert found >= 16 and f"scenarios ({found}):" in out and "boxnet2_4x8" in out
    assert "planners: " in out and "oracle" in out
    rows = [line for line in out.splitlines() if line.startswith("  ")]
    starts = {line.index(" BoxNet", 2) if " BoxNet" in line else None for line in rows}  # the description column
    tasks = {line.index(" " + task + " ") for line in rows for task in ("boxnet1", "has") if f" {task} " in line}
    assert len(starts - {None}) == 1 and len(tasks) == 1, "the list's columns do not line up"


def test_console_script_end_to_end(tmp_path):
    """The installed `fleetmind` entry point, in a subprocess, as a user runs it."""
    exe = Path(sys.executable).with_name("fleetmind")
    assert exe.exists(), "fleetmind console script not installed in the venv"
    done = subprocess.run(
        [str(exe), "run", "scenarios/warehouse_4.yaml", "--episodes", "2", "--out", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads((tmp_path / "metrics.json").read_text())["success_rate"] == 1.0
    missing = subprocess.run(
        [str(exe), "run", "scenarios/missing.yaml"], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert missing.returncode == 2
    assert missing.stderr.count("\n") == 1 and "scenario file not found" in missing.stderr
