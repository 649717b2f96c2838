"""Remote roles: the framework graphs of ``frameworks.py`` run across processes (the ROS agents).

The dialogue protocol exists once, as the graph. Each agent runs its framework's graph with a
:class:`DialogueSeat` as the roles: its own turns are its local model's (the same ``turn`` role the
in-process planner calls); every other robot's turn is the one that robot published, waited for (bounded)
in a :class:`Mailbox`. The HMAS-2 central node runs its graph with :class:`RemoteChecks` as the check role:
one proposal per round to every checking robot, each check branch (they fan out in parallel) waiting for
its robot's reply.

Pure: no rclpy. The nodes wire ``speak`` / ``publish`` and ``hear`` / ``deliver`` to topics; every deadline
reads an injectable clock, so tests drive timeouts with numbers, not wall-clock windows.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Collection, Hashable
from dataclasses import dataclass
from typing import Generic, TypeVar

from fleetmind.planners.llm.frameworks import Roles, build_graph, run_config
from fleetmind.robots.clock import MONOTONIC, Clock
from fleetmind.robots.commands import Command
from fleetmind.robots.fleet import Observation
from fleetmind.robots.ids import RobotId

log = logging.getLogger(__name__)
K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
DIALOGUE_FRAMEWORKS = ("dmas", "hmas1")


class Cancelled(Exception):
    """The reply no longer matters: a newer dialogue, a new step, a dropped robot, or shutdown."""


class ReplyTimeout(Exception):
    """No reply within the bound; ``str()`` is one line naming who and which setting."""


def _never() -> bool:
    return False


class Mailbox(Generic[K, V]):
    """Replies by key, from any thread; :meth:`wait` blocks until the key's reply arrives, ``cancelled()``
    turns true, or ``timeout_s`` passes on ``clock`` (a :class:`~fleetmind.robots.clock.Clock`). The first reply
    for a key wins.

    A waiter re-reads ``clock`` and ``cancelled`` whenever :meth:`put` or :meth:`poke` wakes it, and at
    least every ``poll_s`` seconds of real time.
    """

    def __init__(self, clock: Clock = MONOTONIC, poll_s: float = 0.25) -> None:
        self.clock = clock
        self.poll_s = poll_s
        self._items: dict[K, V] = {}
        self._cond = threading.Condition()

    def put(self, key: K, value: V) -> None:
        with self._cond:
            self._items.setdefault(key, value)
            self._cond.notify_all()

    def poke(self) -> None:
        """Wake every waiter: call after a change that a ``cancelled`` predicate or the clock reads."""
        with self._cond:
            self._cond.notify_all()

    def forget(self, keep: Callable[[K], bool]) -> None:
        with self._cond:
            self._items = {k: v for k, v in self._items.items() if keep(k)}

    def wait(self, key: K, timeout_s: float, cancelled: Callable[[], bool] = _never) -> V:
        deadline = self.clock.now() + timeout_s
        with self._cond:
            while key not in self._items:
                if cancelled():
                    raise Cancelled(str(key))
                left = deadline - self.clock.now()
                if left <= 0:
                    raise ReplyTimeout(f"no reply for {key} within {timeout_s:g}s")
                self._cond.wait(min(left, self.poll_s))
            return self._items[key]


@dataclass(frozen=True)
class Opening:
    """One step's DMAS / HMAS-1 dialogue as the planner opened it. ``proposal`` is ``{}`` for DMAS and the
    central plan for HMAS-1; ``attempt`` grows when the planner reopens the step without a lost robot."""

    episode: int
    step: int
    attempt: int
    speakers: tuple[RobotId, ...]
    proposal: dict[RobotId, Command]
    dialogue_rounds: int


@dataclass(frozen=True)
class Turn:
    """One robot's turn: the joint plan it proposes, EXECUTE or not, and its line of the transcript."""

    episode: int
    step: int
    attempt: int
    index: int
    robot: RobotId
    plan: dict[RobotId, Command]
    execute: bool
    line: str

    @property
    def key(self) -> tuple[int, int, int, int, RobotId]:
        return (self.episode, self.step, self.attempt, self.index, self.robot)


