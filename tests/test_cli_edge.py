"""Bad input at the command line's edge is refused before anything runs: one line, exit 2, no process started,
no episode run (issue 13, items 14 and 17)."""

from __future__ import annotations

from pathlib import Path

import fleetmind.sim.record.cli as replay_cli
import pytest
from fleetmind.robots.errors import BadInputError
from fleetmind.robots.outputs import check_output_dir, check_output_file

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
    monkeypatch.setattr(replay_cli, "read_recording", ran)


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


@pytest.mark.parametrize("command", ["train", "run"])
def test_swarm_refuses_a_negative_seed_in_one_line(command, capsys):
    """A negative seed reached numpy's ``default_rng``: a traceback ending in "expected non-negative integer"."""
    assert _exit_code(["swarm", command, "vicsek", "--seed", "-1"]) == 2
    assert f"argument --seed: must be >= 0, got -1 (see `fleetmind swarm {command} --help`)" in _one_line(capsys)


@pytest.mark.parametrize(
    ("option", "value", "expected"),
    [
        ("--frames", "0", "argument --frames: must be >= 2 (the first and the last frame), got 0"),  # was drawn as 2
        ("--gif", "out.png", "--gif out.png: the animation is a GIF; give a file name ending in .gif"),  # was a PNG
    ],
)
def test_replay_refuses_bad_options_before_reading(option, value, expected, nothing_runs, capsys, tmp_path):
    mcap = tmp_path / "x.mcap"
    mcap.write_bytes(b"")
    assert _exit_code(["replay", str(mcap), option, value]) == 2
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
        ({"task": "boxnet1", "pybullet": {"physics_hz": True}}, "world.pybullet.physics_hz"),
        ({"task": "boxnet1", "run": {"seed": True}}, "run.seed"),
        ({"task": "boxnet1", "run": {"episodes": 2.0}}, "run.episodes"),
        ({"task": "boxnet1", "run": {"llm": {"max_tokens": True}}}, "run.llm.max_tokens"),
    ],
)
def test_task_sizes_are_strict_integers(world, key):
    """Every integer of a scenario, the task's, the backend's and the run's (``rows: true`` was read as 1)."""
    world = dict(world)
    run = world.pop("run", None)
    with pytest.raises(ScenarioError) as info:
        parse_scenario({"name": "x", "world": world, **({"run": run} if run else {})}, "bad.yaml")
    message = str(info.value)
    assert message.startswith(f"bad.yaml: {key}: Input should be a valid integer") and "\n" not in message
    assert parse_scenario({"name": "x", "world": {"task": "boxnet1", "rows": 4}}, "ok.yaml").world.rows == 4


# ------------------------------------------------------------------------------------------------ item 14
def _targets(tmp_path: Path) -> dict[str, str]:
    a_file = tmp_path / "a_file"
    a_file.write_text("x")
    return {"file": str(a_file), "under_file": str(a_file / "out"), "devnull": "/dev/null", "proc": "/proc/fleetmind"}


@pytest.mark.parametrize("kind", ["file", "under_file", "devnull", "proc"])
@pytest.mark.parametrize(
    "argv",
    [
        ["run", "boxnet1_2x2", "-q", "--out"],
        ["bench", "llm", "--quick", "--out"],
        ["up", "boxnet1_2x2", "--log-dir"],
        ["up", "boxnet1_2x2", "--log-dir", "LOGS", "--record"],
    ],
    ids=["run", "bench", "up-log-dir", "up-record"],
)
def test_an_output_that_cannot_be_written_is_refused_before_anything_runs(argv, kind, nothing_runs, capsys, tmp_path):
    target = _targets(tmp_path)[kind]
    argv = [str(tmp_path / "logs") if a == "LOGS" else a for a in argv]
    assert _exit_code([*argv, target]) == 2
    line = _one_line(capsys)
    assert line.startswith(f"fleetmind: error: {argv[-1]} {target}: "), line


