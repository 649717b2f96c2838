"""LLM backends: the chat client against the scripted server's injected faults, the real local model, the CLI."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from fleetmind.planners.llm.client import LLMError, LLMUnavailable, OpenAIChat
from fleetmind.planners.llm.config import LLMSettings
from fleetmind.planners.llm.prompts import state_block
from fleetmind.planners.llm.replies import ReplyError, extract_json, validate_plan
from fleetmind.planners.llm.schemas import joint_plan_schema
from fleetmind.planners.registry import make_planner
from fleetmind.planners.shield import check_plan
from fleetmind.robots.commands import EnterTrack, MoveBoxToCorner, PickBox, TrackMove
from fleetmind.robots.ids import GridCell, GridCorner, RobotId
from fleetmind.robots.planner import PlanningFailed
from fleetmind.sim.grid.fleet import GridFleet
from fleetmind.tasks.boxlift.shield import check_lifter_teams
from fleetmind.tasks.boxnet1.rules import BoxNet1
from fleetmind.tasks.boxnet2.rules import BoxNet2
from fleetmind.tasks.warehouse.rules import TrackPos, Warehouse

from fleetmind.app.llm import planner_options
from fleetmind.app.runner import run_episode

ROOT = Path(__file__).resolve().parents[1]


def _ask(url: str, obs, **kw):
    client = OpenAIChat(url, None, "oracle", backoff_s=0.01, **kw)
    messages = [
        {"role": "system", "content": "You are the central planner"},
        {"role": "user", "content": "plan\n" + state_block(obs)},
    ]
    return client.complete(messages, joint_plan_schema(obs), user="test:0")


def _obs():
    fleet = GridFleet(BoxNet1(2, 2))
    return fleet.reset(3)


@pytest.mark.parametrize("status", ["http429", "http500"])
def test_http_429_and_500_are_retried_with_backoff(server_factory, status):
    server = server_factory(faults=True, fault_every=1, fault_kinds=[status, "malformed"])
    server.fault_every = 2  # request 2 fails with the status, request 1 and 3 pass
    obs = _obs()
    _ask(server.base_url, obs)
    reply = _ask(server.base_url, obs)
    assert reply.retries == 1 and server.fault_counts[status] == 1
    assert validate_plan(obs, extract_json(reply.text)) is not None


def test_retries_run_out_into_a_one_line_error(server_factory):
    server = server_factory(faults=True, fault_every=1, fault_kinds=["http500"])
    with pytest.raises(LLMError, match=r"^LLM call failed after 3 attempts: HTTP 500$"):
        _ask(server.base_url, _obs(), max_retries=2)


def test_slow_reply_times_out_then_retries(server_factory):
    server = server_factory(faults=True, fault_every=2, fault_kinds=["slow"], slow_s=1.5)
    obs = _obs()
    _ask(server.base_url, obs, timeout_s=0.5)
    reply = _ask(server.base_url, obs, timeout_s=0.5)  # request 2 is slow and times out; request 3 answers
    assert reply.retries == 1


def test_server_without_schema_support_falls_back_to_parsing(server_factory):
    server = server_factory(reject_schema=True)
    client = OpenAIChat(server.base_url, None, "oracle", backoff_s=0.01)
    obs = _obs()
    messages = [
        {"role": "system", "content": "You are the central planner"},
        {"role": "user", "content": state_block(obs)},
    ]
    reply = client.complete(messages, joint_plan_schema(obs))
    assert client.structured_supported is False and validate_plan(obs, extract_json(reply.text))


def test_connection_refused_is_one_line_naming_the_url():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/v1"
    with pytest.raises(LLMUnavailable) as info:
        _ask(url, _obs())
    message = str(info.value)
    assert message.startswith(f"cannot reach the LLM server at {url}") and "\n" not in message
    planner = make_planner(
        "cmas", "boxnet1", planner_options(LLMSettings(backend="openai", base_url=url, max_retries=1))
    )
    record = run_episode(GridFleet(BoxNet1(2, 2)), planner, seed=0)
    assert record.failure_reason == "llm_unavailable" and not record.success


@pytest.mark.parametrize("fault", ["malformed", "illegal", "truncated"])
def test_bad_replies_end_in_a_reprompt(server_factory, fault, monkeypatch):
    server = server_factory(faults=True, fault_every=2, fault_kinds=[fault], always_object=False)
    from fleetmind.app import llm as backends

    monkeypatch.setattr(backends, "_oracle_url", lambda faulty: server.base_url)
    planner = make_planner("cmas", "boxnet1", planner_options(LLMSettings(backend="oracle")))
    record = run_episode(GridFleet(BoxNet1(2, 2)), planner, seed=0)
    assert record.success
    assert server.fault_counts[fault] >= 1
    assert record.extra["reprompts"] == server.fault_counts[fault]


def test_always_objecting_robot_and_every_fault_never_crash_an_episode():
    planner = make_planner("hmas2", "boxnet1", planner_options(LLMSettings(backend="oracle-faulty")))
    record = run_episode(GridFleet(BoxNet1(2, 2)), planner, seed=0)
    assert record.success or record.failure_reason in {"syntax", "llm_error", "step_limit"}
    assert record.extra["reprompts"] > 0


def test_extract_json_tolerates_fences_and_trailing_text():
    assert extract_json('Sure!\n```json\n{"a": "b {x}"}\n```\nHope this helps.') == {"a": "b {x}"}
    with pytest.raises(ReplyError, match="cut off"):
        extract_json('{"robot_0": "move(')
    with pytest.raises(ReplyError, match="no JSON object"):
        extract_json("robot_0 waits")


def test_schema_enumerates_each_robots_legal_actions():
    obs = _obs()
    schema = joint_plan_schema(obs)
    for rid, ro in obs.robots.items():
        if ro.legal:
            assert schema["properties"][rid]["enum"] == [*ro.legal_text, "wait"]
        else:
            assert rid not in schema["properties"]
    assert schema["additionalProperties"] is False


def test_shield_rejects_every_collision_type():
    task = BoxNet2(2, 2)
    fleet = GridFleet(task)
    fleet.reset(0)
    task.set_state({"red": GridCorner(0, 0), "blue": GridCorner(1, 1)}, {GridCell(0, 0): ["red"]})
    obs = fleet.observe()
    r0, r3 = RobotId("robot_0"), RobotId("robot_3")
    assert check_plan(obs, {r0: MoveBoxToCorner("red", GridCorner(1, 1))}) == [
        "box_blue and box_red would collide at position[1.0, 1.0]"
    ]
    assert check_plan(
        obs, {r0: MoveBoxToCorner("blue", GridCorner(0, 1)), r3: MoveBoxToCorner("blue", GridCorner(2, 2))}
    )[0] == ("box_blue is moved by robot_0 and robot_3 at once; only one robot may move it")
    assert (
        check_plan(obs, {r0: MoveBoxToCorner("red", GridCorner(1, 1)), r3: MoveBoxToCorner("blue", GridCorner(2, 2))})
        == []
    )

    wh = Warehouse(4)
    wf = GridFleet(wh)
    wf.reset(0)
    ids = wh.robot_ids
    wh.set_state({(0.5, 1)}, {ids[0]: TrackPos(0, 0), ids[1]: TrackPos(0, 2), ids[2]: TrackPos(1, 1), ids[3]: None})
    wobs = wf.observe()
    assert check_plan(wobs, {ids[0]: TrackMove("right"), ids[1]: TrackMove("left")}) == [
        "robot_0 and robot_1 would collide on track_0 column_1"
    ]
    assert check_plan(wobs, {ids[3]: EnterTrack(0)}) == ["robot_0 and robot_3 would collide on track_0 column_0"]
    wh.set_state({(0.5, 1)}, {ids[0]: TrackPos(0, 1), ids[1]: TrackPos(0, 3), ids[2]: TrackPos(1, 1), ids[3]: None})
    assert check_plan(wf.observe(), {ids[0]: PickBox(0.5, 1), ids[2]: PickBox(0.5, 1)}) == [
        "box_0.5_1 is picked by robot_0 and robot_2 at once"
    ]
    assert check_lifter_teams({"box_1": [ids[0], ids[1]], "box_2": [ids[1]]}) == [
        "robot_1 is assigned to both box_1 and box_2; a lifter lifts one box per step"
    ]


@pytest.mark.slow
def test_local_model_really_runs_and_returns_a_plan_that_validates():
    """One real call to the embedded Qwen2.5-Coder-0.5B through llama.cpp's server (installed by make)."""
    from fleetmind.planners.llm.local import LlamaServer

    fleet = GridFleet(BoxNet1(2, 2))
    obs = fleet.reset(0)
    with LlamaServer("qwen2.5-coder-0.5b", threads=2, context=4096) as server:
        planner = make_planner(
            "cmas",
            "boxnet1",
            planner_options(LLMSettings(backend="openai", base_url=server.base_url, structured=True, hints=True)),
        )
        planner.reset(obs, 0)
        try:
            plan = planner.plan(obs)
        except PlanningFailed as exc:  # pragma: no cover - a failure must say why
            pytest.fail(f"the local model gave no valid plan: {exc}")
    assert plan, "the model chose to do nothing at step 1 of a fresh world"
    assert all(cmd in obs.robots[r].legal for r, cmd in plan.items())
    m = planner.metrics()
    assert m["llm_calls"] >= 1 and m["prompt_tokens"] > 100 and not m["tokens_estimated"]


