"""Hostile LLM servers (issue 13): bad 200 replies, hung servers, huge replies end the episode, never the run."""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

import pytest
from fake_chat import ScriptedChat
from fleetmind.planners.llm.client import LLMError, LLMTimeout, OpenAIChat
from fleetmind.planners.llm.config import LLMSettings
from fleetmind.planners.llm.prompts import state_block
from fleetmind.planners.llm.replies import extract_json, validate_plan
from fleetmind.planners.llm.schemas import joint_plan_schema
from fleetmind.planners.llm.session import Session
from fleetmind.planners.registry import make_planner
from fleetmind.robots.clock import ManualClock
from fleetmind.robots.planner import PlanningFailed
from fleetmind.sim.grid.fleet import GridFleet
from fleetmind.tasks.boxnet1.rules import BoxNet1

from fleetmind.app.llm import planner_options
from fleetmind.app.runner import run_episode

ROOT = Path(__file__).resolve().parents[1]


def _obs():
    return GridFleet(BoxNet1(2, 2)).reset(3)


def _ask(url: str, obs, **kw):
    client = OpenAIChat(url, None, "oracle", backoff_s=0.01, **kw)
    messages = [
        {"role": "system", "content": "You are the central planner"},
        {"role": "user", "content": "plan\n" + state_block(obs)},
    ]
    return client.complete(messages, joint_plan_schema(obs), user="test:0")


# ---------------------------------------------------------------- item 4: a 200 that is no chat completion
@pytest.mark.parametrize("fault", ["empty", "not_json"])
def test_a_bad_200_body_is_retried_like_a_server_error(server_factory, fault):
    server = server_factory(faults=True, fault_every=2, fault_kinds=[fault])
    obs = _obs()
    _ask(server.base_url, obs)
    reply = _ask(server.base_url, obs)  # request 2 is the bad body, request 3 answers
    assert reply.retries == 1 and server.fault_counts[fault] == 1
    assert validate_plan(obs, extract_json(reply.text))


@pytest.mark.parametrize(
    ("fault", "detail"),
    [
        ("empty", "an empty body"),
        ("not_json", "a body that is not JSON (52 bytes: '<html><body>502 Bad Gateway (injected)</body></html>')"),
    ],
)
def test_a_bad_200_body_runs_out_into_one_readable_line(server_factory, fault, detail):
    server = server_factory(faults=True, fault_every=1, fault_kinds=[fault])
    with pytest.raises(LLMError) as info:
        _ask(server.base_url, _obs(), max_retries=1)
    assert str(info.value) == f"LLM call failed after 2 attempts: HTTP 200 with {detail}"
    assert server.requests == 2


def test_a_bad_200_body_ends_the_episode_as_llm_error(server_factory):
    server = server_factory(faults=True, fault_every=1, fault_kinds=["empty"])
    settings = LLMSettings(backend="openai", base_url=server.base_url, max_retries=1, backoff_s=0.01)
    planner = make_planner("cmas", "boxnet1", planner_options(settings))
    trace: list[dict] = []
    record = run_episode(GridFleet(BoxNet1(2, 2)), planner, seed=0, trace=trace)
    assert (record.success, record.failure_reason, record.steps) == (False, "llm_error", 0)
    assert trace[-1]["planning_failed"] == "llm_error: LLM call failed after 2 attempts: HTTP 200 with an empty body"


def test_cli_run_against_a_server_with_empty_bodies_keeps_its_output(server_factory, tmp_path, capsys):
    """A server fault is no bad input and no planning failure: metrics.json written with the episode failed as
    llm_error, and exit 1 with one line since no episode ran (issue 18)."""
    from fleetmind.cli import main

    server = server_factory(faults=True, fault_every=1, fault_kinds=["empty"])
    scenario = tmp_path / "boxnet1_llm.yaml"
    run = {"planner": "cmas", "llm": {"backend": "openai", "base_url": server.base_url, "backoff_s": 0.01}}
    world = {"task": "boxnet1", "rows": 2, "cols": 2}
    scenario.write_text(json.dumps({"name": "boxnet1_llm", "world": world, "run": run}))
    out = tmp_path / "out"
    assert main(["run", str(scenario), "--out", str(out), "-q"]) == 1
    episode = json.loads((out / "metrics.json").read_text())["episodes"][0]
    assert (episode["success"], episode["failure_reason"]) == (False, "llm_error")
    assert "Expecting value" not in capsys.readouterr().err


