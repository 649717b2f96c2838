"""A total deadline for one HTTP call: connect, send and the whole response, however the server paces its bytes.

httpx's timeouts are per socket operation: a server that trickles one byte every few seconds never trips a 120 s
read timeout and holds a call forever. Here every connect, read and write of the calling thread waits at most until
the deadline set by :func:`call_deadline`, and raises httpcore's own timeout once it has passed (the HTTP stack maps
it to ``httpx2.ReadTimeout``, the ``openai`` package to ``APITimeoutError``). The deadline is per thread: parallel
calls (HMAS-2's plan checks) each keep their own. The clock is the real monotonic one: sockets wait in real time.
"""

from __future__ import annotations

import ssl
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import httpcore2
import httpx2

_local = threading.local()


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

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _capped(timeout, httpcore2.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _capped(timeout, httpcore2.WriteTimeout))

    def close(self) -> None:
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
