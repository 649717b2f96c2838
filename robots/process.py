"""Child processes that die with their parent: ``fleetmind up``'s nodes and the local ``llama-server`` must not
outlive a parent killed with SIGKILL (no cleanup code runs then; they would be re-parented and run forever).

On Linux the child asks the kernel for ``PR_SET_PDEATHSIG`` (``prctl`` through ctypes) before it executes. The
kernel sends the signal when the *thread* that started the child ends, so a child started from any thread but
the main one is started from one long-lived daemon thread that exists until the process does. Elsewhere the
children start plainly (a warning is logged once).
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import Any, NoReturn

log = logging.getLogger(__name__)

PR_SET_PDEATHSIG = 1
_prctl: Any = None
_spawner: queue.SimpleQueue[tuple[Callable[[], subprocess.Popen[bytes]], Future[subprocess.Popen[bytes]]]] | None = None
_lock = threading.Lock()
_warned = False
_NORMAL_EXIT = 0  # the byte that tells the SIGTERM deadline thread the interpreter exits normally


def _load_prctl() -> Any:
    """libc's ``prctl``, resolved in the parent (the child between fork and exec only calls it)."""
    global _prctl
    if _prctl is None:
        libc = ctypes.CDLL(None, use_errno=True)
        _prctl = libc.prctl
        _prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
        _prctl.restype = ctypes.c_int
    return _prctl


def _death_signal_hook(sig: int) -> Callable[[], None]:
    """A ``preexec_fn``: the child gets ``sig`` when its parent dies, or exits at once if it already has."""
    prctl, parent = _load_prctl(), os.getpid()

    def hook() -> None:
        prctl(PR_SET_PDEATHSIG, sig, 0, 0, 0)
        if os.getppid() != parent:  # the parent died between fork and prctl: nobody will send the signal
            os._exit(1)

    return hook


def _spawn_thread() -> queue.SimpleQueue[Any]:
    """The one daemon thread that starts children for the non-main threads; it lives as long as the process."""
    global _spawner
    with _lock:
        if _spawner is None:
            jobs: queue.SimpleQueue[Any] = queue.SimpleQueue()

            def serve() -> None:
                while True:
                    start, done = jobs.get()
                    try:
                        done.set_result(start())
                    except BaseException as exc:  # handed to the caller's thread
                        done.set_exception(exc)

            threading.Thread(target=serve, name="fleetmind-spawner", daemon=True).start()
            _spawner = jobs
        return _spawner


def popen_tied(cmd: Sequence[str], death_signal: int = signal.SIGTERM, **kwargs: Any) -> subprocess.Popen[bytes]:
    """``subprocess.Popen(cmd, **kwargs)`` whose process gets ``death_signal`` when this process dies, however it
    dies (SIGKILL included). ``preexec_fn`` may not be passed."""
    global _warned
    if "preexec_fn" in kwargs:
        raise TypeError("popen_tied sets preexec_fn itself")
    if not sys.platform.startswith("linux"):
        if not _warned:
            log.warning("children are not tied to this process on %s: kill them yourself if it is killed", sys.platform)
            _warned = True
        return subprocess.Popen(list(cmd), **kwargs)

    def start() -> subprocess.Popen[bytes]:
        return subprocess.Popen(list(cmd), preexec_fn=_death_signal_hook(death_signal), **kwargs)  # noqa: PLW1509

    if threading.current_thread() is threading.main_thread():
        return start()
    done: Future[subprocess.Popen[bytes]] = Future()
    _spawn_thread().put((start, done))
    return done.result()


class SigtermDeadline:
    """What :func:`exit_soon_after_sigterm` installed: whether SIGTERM came, and the way out once cleaned up."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._received = threading.Event()

    @property
    def received(self) -> bool:
        """SIGTERM has arrived: the process is stopping."""
        return self._received.is_set()

    def exit_now(self, code: int) -> NoReturn:
        """End the process at once, after the caller's own clean-up: flush the logs and exit without interpreter
        shutdown, which would join worker threads still in a model call, run ``atexit`` hooks and collect every
        module (seconds on a loaded machine)."""
        logging.shutdown()
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        os._exit(code)


def exit_soon_after_sigterm(seconds: float = 1.5) -> SigtermDeadline:
    """On SIGTERM, end this process after ``seconds`` at the latest, whatever it is busy with (a model call, a
    dialogue in flight, a worker pool that is joined at exit, the interpreter's own shutdown): a clean shutdown has
    that long. The deadline is kept by a thread woken by the signal itself (``signal.set_wakeup_fd``), not by the
    main thread, which may be busy. That thread is not a daemon: the interpreter halts daemon threads once its
    shutdown passes the joining of threads, which would cancel the deadline exactly when that shutdown is the slow
    part; a non-daemon thread is joined first, so it always keeps it (on a normal exit it is told to end).
    Install it before ``rclpy.init``, whose SIGTERM handler (the clean shutdown) then calls this one too. Main
    thread only."""
    read_end, write_end = os.pipe()
    os.set_blocking(write_end, False)
    stop = SigtermDeadline(seconds)

    noted: list[bool] = []

    def note(signum: int, frame: object) -> None:
        stop._received.set()
        if not noted:  # once, however often it comes
            noted.append(True)
            log.info("SIGTERM: stopping; exiting in %.1f s at the latest", seconds)

    def deadline() -> None:
        while True:
            caught = os.read(read_end, 64)  # one byte per signal number caught; 0: the interpreter exits
            if signal.SIGTERM in caught:
                break
            if _NORMAL_EXIT in caught:
                return
        stop._received.set()
        time.sleep(seconds)
        os._exit(128 + signal.SIGTERM)

    def normal_exit() -> None:  # after SIGTERM the thread no longer reads: it ends the process at the deadline
        with contextlib.suppress(OSError):
            os.write(write_end, bytes([_NORMAL_EXIT]))

    signal.signal(signal.SIGTERM, note)
    signal.set_wakeup_fd(write_end, warn_on_full_buffer=False)
    threading.Thread(target=deadline, name="sigterm-deadline", daemon=False).start()
    # called when the interpreter starts to exit, before it joins non-daemon threads (concurrent.futures uses it too)
    threading._register_atexit(normal_exit)  # type: ignore[attr-defined]
    return stop