def test_up_record_into_an_existing_folder_is_refused(nothing_runs, capsys, tmp_path):
    bag = tmp_path / "bag"
    bag.mkdir()
    assert _exit_code(["up", "boxnet1_2x2", "--log-dir", str(tmp_path / "logs"), "--record", str(bag)]) == 2
    assert _one_line(capsys) == f"fleetmind: error: --record {bag}: already exists; give a new folder for the bag"


@pytest.mark.parametrize("kind", ["folder", "under_file", "proc"])
def test_replay_gif_that_cannot_be_written_is_refused_before_reading(kind, nothing_runs, capsys, tmp_path):
    gif = {"folder": str(tmp_path), "under_file": _targets(tmp_path)["under_file"], "proc": "/proc/fleetmind.gif"}[kind]
    assert _exit_code(["replay", str(tmp_path / "episode.mcap"), "--gif", gif]) == 2
    assert _one_line(capsys).startswith(f"fleetmind: error: --gif {gif}: ")


def test_output_checks_accept_new_and_existing_folders_and_create_nothing(tmp_path):
    new = tmp_path / "a" / "b"
    assert check_output_dir(new, "--out") == new and not (tmp_path / "a").exists()
    assert check_output_dir(tmp_path, "--out") == tmp_path
    assert list(tmp_path.iterdir()) == []  # the probe file is gone
    assert check_output_file(tmp_path / "x" / "r.gif", "--gif") == tmp_path / "x" / "r.gif"
    assert check_output_file("/dev/null", "--gif") == Path("/dev/null")  # writing there is the user's choice
    with pytest.raises(BadInputError, match=r"^--out /dev/null: is not a folder; give a new or existing folder$"):
        check_output_dir("/dev/null", "--out")
    with pytest.raises(BadInputError, match=r"^--out /proc/x/y: cannot write in /proc \("):
        check_output_dir("/proc/x/y", "--out")


@pytest.mark.parametrize(
    ("reason", "check"),
    [
        ("llm_unavailable", "check the model server (http://127.0.0.1:9/v1, model default)"),
        ("robots_unreachable", "check the robots' power, addresses and keys (the world node's log names each link)"),
    ],
)
def test_up_exits_1_when_its_episode_failed_for_infrastructure(reason, check, monkeypatch, capsys, tmp_path):
    """``fleetmind up`` exited 0 after an episode the model server or the robots never let run (as run exits 1)."""
    from fleetmind.ros.up import UpResult

    monkeypatch.setattr(up_cli, "up", lambda config: UpResult(ran=True, failure_reason=reason, seconds=1.0))
    argv = ["up", "boxnet1_2x2", "--planner", "cmas", "--llm", "openai", "--base-url", "http://127.0.0.1:9/v1"]
    assert _exit_code([*argv, "--log-dir", str(tmp_path)]) == 1
    assert capsys.readouterr().err.strip() == (
        f"fleetmind: error: no episode ran: it failed for infrastructure, not planning ({reason}); {check}"
    )
    monkeypatch.setattr(up_cli, "up", lambda config: UpResult(ran=True, failure_reason="step_limit", seconds=1.0))
    assert _exit_code([*argv, "--log-dir", str(tmp_path)]) == 0  # a planning failure is a result


def test_up_refuses_a_planner_that_cannot_play_the_task_before_announcing_a_model_server(
    nothing_runs, capsys, tmp_path
):
    """``up --planner cmas`` on a HAS scenario printed "LLM endpoint: ..." before refusing; now the refusal is the
    only output, as with ``fleetmind run``."""
    code = _exit_code(["up", "scenarios/has_search.yaml", "--planner", "cmas", "--log-dir", str(tmp_path / "logs")])
    assert code == 2
    out = capsys.readouterr()
    assert out.out == ""
    assert out.err.startswith("fleetmind: error: --planner: planner 'cmas' cannot play task 'has' ")
    assert not (tmp_path / "logs").exists()
