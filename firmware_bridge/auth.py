"""Frame authentication: truncated HMAC-SHA256 tags, per-robot keys and a sliding replay window."""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path

TAG_LEN = 8
WINDOW = 64


def tag(key: bytes, data: bytes) -> bytes:
    """HMAC-SHA256 of ``data`` (header + payload), truncated to :data:`TAG_LEN` bytes."""
    return hmac.new(key, data, hashlib.sha256).digest()[:TAG_LEN]


def verify(key: bytes, data: bytes, received: bytes) -> bool:
    return hmac.compare_digest(tag(key, data), received)


def load_key(path: str | Path) -> bytes:
    """A key file holds hex text (e.g. 64 hex digits for 32 bytes); whitespace is ignored."""
    text = Path(path).read_text(encoding="ascii").strip()
    try:
        key = bytes.fromhex(text)
    except ValueError as err:
        raise ValueError(f"key file {path}: not hex ({err})") from err
    if not 16 <= len(key) <= 64:
        raise ValueError(f"key file {path}: key must be 16..64 bytes, got {len(key)}")
    return key


class ReplayWindow:
    """Accept each sequence number at most once, and none older than ``WINDOW`` below the highest seen.

    Same rule as the firmware's ``window_ok``/``window_mark``. Call :meth:`check` first and :meth:`mark`
    only once the frame has verified (so forged frames cannot move the window).
    """

    def __init__(self) -> None:
        self.highest: int | None = None
        self._bits = 0

    def check(self, seq: int) -> bool:
        if self.highest is None or seq > self.highest:
            return True
        d = self.highest - seq
        return d < WINDOW and not (self._bits >> d) & 1

    def mark(self, seq: int) -> None:
        if self.highest is None:
            self.highest, self._bits = seq, 1
        elif seq > self.highest:
            d = seq - self.highest
            self._bits = 1 if d >= WINDOW else ((self._bits << d) | 1) & ((1 << WINDOW) - 1)
            self.highest = seq
        else:
            self._bits |= 1 << (self.highest - seq)
