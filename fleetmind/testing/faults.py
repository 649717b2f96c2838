"""Fault injection between host and robot: a UDP proxy that drops, corrupts and delays datagrams.

A test and benchmark tool. The proxy runs in its own thread (started by ``start``, stopped and joined by
``close``); rates can be changed while it runs, e.g. set to 0 to check that the link recovers.
"""

from __future__ import annotations

import heapq
import logging
import random
import select
import socket
import threading
import time
from dataclasses import dataclass

log = logging.getLogger(__name__)


@dataclass
class FaultRates:
    loss: float = 0.2  # probability a datagram is dropped
    corruption: float = 0.05  # probability one byte of a datagram is changed
    jitter: float = 0.05  # each datagram delayed uniformly in [0, jitter] seconds (so they also reorder)


class FaultyUdpProxy:
    """Host talks to ``address``; the proxy forwards to ``robot`` and back, applying ``rates`` both ways."""

    def __init__(self, robot: tuple[str, int], rates: FaultRates | None = None, seed: int = 0) -> None:
        self.robot = robot
        self.rates = rates or FaultRates()
        self._rng = random.Random(seed)
        self._front = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._front.bind(("127.0.0.1", 0))
        self._back = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._back.bind(("127.0.0.1", 0))
        self._host: tuple[str, int] | None = None
        self._queue: list[tuple[float, int, socket.socket, tuple[str, int], bytes]] = []
        self._n = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="faulty-udp-proxy", daemon=True)
        self.stats = {"forwarded": 0, "dropped": 0, "corrupted": 0}

    @property
    def address(self) -> tuple[str, int]:
        return self._front.getsockname()

    def start(self) -> FaultyUdpProxy:
        self._thread.start()
        return self

    def _inject(self, data: bytes, out: socket.socket, dest: tuple[str, int]) -> None:
        r = self.rates
        if self._rng.random() < r.loss:
            self.stats["dropped"] += 1
            return
        if data and self._rng.random() < r.corruption:
            buf = bytearray(data)
            buf[self._rng.randrange(len(buf))] ^= self._rng.randint(1, 255)
            data = bytes(buf)
            self.stats["corrupted"] += 1
        self._n += 1
        heapq.heappush(self._queue, (time.monotonic() + self._rng.uniform(0, r.jitter), self._n, out, dest, data))

    def _run(self) -> None:
        while not self._stop.is_set():
            now = time.monotonic()
            while self._queue and self._queue[0][0] <= now:
                _, _, out, dest, data = heapq.heappop(self._queue)
                try:
                    out.sendto(data, dest)
                    self.stats["forwarded"] += 1
                except OSError as err:  # pragma: no cover - the far end went away
                    log.debug("proxy send failed: %s", err)
            wait = min(0.005, self._queue[0][0] - now) if self._queue else 0.005
            ready, _, _ = select.select([self._front, self._back], [], [], max(0.0, wait))
            for sock in ready:
                try:
                    data, sender = sock.recvfrom(2048)
                except OSError:
                    continue
                if sock is self._front:
                    self._host = sender
                    self._inject(data, self._back, self.robot)
                elif self._host is not None:
                    self._inject(data, self._front, self._host)

    def close(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=2.0)
        self._front.close()
        self._back.close()
