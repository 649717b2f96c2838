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
