"""Frame authentication: truncated HMAC-SHA256 tags, per-robot keys and a sliding replay window."""

from __future__ import annotations

import hashlib
import hmac
import stat
from pathlib import Path

from fleetmind.robots.errors import BadInputError

TAG_LEN = 8
WINDOW = 64
KEY_MIN, KEY_MAX = 16, 64


def tag(key: bytes, data: bytes) -> bytes:
    """HMAC-SHA256 of ``data`` (header + payload), truncated to :data:`TAG_LEN` bytes."""
    return hmac.new(key, data, hashlib.sha256).digest()[:TAG_LEN]


def verify(key: bytes, data: bytes, received: bytes) -> bool:
    return hmac.compare_digest(tag(key, data), received)


def load_key(path: str | Path) -> bytes:
    """A key file holds hex text (e.g. 64 hex digits for 32 bytes); whitespace is ignored.

    Refused with :class:`BadInputError` (one line naming the file and the fix): a missing or unreadable file,
    one that anyone may write (world-writable), text that is not hex, a key outside 16..64 bytes (never
    truncated) and an all-zero key (the MCU reads an all-zero key as "authentication off").
    """
    path = Path(path)
    try:
        mode = path.stat().st_mode
        text = path.read_text(encoding="ascii")
    except FileNotFoundError:
        raise BadInputError(f"key_file {path}: no such file; give the path of the robot's hex key file") from None
    except (OSError, UnicodeDecodeError) as err:
        raise BadInputError(f"key_file {path}: cannot read it ({err}); it must be a readable hex text file") from None
    if mode & stat.S_IWOTH:
        raise BadInputError(
            f"key_file {path}: world-writable (mode {stat.S_IMODE(mode):o}), so anyone could swap "
            f"the key; chmod 600 {path}"
        )
    try:
        key = bytes.fromhex("".join(text.split()))
    except ValueError as err:
        raise BadInputError(f"key_file {path}: not hex ({err}); write the key as hex digits") from None
    if not KEY_MIN <= len(key) <= KEY_MAX:
        raise BadInputError(f"key_file {path}: key must be {KEY_MIN}..{KEY_MAX} bytes, got {len(key)}")
    if not any(key):
        raise BadInputError(f"key_file {path}: an all-zero key means 'authentication off' on the MCU; use a random key")
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
