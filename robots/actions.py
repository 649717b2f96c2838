"""Action text: THE parser of action text into typed commands, used by every reader of it (the grid worlds,
the LLM planners' replies, the ROS command and plan messages)."""

from __future__ import annotations

import re
from collections.abc import Iterable

from fleetmind.robots.commands import Command, Wait

_NUM = re.compile(r"(?<![\w.])(\d+)\.0+(?!\d)")
WAIT_WORDS = frozenset({"wait", "none", "idle", "noop", "stay", ""})


def normalise_action(text: str) -> str:
    """Canonical form used to compare action text: lower case, no blanks or quotes, ``1.0`` == ``1``,
    ``position(1, 0)`` == ``position[1, 0]``."""
    s = text.strip().strip("`'\".,;").lower()
    s = re.sub(r"\s+", "", s)
    s = s.replace("'", "").replace('"', "")
    s = re.sub(r"(square|position)\(([^()]*)\)", r"\1[\2]", s)
    return _NUM.sub(r"\1", s)


def match_action(text: str, legal: Iterable[Command]) -> Command | None:
    """The legal command whose text matches ``text`` (tolerant), or ``None``."""
    key = normalise_action(text)
    for command in legal:
        if normalise_action(command.text) == key:
            return command
    return None


def parse_action(text: str, legal: Iterable[Command]) -> Command | None:
    """Action text to a typed command: :class:`Wait` for a wait word (``wait``, ``none``, ``idle``, ``""``, ...),
    else the legal command it matches (:func:`match_action`), else ``None`` (callers say why it failed)."""
    if normalise_action(text) in WAIT_WORDS:
        return Wait()
    return match_action(text, legal)
