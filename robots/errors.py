"""Typed errors of the Fleet protocol: each names the robot and the command involved."""

from __future__ import annotations

from collections.abc import Sequence


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