class DialogueSeat:
    """One agent's seat in DMAS / HMAS-1: the :class:`Roles` its framework's graph calls on the agent side.

    ``local`` plays this robot's own turns (an :class:`LLMPlanner`: the same ``turn`` role as in-process);
    each one is announced through ``speak``. Another robot's turn comes from :meth:`hear` (the node feeds
    it every turn seen on the topic) and is waited for at most ``timeout_s``. The speakers, the proposal
    (HMAS-1's central plan) and the number of rounds are the opening's.
    """

    feedback_rounds = 0

    def __init__(
        self,
        framework: str,
        robot: RobotId,
        local: Roles,
        speak: Callable[[Turn], None],
        timeout_s: float,
        clock: Clock = MONOTONIC,
    ) -> None:
        if framework not in DIALOGUE_FRAMEWORKS:
            raise ValueError(f"dialogue framework must be one of {', '.join(DIALOGUE_FRAMEWORKS)}, got {framework!r}")
        self.framework = framework
        self.robot = robot
        self.local = local
        self.speak = speak
        self.timeout_s = timeout_s
        self.turns: Mailbox[tuple[int, int, int, int, RobotId], Turn] = Mailbox(clock)
        self._opening: Opening | None = None
        self._cancelled: Callable[[], bool] = _never
        self._graph = build_graph(framework, self)

    @property
    def opening(self) -> Opening:
        assert self._opening is not None, "run() first"
        return self._opening

    @property
    def dialogue_rounds(self) -> int:
        return self.opening.dialogue_rounds

    def hear(self, turn: Turn) -> None:
        """A turn seen on the topic (own echoes and repeats are harmless: the first one for a slot wins)."""
        self.turns.put(turn.key, turn)

    def poke(self) -> None:
        """Re-read ``cancelled`` now (the node calls it when its step, attempt or life changes)."""
        self.turns.poke()

    def run(
        self, observation: Observation, opening: Opening, cancelled: Callable[[], bool] = _never
    ) -> tuple[dict[RobotId, Command], list[str]]:
        """Run the framework's graph for ``opening``: the plan that runs and the dialogue's lines. Raises
        :class:`Cancelled` once ``cancelled()`` is true and :class:`ReplyTimeout` when a turn is late."""
        self._opening, self._cancelled = opening, cancelled
        self.turns.forget(lambda k: k[:2] >= (opening.episode, opening.step))
        state = self._graph.invoke({"observation": observation}, run_config(len(observation.robots)))
        return dict(state.get("plan", {})), list(state.get("dialogue", []))

    # ------------------------------------------------------------------ roles (called by the graph)
    def speakers(self, observation: Observation, plan: dict[RobotId, Command] | None) -> list[RobotId]:
        return list(self.opening.speakers)

    def central(self, observation: Observation, objections: list[str]) -> dict[RobotId, Command]:
        return dict(self.opening.proposal)

    def turn(
        self,
        observation: Observation,
        robot: RobotId,
        speakers: list[RobotId],
        dialogue: list[str],
        proposal: dict[RobotId, Command],
    ) -> tuple[dict[RobotId, Command], bool, str]:
        o, index = self.opening, len(dialogue)
        if robot == self.robot:
            plan, execute, line = self.local.turn(observation, robot, speakers, dialogue, proposal)
            mine = Turn(o.episode, o.step, o.attempt, index, robot, dict(plan), execute, line)
            self.hear(mine)
            self.speak(mine)
            return plan, execute, line
        try:
            heard = self.turns.wait((o.episode, o.step, o.attempt, index, robot), self.timeout_s, self._cancelled)
        except ReplyTimeout:
            raise ReplyTimeout(
                f"{robot}'s turn {index} of step {o.step} did not come within turn_timeout_s={self.timeout_s:g}"
            ) from None
        return dict(heard.plan), heard.execute, heard.line

    def check(self, observation: Observation, robot: RobotId, plan: dict[RobotId, Command]) -> str | None:
        raise NotImplementedError("DMAS and HMAS-1 have no plan checks")


@dataclass(frozen=True)
class Proposal:
    """One HMAS-2 check round: the plan and the live robots asked to check it."""

    proposal: int
    step: int
    plan: dict[RobotId, Command]
    checkers: tuple[RobotId, ...]


class RemoteChecks:
    """HMAS-2's check role on the central node: each robot checks the plan in its own agent.

    :meth:`new_plan` starts a round (the central role calls it with each plan it makes). The round's first
    :meth:`check` publishes ONE :class:`Proposal` naming every live checker; each check (one graph branch
    per robot, all in parallel) waits for its robot's reply, at most ``timeout_s``. A robot that is not
    live, or does not answer in time, raises no objection (a late one is logged; a dead agent is dropped by
    the heartbeat monitor, which calls :meth:`poke`).
    """

    def __init__(
        self,
        publish: Callable[[Proposal], None],
        live: Callable[[], Collection[RobotId]],
        timeout_s: float,
        clock: Clock = MONOTONIC,
    ) -> None:
        self.publish = publish
        self.live = live
        self.timeout_s = timeout_s
        self.replies: Mailbox[tuple[int, RobotId], str | None] = Mailbox(clock)
        self.closing = False
        self._lock = threading.Lock()
        self._checkers: tuple[RobotId, ...] = ()
        self._current: Proposal | None = None
        self._count = 0

    def new_plan(self, checkers: Collection[RobotId]) -> None:
        """The central role made a plan: the next :meth:`check` opens a new round for ``checkers``."""
        with self._lock:
            self._checkers, self._current = tuple(checkers), None
            self.replies.forget(lambda k: k[0] > self._count)  # replies to earlier rounds are spent

    def check(self, observation: Observation, robot: RobotId, plan: dict[RobotId, Command]) -> str | None:
        """``robot``'s objection to ``plan`` (``None``: it agrees, is gone, or is silent)."""
        with self._lock:
            if self._current is None:
                self._count += 1
                live = set(self.live())
                checkers = tuple(r for r in self._checkers if r in live)
                self._current = Proposal(self._count, observation.step, dict(plan), checkers)
                self.publish(self._current)
            pid = self._current.proposal
        try:
            return self.replies.wait((pid, robot), self.timeout_s, lambda: self.closing or robot not in self.live())
        except Cancelled:
            return None
        except ReplyTimeout:
            log.warning(
                "%s did not check the plan within reply_timeout_s=%g; taken as agreement", robot, self.timeout_s
            )
            return None

    def deliver(self, proposal: int, robot: RobotId, objection: str | None) -> None:
        """A robot's reply from the topic."""
        self.replies.put((proposal, robot), objection or None)

    def poke(self) -> None:
        self.replies.poke()

    def close(self) -> None:
        self.closing = True
        self.replies.poke()
