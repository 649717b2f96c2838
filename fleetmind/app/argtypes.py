"""argparse types of the command line: each refuses a bad value with one line argparse prints beside the option's
name (``argument --seed: must be >= 0, got -1``)."""

from __future__ import annotations

import argparse
import math
from collections.abc import Sequence

from fleetmind.robots.errors import BadInputError


def nonneg(text: str) -> int:
    """An integer >= 0 (``--seed``)."""
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {value}")
    return value


def positive(text: str) -> int:
    """An integer >= 1 (``--episodes``, ``--iterations``, ``--agents``)."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def threads_1_256(text: str) -> int:
    """1 to 256 threads (``--threads``)."""
    value = positive(text)
    if value > 256:  # as run.llm.threads; 100000 crashed llama-server (std::bad_alloc) after the model loaded
        raise argparse.ArgumentTypeError(f"must be <= 256, got {value}")
    return value


def _finite(text: str, what: str, zero_ok: bool) -> float:
    """A finite number above 0 (or at least 0 when ``zero_ok``); the error names ``what`` it must be."""
    value = float(text)
    if not math.isfinite(value) or value < 0 or (value == 0 and not zero_ok):
        raise argparse.ArgumentTypeError(f"must be {what} {'>=' if zero_ok else '>'} 0, got {text}")
    return value


def positive_seconds(text: str) -> float:
    """An argparse type: a finite number of seconds > 0 (``--timeout``, ``--heartbeat-timeout``)."""
    return _finite(text, "a number of seconds", zero_ok=False)


def nonneg_seconds(text: str) -> float:
    """A finite number of seconds >= 0 (``--delay``)."""
    return _finite(text, "a number of seconds", zero_ok=True)


def positive_number(text: str) -> float:
    """A finite number > 0 (``--density``, ``--transfer-horizon-power``)."""
    return _finite(text, "a finite number", zero_ok=False)


def comma_list(text: str, option: str, allowed: Sequence[str] | None = None, noun: str = "item") -> list[str]:
    """The items of ``option``'s comma list, each one of ``allowed`` (None: any); :class:`BadInputError` in one
    line naming the option if the list is empty (``--tasks ,`` ran every task, ``--planners ,`` none) or an item is
    unknown."""
    items = [x.strip() for x in text.split(",") if x.strip()]
    choices = f"; give one or more of {', '.join(allowed)}" if allowed is not None else ""
    if not items:
        raise BadInputError(f"{option}: an empty list{choices}")
    for x in items:
        if allowed is not None and x not in allowed:
            raise BadInputError(f"{option}: unknown {noun} {x!r}; choose from {', '.join(allowed)}")
    return items


def parse_list(
    parser: argparse.ArgumentParser, text: str, option: str, allowed: Sequence[str] | None = None, noun: str = "item"
) -> list[str]:
    """:func:`comma_list` for a script's own parser: a bad list is ``parser.error`` (one line, exit 2)."""
    try:
        return comma_list(text, option, allowed, noun)
    except BadInputError as exc:
        parser.error(str(exc))
