"""Byte transports to a robot: serial (pyserial) and UDP, plus reconnect-with-backoff and a rate limiter.

A transport moves bytes only; framing lives in :mod:`fleetmind.firmware_bridge.codec`. ``recv`` waits at most
``timeout`` seconds and returns ``b""`` when nothing arrived; errors surface as :class:`LinkDown`.
"""

from __future__ import annotations

import contextlib
import logging
import select
import socket
from collections.abc import Callable
from typing import Protocol

import serial
from fleetmind.robots.clock import MONOTONIC, Clock

log = logging.getLogger(__name__)


class LinkDown(OSError):
    """The transport lost its device or socket (unplugged cable, closed port)."""


class Transport(Protocol):
    def send(self, data: bytes) -> None: ...

    def recv(self, timeout: float) -> bytes: ...

    def close(self) -> None: ...


class SerialTransport:
    """A serial port (or a pty) in raw mode."""

    def __init__(self, port: str, baudrate: int = 115200) -> None:
        self.port = port
        try:
            self._ser = serial.Serial(port, baudrate=baudrate, timeout=0, write_timeout=0.5)
        except serial.SerialException as err:
            raise LinkDown(f"cannot open {port}: {err}") from err

    def send(self, data: bytes) -> None:
        try:
            self._ser.write(data)
        except (serial.SerialException, OSError) as err:
            raise LinkDown(f"{self.port}: write failed: {err}") from err

    def recv(self, timeout: float) -> bytes:
        try:
            ready, _, _ = select.select([self._ser.fileno()], [], [], max(0.0, timeout))
            return self._ser.read(4096) if ready else b""
        except (serial.SerialException, OSError, ValueError) as err:
            raise LinkDown(f"{self.port}: read failed: {err}") from err

    def close(self) -> None:
        self._ser.close()


def route_source(host: str, port: int) -> str:
    """The local address the kernel would send from to reach ``host`` (no packet is sent: a UDP ``connect``
    only looks up the route)."""
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        probe.connect((host, port))
        return str(probe.getsockname()[0])
    finally:
        probe.close()


class UdpTransport:
    """UDP datagrams to one robot address; only datagrams from that address are read.

    The socket binds to ``bind`` when given (e.g. ``("0.0.0.0", 0)`` to listen on every interface); by
    default to the local address of the interface that routes to the robot (127.0.0.1 for a robot on this
    machine, e.g. 10.0.0.5 for one at 10.0.0.12), on an ephemeral port.
    """

    def __init__(self, host: str, port: int, bind: tuple[str, int] | None = None) -> None:
        try:
            resolved = socket.getaddrinfo(host, port, socket.AF_INET, socket.SOCK_DGRAM)[0][4]
            self.address: tuple[str, int] = (str(resolved[0]), int(resolved[1]))
            local = bind if bind is not None else (route_source(*self.address), 0)
            self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        except OSError as err:
            raise LinkDown(f"udp {host}:{port}: no route from this machine: {err}") from err
        try:
            self._sock.bind(local)
        except OSError as err:
            self._sock.close()
            raise LinkDown(f"udp {host}:{port}: cannot bind {local[0]}:{local[1]}: {err}") from err
        self._sock.setblocking(False)
        log.debug("udp %s:%d via %s:%d", *self.address, *self._sock.getsockname())

    @property
    def local_address(self) -> tuple[str, int]:
        return self._sock.getsockname()

    def send(self, data: bytes) -> None:
        try:
            self._sock.sendto(data, self.address)
        except OSError as err:
            raise LinkDown(f"udp {self.address}: {err}") from err

    def recv(self, timeout: float) -> bytes:
        out = b""
        try:
            ready, _, _ = select.select([self._sock], [], [], max(0.0, timeout))
            while ready:
                try:
                    data, sender = self._sock.recvfrom(2048)
                except BlockingIOError:
                    break
                if sender == self.address:
                    out += data
        except OSError as err:
            raise LinkDown(f"udp {self.address}: {err}") from err
        return out

    def close(self) -> None:
        self._sock.close()


class ReconnectingTransport:
    """Wraps a transport factory; after :class:`LinkDown` it reopens with exponential backoff.

    While down, ``send`` drops data and ``recv`` returns ``b""`` (the heartbeat monitor then marks the
    robot lost); every call retries once the backoff delay has passed. ``reconnects`` counts reopenings.
    Backoff deadlines and the wait of a ``recv`` while down run on ``clock``.
    """

    def __init__(
        self,
        factory: Callable[[], Transport],
        backoff_initial: float = 0.05,
        backoff_max: float = 2.0,
        clock: Clock = MONOTONIC,
    ) -> None:
        self._factory = factory
        self._clock = clock
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self._delay = backoff_initial
        self._next_try = 0.0
        self._inner: Transport | None = None
        self.reconnects = 0
        self.failures = 0
        self._connect()

    @property
    def connected(self) -> bool:
        return self._inner is not None

    def _connect(self) -> None:
        if self._clock.now() < self._next_try:
            return
        try:
            self._inner = self._factory()
            self._delay = self.backoff_initial
            log.info("link up")
        except LinkDown as err:
            self.failures += 1
            self._next_try = self._clock.now() + self._delay
            log.warning("link down: %s; retry in %.2fs", err, self._delay)
            self._delay = min(self._delay * 2, self.backoff_max)

    def _drop(self, err: LinkDown) -> None:
        log.warning("link lost: %s", err)
        if self._inner is not None:
            with contextlib.suppress(OSError):  # the device is already gone
                self._inner.close()
        self._inner = None
        self.reconnects += 1
        self._next_try = self._clock.now() + self._delay

    def send(self, data: bytes) -> None:
        if self._inner is None:
            self._connect()
        if self._inner is not None:
            try:
                self._inner.send(data)
            except LinkDown as err:
                self._drop(err)

    def recv(self, timeout: float) -> bytes:
        if self._inner is None:
            self._connect()
            if self._inner is None:
                self._clock.sleep(min(timeout, self._next_try - self._clock.now()))
                return b""
        try:
            return self._inner.recv(timeout)
        except LinkDown as err:
            self._drop(err)
            return b""

    def close(self) -> None:
        if self._inner is not None:
            self._inner.close()
            self._inner = None


class RateLimiter:
    """Token bucket: at most ``rate`` events per second with bursts of ``burst``."""

    def __init__(self, rate: float, burst: int = 1, clock: Clock = MONOTONIC) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError(f"rate must be > 0 and burst >= 1, got {rate}, {burst}")
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._tokens = float(burst)
        self._last = clock.now()

    def allow(self) -> bool:
        now = self._clock.now()
        self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
        self._last = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False
