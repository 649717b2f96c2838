"""POGEMA's five actions as typed commands: 0 wait, 1 up, 2 down, 3 left, 4 right."""

from __future__ import annotations

from fleetmind.robots.commands import Command, GridStep, Wait

STEPS: tuple[GridStep, ...] = tuple(GridStep(d) for d in ("up", "down", "left", "right"))  # type: ignore[arg-type]
ACTION_OF: dict[Command, int] = {Wait(): 0, **{s: k + 1 for k, s in enumerate(STEPS)}}


def command_of(action: int) -> Command:
    """POGEMA action 0..4 -> typed command."""
    return Wait() if action == 0 else STEPS[action - 1]
