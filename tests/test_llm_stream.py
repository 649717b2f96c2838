"""Streamed replies: a reply still coming is never thrown away (the timeout is an idle timeout), a stalled one is,
usage comes from the server, llama.cpp's prompt cache is asked for, and unreachable servers are retried."""

from __future__ import annotations

import socket
import time

import pytest
from fleetmind.planners.llm.client import LLMTimeout, LLMUnavailable, OpenAIChat
from fleetmind.planners.llm.prompts import state_block
from fleetmind.planners.llm.replies import extract_json, validate_plan
from fleetmind.planners.llm.schemas import joint_plan_schema
from fleetmind.sim.grid.fleet import GridFleet
from fleetmind.tasks.boxnet1.rules import BoxNet1


def _messages(obs):
    return [
        {"role": "system", "content": "You are the central planner"},
        {"role": "user", "content": "plan\n" + state_block(obs)},
    ]


def _obs():
    return GridFleet(BoxNet1(2, 2)).reset(3)


def test_a_slow_stream_is_read_whole_past_the_idle_timeout(server_factory):
    """Chunks 0.5 s apart for a ~70-character reply (~4 s in all) with a 3 s timeout: one attempt, whole (the gap
    leaves the loaded test machine 2.5 s of room)."""
    server = server_factory(faults=True, fault_every=1, fault_kinds=["stream_slow"], trickle_s=0.5)
    obs = _obs()
    client = OpenAIChat(server.base_url, None, "oracle", timeout_s=3.0, max_retries=0, backoff_s=0.01)
    start = time.monotonic()
    reply = client.complete(_messages(obs), joint_plan_schema(obs), user="test:0", time_left_s=120.0)
    assert time.monotonic() - start > 3.0  # longer than the timeout: it was not cut at timeout_s
    assert reply.retries == 0 and server.requests == 1
    assert validate_plan(obs, extract_json(reply.text))
    assert server.last_body["stream"] is True and server.last_body["stream_options"] == {"include_usage": True}


def test_usage_comes_from_the_stream_not_an_estimate(server_factory):
    server = server_factory()
    obs = _obs()
    reply = OpenAIChat(server.base_url, None, "oracle").complete(_messages(obs), None, user="test:0")
    chars = sum(len(m["content"]) for m in _messages(obs))
    assert not reply.estimated and reply.prompt_tokens == chars // 4 + 1  # the scripted server's own count
    assert reply.finish_reason == "stop"


def test_a_stalled_stream_times_out_on_the_idle_timeout_and_is_retried(server_factory):
    server = server_factory(faults=True, fault_every=1, fault_kinds=["stream_stall"])
    client = OpenAIChat(server.base_url, None, "oracle", timeout_s=0.3, max_retries=1, backoff_s=0.01)
    with pytest.raises(LLMTimeout, match=r"^LLM call failed after 2 attempts: no whole reply within 0\.3s$"):
        client.complete(_messages(_obs()), None, user="test:0", time_left_s=30.0)
    assert server.fault_counts["stream_stall"] == 2


def test_the_caller_time_bounds_a_stream_that_never_ends(server_factory):
    """Chunks every 0.1 s forever-ish: the idle timeout never fires; the 0.6 s the caller has left does."""
    server = server_factory(faults=True, fault_every=1, fault_kinds=["stream_slow"], trickle_s=0.1)
    client = OpenAIChat(server.base_url, None, "oracle", timeout_s=5.0, max_retries=3, backoff_s=0.01)
    start = time.monotonic()
    with pytest.raises(LLMTimeout):
        client.complete(_messages(_obs()), None, user="test:0", time_left_s=0.6)
    assert time.monotonic() - start < 5


def test_extra_body_fields_reach_the_server_and_non_streaming_still_works(server_factory):
    server = server_factory()
    obs = _obs()
    client = OpenAIChat(server.base_url, None, "oracle", stream=False, extra_body={"cache_prompt": True})
    reply = client.complete(_messages(obs), None, user="test:0")
    assert validate_plan(obs, extract_json(reply.text))
    assert server.last_body["cache_prompt"] is True and "stream" not in server.last_body


