"""Children die with their parent (issue 13, item 1): the local ``llama-server`` started by a run, even from a
worker thread that has since ended, is gone once the run is killed with SIGKILL (no cleanup code runs then)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux only")

ROOT = Path(__file__).resolve().parents[1]

# a stand-in for llama-server: answers /health on the port it is given, until it is stopped
_FAKE_SERVER = """#!{python}
import http.server, sys
port = int(sys.argv[sys.argv.index("--port") + 1])
class Health(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200); self.end_headers(); self.wfile.write(b"ok")
    def log_message(self, *args):
        pass
http.server.HTTPServer(("127.0.0.1", port), Health).serve_forever()
"""

# the run: starts the server from a worker thread that then ends, says the server's pid, and waits to be killed
_DRIVER = """
import signal, sys, threading, time
from pathlib import Path
from fleetmind.planners.llm import local
local.ensure_model = lambda name: Path(sys.argv[1])
local.server_binary = lambda: Path(sys.argv[2])
server = local.LlamaServer("qwen2.5-coder-0.5b", startup_timeout_s=60)
worker = threading.Thread(target=server.start)
worker.start()
worker.join()
time.sleep(0.5)
print(server.proc.pid, server.proc.poll(), flush=True)
time.sleep(120)
"""


def _alive(pid: int) -> bool:
    """Running (a zombie that nobody reaps yet does not count)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


def test_local_llm_server_dies_with_a_sigkilled_parent(tmp_path):
    fake = tmp_path / "llama-server"
    fake.write_text(_FAKE_SERVER.format(python=sys.executable))
    fake.chmod(0o755)
    model = tmp_path / "model.gguf"
    model.write_bytes(b"GGUF")
    env = {**os.environ, "FLEETMIND_DATA_DIR": str(tmp_path / "data")}
    driver = subprocess.Popen(
        [sys.executable, "-c", _DRIVER, str(model), str(fake)], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True
    )
    server_pid = None
    try:
        assert driver.stdout is not None
        pid_text, code = driver.stdout.readline().split()
        server_pid = int(pid_text)
        # the thread that started it has ended: the server still runs (the death signal follows the process)
        assert code == "None" and _alive(server_pid)
        driver.send_signal(signal.SIGKILL)
        driver.wait(timeout=30)
        deadline = time.monotonic() + 5.0  # a bound, not a timing claim: the kernel signals at once
        while _alive(server_pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _alive(server_pid), "llama-server outlived the process that started it"
    finally:
        if driver.poll() is None:
            driver.kill()
        if server_pid is not None and _alive(server_pid):
            os.kill(server_pid, signal.SIGKILL)


# a process that received SIGTERM and exits normally; the interpreter's shutdown then takes a minute: a module global
# whose finaliser blocks (as a slow final collection of every module does on a loaded machine)
_SLOW_SHUTDOWN = """
import sys, time
from fleetmind.robots.process import exit_soon_after_sigterm
class SlowToCollect:
    def __del__(self):
        time.sleep(60)
holder = SlowToCollect()
stop = exit_soon_after_sigterm(0.5)
print("ready", flush=True)
while not stop.received:
    time.sleep(0.01)
sys.exit(0)
"""


def test_the_sigterm_deadline_holds_through_the_interpreters_own_shutdown():
    """The deadline thread must outlive the interpreter's shutdown (a daemon thread is halted there, and the process
    then lived as long as its slowest finaliser): SIGTERM ends it with 143, not after the minute the finaliser takes."""
    proc = subprocess.Popen([sys.executable, "-c", _SLOW_SHUTDOWN], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=30)  # a bound, not a timing claim: it separates 0.5 s from 60 s
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert code == 128 + signal.SIGTERM


def test_a_process_without_sigterm_exits_normally_past_the_deadline_thread():
    """The deadline thread is not a daemon; without SIGTERM it must not hold the process at exit."""
    script = "from fleetmind.robots.process import exit_soon_after_sigterm\nexit_soon_after_sigterm(60)\nprint('bye')"
    proc = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=30)
    assert (proc.returncode, proc.stdout) == (0, "bye\n"), proc.stderr


# a node whose worker is in a model call when SIGTERM comes; the interpreter's shutdown would join that worker
_BUSY_NODE = """
import sys, time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from rclpy.node import Node
from fleetmind.ros.world_node import run_node
ready = Path(sys.argv[1])
class Busy(Node):
    def __init__(self):
        super().__init__("busy")
        self.worker = ThreadPoolExecutor(1)
        self.worker.submit(time.sleep, 60)
        self.create_timer(0.05, ready.touch)
    def destroy_node(self):
        self.worker.shutdown(wait=False, cancel_futures=True)
        print("destroyed", flush=True)
        super().destroy_node()
sys.exit(run_node(Busy, ["busy"]))
"""


def test_a_sigtermed_node_ends_right_after_its_clean_up_with_a_model_call_in_flight(ros_env):
    """SIGTERM while the node's worker is in a model call (60 s here): the node is destroyed and the process ends
    at once with 0. Before, the interpreter's shutdown joined the worker until the 1.5 s deadline killed it (143);
    with a slow final collection (agents after importing the OpenAI client stack) it took 3-5 s."""
    pytest.importorskip("rclpy")
    ready = ros_env / "spinning"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-c", _BUSY_NODE, str(ready)], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + 60.0
        while not ready.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert ready.exists(), "the node never spun"
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert "destroyed" in out
    assert proc.returncode == 0, "the deadline ended it (143): the clean stop waited for the worker"
