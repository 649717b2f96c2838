"""A total deadline for one HTTP call: connect, send and the whole response, however the server paces its bytes.

httpx's timeouts are per socket operation: a server that trickles one byte every few seconds never trips a 120 s
read timeout and holds a call forever. Here every connect, read and write of the calling thread waits at most until
the deadline set by :func:`call_deadline`, and raises httpcore's own timeout once it has passed (the HTTP stack maps
it to ``httpx2.ReadTimeout``, the ``openai`` package to ``APITimeoutError``). The deadline is per thread: parallel
calls (HMAS-2's plan checks) each keep their own. The clock is the real monotonic one: sockets wait in real time.

:func:`abort_calls` ends every call in flight at once (its socket is shut down) and fails every new one until
:func:`resume_calls`: Ctrl-C or SIGTERM must not wait for calls other threads have in flight (HMAS-2's checks).
"""

from __future__ import annotations

import socket
import ssl
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import httpcore2
import httpx2

_local = threading.local()
_live: dict[int, _Stream] = {}  # every open connection of these clients, by id (plain dict: no lock to take)
_state = {"aborted": False}


def abort_calls() -> None:
    """Fail every HTTP call of these clients in this process now, and every new one until :func:`resume_calls`.
    Takes no lock, so a signal handler may call it while any thread is anywhere."""
    _state["aborted"] = True
    for stream in list(_live.values()):  # one C-level copy under the GIL
        stream.abort()


def resume_calls() -> None:
    """Calls may run again (after :func:`abort_calls`)."""
    _state["aborted"] = False


def calls_aborted() -> bool:
    return _state["aborted"]


@contextmanager
def call_deadline(seconds: float) -> Iterator[None]:
    """Every network wait of this thread inside the block ends ``seconds`` from now at the latest."""
    _local.deadline = time.monotonic() + seconds
    try:
        yield
    finally:
        _local.deadline = None


def extend_deadline(until: float) -> None:
    """Move this thread's deadline (set by :func:`call_deadline`) to ``until`` on the monotonic clock: a streamed
    reply that keeps coming may take the caller's whole time; each read still waits at most its own timeout."""
    if getattr(_local, "deadline", None) is not None:
        _local.deadline = until


def _capped(timeout: float | None, expired: type[Exception]) -> float | None:
    if _state["aborted"]:
        raise expired("calls aborted: the run is stopping")
    deadline = getattr(_local, "deadline", None)
    if deadline is None:
        return timeout
    left = deadline - time.monotonic()
    if left <= 0:
        raise expired("the call's total deadline passed")
    return left if timeout is None else min(timeout, left)


class _Stream(httpcore2.NetworkStream):
    def __init__(self, inner: httpcore2.NetworkStream) -> None:
        self._inner = inner
        _live[id(self)] = self
        if _state["aborted"]:  # aborted while this one was connecting
            self.abort()

    def abort(self) -> None:
        """Shut the socket down: a read or write blocked on it in any thread returns at once."""
        sock = self._inner.get_extra_info("socket")
        try:
            if sock is not None:
                sock.shutdown(socket.SHUT_RDWR)
        except OSError:  # already closed or never connected
            pass

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _capped(timeout, httpcore2.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _capped(timeout, httpcore2.WriteTimeout))

    def close(self) -> None:
        _live.pop(id(self), None)
        self._inner.close()

    def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore2.NetworkStream:
        return _Stream(self._inner.start_tls(ssl_context, server_hostname, _capped(timeout, httpcore2.ConnectTimeout)))

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _Backend(httpcore2.NetworkBackend):
    def __init__(self) -> None:
        self._inner = httpcore2.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore2.NetworkStream:
        wait = _capped(timeout, httpcore2.ConnectTimeout)
        return _Stream(self._inner.connect_tcp(host, port, wait, local_address, socket_options))

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore2.NetworkStream:
        wait = _capped(timeout, httpcore2.ConnectTimeout)
        return _Stream(self._inner.connect_unix_socket(path, wait, socket_options))

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


def http_client() -> httpx2.Client:
    """An HTTP client whose connections honour :func:`call_deadline` (TLS verified as httpx does by default)."""
    transport = httpx2.HTTPTransport()
    # httpx builds its connection pool without a way to pass a network backend: swap in one that has it
    transport._pool = httpcore2.ConnectionPool(
        ssl_context=httpx2.create_ssl_context(),
        max_connections=100,  # httpx's own defaults
        max_keepalive_connections=20,
        keepalive_expiry=5.0,
        network_backend=_Backend(),
    )
    return httpx2.Client(transport=transport, follow_redirects=True)