# ---------------------------------------------------------------- item 2: total deadlines, step budget
@pytest.mark.parametrize("fault", ["trickle_head", "trickle_body"])
def test_a_trickling_server_cannot_stretch_a_call_past_its_deadline(server_factory, fault):
    """One byte every 0.1 s never trips a per-read timeout (the reply would take ~30 s); the total deadline does."""
    server = server_factory(faults=True, fault_every=1, fault_kinds=[fault], trickle_s=0.1)
    start = time.monotonic()
    with pytest.raises(LLMTimeout) as info:
        _ask(server.base_url, _obs(), timeout_s=0.5, max_retries=1)
    elapsed = time.monotonic() - start
    assert str(info.value) == "LLM call failed after 2 attempts: no whole reply within 0.5s"
    assert elapsed < 10, f"two 0.5 s attempts took {elapsed:.1f}s"
    assert server.fault_counts[fault] == 2


def test_the_time_left_to_a_call_bounds_all_its_retries(server_factory):
    server = server_factory(faults=True, fault_every=1, fault_kinds=["trickle_body"], trickle_s=0.1)
    client = OpenAIChat(server.base_url, None, "oracle", timeout_s=60.0, max_retries=4, backoff_s=0.01)
    start = time.monotonic()
    with pytest.raises(LLMTimeout, match=r"^LLM call got no reply within the 0.5s left to it$"):
        client.complete([{"role": "user", "content": state_block(_obs())}], None, "test:0", time_left_s=0.5)
    assert time.monotonic() - start < 10
    assert server.requests == 1


def test_a_step_ends_as_llm_timeout_once_its_budget_is_spent():
    """Each call takes 100 s on the session's clock and gets a reply that needs a re-prompt: a 250 s budget allows
    three calls, each told what is left of it."""
    clock = ManualClock()

    def reply(messages, schema):
        clock.advance(100.0)
        return "no plan, sorry"

    chat = ScriptedChat(reply)
    session = Session(chat, LLMSettings(step_timeout_s=250.0, max_reprompts=20), "test:0", clock=clock)
    session.start_step(4)
    with pytest.raises(PlanningFailed) as info:
        session.ask("central", None, lambda: [{"role": "user", "content": "plan"}], None, extract_json)
    assert (info.value.reason, info.value.detail) == ("llm_timeout", "step 5 spent its step_timeout_s=250s")
    assert chat.time_left == [250.0, 150.0, 50.0] and session.reprompts == 3
    session.start_step(5)  # a new step has a new budget
    with pytest.raises(PlanningFailed, match="llm_timeout"):
        session.ask("central", None, lambda: [{"role": "user", "content": "plan"}], None, extract_json)
    assert chat.time_left[3:] == [250.0, 150.0, 50.0]


def test_a_hung_server_ends_the_episode_as_llm_timeout_in_bounded_time(server_factory, monkeypatch):
    from fleetmind.app import llm as backends

    server = server_factory(faults=True, fault_every=1, fault_kinds=["trickle_head"], trickle_s=0.1)
    monkeypatch.setattr(backends, "_oracle_url", lambda faulty: server.base_url)
    settings = LLMSettings(backend="oracle", timeout_s=0.3, max_retries=1)
    planner = make_planner("cmas", "boxnet1", planner_options(settings))
    start = time.monotonic()
    record = run_episode(GridFleet(BoxNet1(2, 2)), planner, seed=0)
    assert (record.success, record.failure_reason, record.steps) == (False, "llm_timeout", 0)
    assert time.monotonic() - start < 10


# ---------------------------------------------------------------- item 5: reply size
def test_a_huge_reply_is_cut_in_the_call_log_the_reprompt_and_the_log(caplog):
    huge = "{" + "x" * 5_000_000  # 5 MB that never closes its object
    chat = ScriptedChat([huge, '{"robot_0": "wait"}'])
    session = Session(chat, LLMSettings(max_reply_chars=1000), "test:0", clock=ManualClock())
    session.start_step(0)
    with caplog.at_level("WARNING"):
        got = session.ask("central", None, lambda: [{"role": "user", "content": "plan"}], None, extract_json)
    assert got == {"robot_0": "wait"}
    first, second = session.calls
    assert (len(first.reply), first.reply_chars) == (1000, 5_000_001)
    assert (second.reply, second.reply_chars) == ('{"robot_0": "wait"}', 19)
    reprompt = chat.calls[1][0]
    assert reprompt[-2] == {"role": "assistant", "content": huge[:1000]}
    cut = "Your reply was 5000001 characters long; only the first 1000 were read.\nYour reply has errors:"
    assert reprompt[-1]["content"].startswith(cut)
    assert sum(len(m["content"]) for m in reprompt) < 2000
    assert len(json.dumps([dataclasses.asdict(c) for c in session.calls])) < 5000
    assert "step 1 central: reply of 5000001 characters cut to max_reply_chars=1000" in caplog.text
    assert max(len(r.getMessage()) for r in caplog.records) < 300


def test_max_reply_chars_is_checked_with_the_field_named():
    with pytest.raises(ValueError, match="max_reply_chars"):
        LLMSettings(max_reply_chars=10)
