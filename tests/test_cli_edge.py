"""Bad input at the command line's edge is refused before anything runs: one line, exit 2, no process started,
no episode run (issue 13, item 17)."""

from __future__ import annotations

import pytest

import fleetmind.app.bench_cli as bench_cli
import fleetmind.app.cli as app_cli
import fleetmind.ros.up_cli as up_cli
from fleetmind.app.scenario import ScenarioError, parse_scenario
from fleetmind.cli import main


@pytest.fixture
def nothing_runs(monkeypatch):
    """Every entry point that does the work fails the test if it is reached."""

    def ran(*args: object, **kwargs: object) -> None:
        raise AssertionError("work started before the bad input was refused")

    monkeypatch.setattr(app_cli, "run", ran)
    monkeypatch.setattr(bench_cli, "run_bench", ran)
    monkeypatch.setattr(up_cli, "up", ran)


def _one_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    return err.strip()


def _exit_code(argv: list[str]) -> int:
    """``main``'s exit code, whether it returns it or argparse raises ``SystemExit``."""
    try:
        return main(argv)
    except SystemExit as exc:
        return int(exc.code or 0)


# ------------------------------------------------------------------------------------------------ item 17
@pytest.mark.parametrize(
    ("option", "value", "expected"),
    [
        ("--timeout", "-5", "argument --timeout: must be a number of seconds > 0, got -5"),
        ("--timeout", "nan", "argument --timeout: must be a number of seconds > 0, got nan"),
        ("--heartbeat-timeout", "0", "argument --heartbeat-timeout: must be a number of seconds > 0, got 0"),
        ("--seed", "-1", "argument --seed: must be >= 0, got -1"),
    ],
)
def test_up_refuses_bad_numbers_before_starting_a_process(option, value, expected, nothing_runs, capsys):
    assert _exit_code(["up", "boxnet1_2x2", option, value]) == 2
    assert expected in _one_line(capsys)


def test_bench_seeds_0_is_refused_not_run_as_2(nothing_runs, capsys, tmp_path):
    assert _exit_code(["bench", "llm", "--seeds", "0", "--out", str(tmp_path)]) == 2
    assert "argument --seeds: must be >= 1, got 0" in _one_line(capsys)


def test_bench_seeds_1_runs_1(monkeypatch, tmp_path):
    seen: list[int] = []

    def fake_bench(llm, frameworks, tasks, sizes, seeds, *args, **kwargs):
        seen.append(seeds)
        return []

    monkeypatch.setattr(bench_cli, "run_bench", fake_bench)
    assert main(["bench", "llm", "--quick", "--seeds", "1", "--out", str(tmp_path)]) == 0
    assert seen == [1]


@pytest.mark.parametrize(
    ("world", "key"),
    [
        ({"task": "boxnet1", "rows": True}, "world.rows"),
        ({"task": "boxnet2", "cols": 2.0}, "world.cols"),
        ({"task": "warehouse", "robots": "4"}, "world.robots"),
        ({"task": "boxlift", "lifters": False}, "world.lifters"),
        ({"task": "boxlift", "step_limit": True}, "world.step_limit"),
        ({"task": "mapf_lifelong", "agents": True}, "world.agents"),
    ],
)
def test_task_sizes_are_strict_integers(world, key):
    with pytest.raises(ScenarioError) as info:
        parse_scenario({"name": "x", "world": world}, "bad.yaml")
    message = str(info.value)
    assert message.startswith(f"bad.yaml: {key}: Input should be a valid integer") and "\n" not in message
    assert parse_scenario({"name": "x", "world": {"task": "boxnet1", "rows": 4}}, "ok.yaml").world.rows == 4