@pytest.mark.parametrize("framework", ["cmas", "dmas", "hmas1", "hmas2"])
def test_cli_llm_oracle_runs(tmp_path, framework):
    from fleetmind.cli import main

    out = tmp_path / framework
    assert (
        main(
            [
                "run",
                str(ROOT / "scenarios/boxnet1_2x2.yaml"),
                "--planner",
                framework,
                "--llm",
                "oracle",
                "--episodes",
                "3",
                "--out",
                str(out),
                "-q",
            ]
        )
        == 0
    )
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["success_rate"] == 1.0
    for ep in metrics["episodes"]:
        for key in ("llm_calls", "prompt_tokens", "completion_tokens", "reprompts", "shield_rejections", "llm_seconds"):
            assert key in ep, key
        assert ep["hints"] == "off"
    calls = [json.loads(x) for x in (out / "episodes" / "seed_0.llm.jsonl").read_text().splitlines()]
    assert len(calls) == metrics["episodes"][0]["llm_calls"] and calls[0]["messages"][0]["role"] == "system"


def test_cli_oracle_faulty_exits_0_without_traceback(tmp_path):
    exe = Path(sys.executable).with_name("fleetmind")
    done = subprocess.run(
        [
            str(exe),
            "run",
            "scenarios/boxnet1_2x2.yaml",
            "--planner",
            "hmas2",
            "--llm",
            "oracle-faulty",
            "--episodes",
            "2",
            "--out",
            str(tmp_path),
            "-q",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    for ep in metrics["episodes"]:
        assert ep["success"] or ep["failure_reason"]
        assert ep["reprompts"] > 0


def test_cli_rejects_a_bad_llm_option(capsys):
    from fleetmind.cli import main

    assert main(["run", "boxnet1_2x2", "--planner", "cmas", "--llm", "gpt9"]) == 2
    err = capsys.readouterr().err
    assert "--llm: 'gpt9' is not allowed; allowed values: 'openai', 'local', 'oracle' or 'oracle-faulty'" in err


def test_bench_llm_quick_writes_a_row_per_framework_and_task(tmp_path, capsys):
    from fleetmind.cli import main

    assert main(["bench", "llm", "--quick", "--llm", "oracle", "--seeds", "1", "--out", str(tmp_path)]) == 0
    data = json.loads((tmp_path / "llm.json").read_text())
    cells = {(r["framework"], r["task"]) for r in data["rows"]}
    tasks = ("boxnet1", "boxnet2", "warehouse", "boxlift")
    assert cells == {(f, t) for f in ("cmas", "dmas", "hmas1", "hmas2") for t in tasks}
    for r in data["rows"]:
        assert r["success_rate"] == 1.0 and r["hints"] == "off" and r["llm_calls_per_episode"] >= r["mean_steps"]
        assert 0 < r["prompt_ratio_vs_reference"] < 1.0
        assert r["overhead_ms_per_round"] > 0  # reported; its size is a timing figure (bench llm), not a test
    for name in ("llm.csv", "llm.md", "llm.png"):
        assert (tmp_path / name).stat().st_size > 100
    assert "tables:" in capsys.readouterr().out


@pytest.mark.parametrize(
    "url", ["not a url", "localhost:8080", "ftp://127.0.0.1/v1", "http://", "http://127.0.0.1:99999/v1", " http://h/v1"]
)
def test_a_base_url_that_is_not_an_http_url_is_refused_with_one_line(url, capsys, tmp_path):
    from pydantic import ValidationError

    from fleetmind.cli import main

    with pytest.raises(ValidationError, match="base_url"):
        LLMSettings(backend="openai", base_url=url)
    argv = ["run", "boxnet1_2x2", "--planner", "cmas", "--llm", "openai", "--base-url", url, "-q"]
    assert main([*argv, "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("fleetmind: error: --base-url: ") and err.count("\n") == 1, err
    assert "give an http(s) URL such as http://127.0.0.1:8080/v1" in err or "give one such as http://" in err
    assert not (tmp_path / "o").exists()


def test_the_base_url_from_the_environment_is_checked_too(monkeypatch, capsys, tmp_path):
    from fleetmind.cli import main

    monkeypatch.setenv("FLEETMIND_LLM_BASE_URL", "127.0.0.1:8080")
    assert main(["run", "boxnet1_2x2", "--planner", "cmas", "--llm", "openai", "-q", "--out", str(tmp_path)]) == 2
    assert capsys.readouterr().err == (
        "fleetmind: error: $FLEETMIND_LLM_BASE_URL: not an http(s) URL with a host; give one such as "
        "http://127.0.0.1:8080/v1 (got '127.0.0.1:8080')\n"
    )


def test_the_endpoint_is_said_at_start_and_the_public_default_warns_once(monkeypatch, capsys, caplog, tmp_path):
    """With no URL set, backend openai goes to the public OpenAI API: the run's first line says so (before any
    model call) and the client warns once at WARNING, which the CLI shows by default."""
    import logging

    import fleetmind.app.cli as app_cli
    from fleetmind.app import llm as backends
    from fleetmind.cli import main

    monkeypatch.delenv("FLEETMIND_LLM_BASE_URL", raising=False)
    monkeypatch.delenv("FLEETMIND_LLM_MODEL", raising=False)

    def stop(*args: object, **kwargs: object) -> None:
        raise OSError("stopped before any model call")

    monkeypatch.setattr(app_cli, "run", stop)
    argv = ["run", "boxnet1_2x2", "--planner", "cmas", "--llm", "openai", "-q", "--out", str(tmp_path)]
    assert main(argv) == 1
    assert capsys.readouterr().out.splitlines() == [
        "LLM endpoint: https://api.openai.com/v1: the public OpenAI API (no --base-url, run.llm.base_url or "
        "$FLEETMIND_LLM_BASE_URL set), model default"
    ]
    assert main([*argv, "--base-url", "http://127.0.0.1:9/v1"]) == 1
    assert capsys.readouterr().out.splitlines() == ["LLM endpoint: http://127.0.0.1:9/v1, model default"]
    assert main(["run", "boxnet1_2x2", "--planner", "oracle", "-q", "--out", str(tmp_path)]) == 1
    assert capsys.readouterr().out == ""  # no LLM, no endpoint line

    monkeypatch.setattr(backends, "_warned", set())
    with caplog.at_level(logging.WARNING, logger="fleetmind.app.llm"):
        public = [backends.make_client(LLMSettings(backend="openai")) for _ in range(2)]
        own = backends.make_client(LLMSettings(backend="openai", base_url="http://127.0.0.1:9/v1"))
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warned == [
        "LLM backend openai goes to the public OpenAI API at https://api.openai.com/v1 "
        "(no --base-url, run.llm.base_url or $FLEETMIND_LLM_BASE_URL set)"
    ]
    assert [c.base_url for c in public] == ["https://api.openai.com/v1"] * 2 and own.base_url == "http://127.0.0.1:9/v1"