def test_an_unreachable_server_is_retried_with_backoff_then_one_line():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/v1"
    client = OpenAIChat(url, None, "oracle", max_retries=2, backoff_s=0.01)
    with pytest.raises(LLMUnavailable) as info:
        client.complete(_messages(_obs()), None)
    assert str(info.value).startswith(f"cannot reach the LLM server at {url}")
    assert str(info.value).endswith("(3 attempts)") and "\n" not in str(info.value)


def test_the_history_budget_is_measured_in_the_server_s_tokens():
    """ScriptedChat reports 101 prompt tokens for its first call: the history then counts 300/101 chars a token."""
    from fake_chat import ScriptedChat
    from fleetmind.planners.llm.config import LLMSettings
    from fleetmind.planners.llm.session import Session
    from fleetmind.robots.clock import ManualClock

    session = Session(ScriptedChat(['{"robot_0": "wait"}']), LLMSettings(history_tokens=10), "t:0", clock=ManualClock())
    session.start_step(0)
    prompt = [{"role": "user", "content": "x" * 300}]
    session.call("central", None, lambda: prompt, [], None)
    assert session.history.chars_per_token == 300 / 101  # 300 characters, 101 tokens by the server's count
    session.history.add("y" * 29)  # 10 tokens at 2.97 characters a token: fits the budget of 10
    session.history.add("z" * 31)  # 11 tokens: the newest no longer fits, so nothing older is kept either
    assert session.history.render() == ""
    session.history.entries.pop()
    assert session.history.render() == "y" * 29


def test_llm_timeout_on_the_command_line_sets_the_request_timeout():
    import argparse

    from fleetmind.planners.llm.config import LLMSettings
    from fleetmind.robots.errors import BadInputError

    from fleetmind.app.cli import llm_settings

    assert llm_settings(LLMSettings(), argparse.Namespace(llm_timeout=7.5)).timeout_s == 7.5
    with pytest.raises(BadInputError, match=r"^--llm-timeout: Input should be greater than 0"):
        llm_settings(LLMSettings(), argparse.Namespace(llm_timeout=-1.0))


def test_aborting_ends_a_call_in_flight_in_another_thread_at_once_and_resuming_allows_new_ones(server_factory):
    """A server that accepts and never answers, a 600 s timeout: ``abort_llm_calls`` (what Ctrl-C and SIGTERM call)
    ends the call a worker thread has in flight, with no retry; new calls fail until ``resume_llm_calls``."""
    import threading

    from fleetmind.planners.llm import abort_llm_calls, resume_llm_calls
    from fleetmind.planners.llm.client import LLMError

    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(4)
    accepted = threading.Event()
    conns: list[socket.socket] = []

    def accept() -> None:
        conn, _ = silent.accept()
        conns.append(conn)
        accepted.set()

    threading.Thread(target=accept, daemon=True).start()
    client = OpenAIChat(f"http://127.0.0.1:{silent.getsockname()[1]}/v1", None, "m", timeout_s=600, max_retries=4)
    outcome: list[BaseException] = []

    def call() -> None:
        try:
            client.complete(_messages(_obs()), None, user="test:0")
        except BaseException as exc:  # noqa: BLE001 - the test reads it
            outcome.append(exc)

    worker = threading.Thread(target=call, daemon=True)
    worker.start()
    try:
        assert accepted.wait(60), "the client never connected"
        abort_llm_calls()
        worker.join(60)  # a bound, not a timing check: unaborted, the call would wait 600 s
        assert not worker.is_alive()
        assert len(outcome) == 1 and isinstance(outcome[0], LLMError), outcome
        assert str(outcome[0]) == "LLM call aborted: the run is stopping"
        working = server_factory()
        with pytest.raises(LLMError, match="aborted"):  # still aborted: a new call fails at once
            OpenAIChat(working.base_url, None, "oracle").complete(_messages(_obs()), None, user="test:1")
    finally:
        resume_llm_calls()
        silent.close()
        for conn in conns:
            conn.close()
    reply = OpenAIChat(working.base_url, None, "oracle").complete(_messages(_obs()), None, user="test:2")
    assert reply.text and working.requests == 1  # the aborted call never reached it; this one did
