"""Typed errors: the Fleet protocol's (each names the robot and the command involved), the two families the
command line turns into one line (bad input: exit 2; expected failures: exit 1), and the one formatter of pydantic
validation errors."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any


class FleetError(Exception):
    """Base class of every error a world backend raises on purpose."""


class UnknownRobotError(FleetError, KeyError):
    def __init__(self, robot: str, known: Sequence[str]) -> None:
        self.robot = robot
        self.known = tuple(known)
        super().__init__(f"unknown robot {robot!r}; this fleet has: {', '.join(self.known)}")

    def __str__(self) -> str:  # KeyError would repr() the message
        return self.args[0]


class IllegalCommandError(FleetError, ValueError):
    """A command that the robot cannot execute in the current state."""

    def __init__(self, robot: str, command: object, reason: str, legal: Sequence[str] = ()) -> None:
        self.robot = robot
        self.command = command
        self.reason = reason
        self.legal = tuple(legal)
        text = getattr(command, "text", repr(command))
        choices = "; ".join(self.legal) if self.legal else "none (wait)"
        super().__init__(f"{robot}: illegal command {text!r}: {reason}. Legal now: {choices}")


class ActionParseError(FleetError, ValueError):
    """Action text that does not parse into one of the robot's legal commands."""

    def __init__(self, robot: str, text: str, legal: Sequence[str], reason: str = "not a legal action") -> None:
        self.robot = robot
        self.text = text
        self.legal = tuple(legal)
        self.reason = reason
        choices = "; ".join(self.legal) if self.legal else "none (wait)"
        super().__init__(f"{robot}: {text!r} is {reason}. Legal now: {choices}")


class FleetClosedError(FleetError, RuntimeError):
    def __init__(self) -> None:
        super().__init__("this fleet is closed; create a new one")


class NotResetError(FleetError, RuntimeError):
    def __init__(self) -> None:
        super().__init__("call reset(seed) before step()")


class BadInputError(ValueError):
    """What the user gave is wrong: a scenario file, a task or planner name, an option's value. ``str()`` is one
    line naming the field and the fix; the command line prints it and exits 2."""


class ExpectedFailure(Exception):
    """A failure at run time that is neither a bug nor bad input (a local model that is not installed, a model
    server that does not start or cannot be reached). ``str()`` is one line saying what to do; the command line
    prints it and exits 1, without a traceback."""


def describe_validation(
    errors: Sequence[Mapping[str, Any]],
    *,
    noun: str = "key",
    name: Callable[[tuple[Any, ...]], str] | None = None,
    allowed_keys: Callable[[tuple[Any, ...]], Sequence[str]] | None = None,
    tag_values: Sequence[str] = (),
    hidden: Collection[Any] = (),
) -> str:
    """THE one-line message of a failed pydantic validation (``ValidationError.errors()``, plain dicts, so this
    module needs no pydantic): the first error, naming the field and what is allowed, then how many more there are.

    ``noun``: what a field is called to the user (``key``, ``parameter``). ``name``: a field's location -> how the
    user writes it (default ``a.b.c``; the command line gives ``--base-url``). ``allowed_keys``: the keys allowed
    next to an unknown one (by its full location). ``tag_values``: a discriminated union's tags, named when the tag
    is missing. ``hidden``: location parts the user never wrote (pydantic puts the union's tag there).
    """
    err, more = errors[0], len(errors) - 1
    loc = tuple(p for p in err["loc"] if p not in hidden)
    where = name(loc) if name is not None else ".".join(str(p) for p in loc) or "(top level)"
    kind, ctx, got = err["type"], err.get("ctx") or {}, err.get("input")
    tag = str(ctx.get("discriminator", "")).strip("'")
    if kind == "extra_forbidden":
        allowed = list(allowed_keys(tuple(err["loc"]))) if allowed_keys is not None else []
        text = f"unknown {noun} {where!r}" + (f"; allowed {noun}s here: {', '.join(allowed)}" if allowed else "")
    elif kind == "union_tag_invalid":
        text = f"{where}.{tag}: {ctx.get('tag')!r} is not allowed; allowed values: {ctx.get('expected_tags')}"
    elif kind == "union_tag_not_found":
        text = f"{where}: missing {noun} {tag!r}" + (
            f"; allowed values: {', '.join(repr(t) for t in tag_values)}" if tag_values else ""
        )
    elif kind in ("literal_error", "enum") and "expected" in ctx:
        text = f"{where}: {got!r} is not allowed; allowed values: {ctx['expected']}"
    elif kind == "missing":
        text = f"{where}: required {noun} is missing"
    else:
        text = f"{where}: {err['msg']} (got {got!r})"
    return text + (f" (and {more} more error(s))" if more > 0 else "")
