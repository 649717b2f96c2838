"""One episode's conversation with the model: traced calls, re-prompts, history and its token budget.

Thread-safe: HMAS-2's plan checks call the model from several threads at once."""

from __future__ import annotations

import json
import logging
import math
import re
import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from fleetmind.planners.llm.client import (
    ChatClient,
    ChatReply,
    ContextTooLong,
    LLMError,
    LLMTimeout,
    LLMUnavailable,
    Message,
    estimate_tokens,
)
from fleetmind.planners.llm.config import LLMSettings
from fleetmind.planners.llm.replies import ReplyError
from fleetmind.robots.clock import MONOTONIC, Clock
from fleetmind.robots.planner import PlanningFailed

log = logging.getLogger(__name__)
T = TypeVar("T")
Schema = dict[str, Any] | None | Callable[[], dict[str, Any] | None]
"""A reply schema, or a function giving the one for the next attempt (a re-prompt's schema may differ)."""

RETRY_TEMPERATURES = (0.4, 0.7, 1.0)
"""Sampling temperature of the 1st, 2nd, 3rd and later re-prompt of one question (never below the setting's): a
model at temperature 0 would send the same reply to the same prompt again. Each re-prompt also sends a ``seed``
drawn from the episode seed, step, role and attempt, so a run is repeatable on servers that honour it."""


@dataclass(frozen=True)
class CallRecord:
    """One traced LLM call: what was sent, what came back, what it cost."""

    step: int
    role: str
    robot: str | None
    messages: list[Message]
    reply: str
    prompt_tokens: int
    completion_tokens: int
    latency_s: float
    retries: int
    estimated: bool
    layout_tokens: int  # our prompt without the oracle's machine-readable state block, ~4 characters a token
    reply_chars: int = 0  # length of the reply as sent; more than len(reply) when it was cut to max_reply_chars
    temperature: float | None = None  # a re-prompt's sampling temperature; None: the settings' (first attempt)


@dataclass
class History:
    """Earlier steps kept for the prompt, newest first within a token budget."""

    mode: str
    budget: int
    entries: list[str] = field(default_factory=list)
    summary: str = ""
    chars_per_token: float = 4.0  # measured from the server's token counts once it reports them (Session)

    def add(self, entry: str) -> None:
        if self.mode != "none":
            self.entries.append(entry)

    def render(self) -> str:
        if self.mode == "none":
            return ""
        if self.mode == "compressed":
            return self.summary
        kept: list[str] = []
        used = 0
        for entry in reversed(self.entries):
            cost = math.ceil(len(entry) / self.chars_per_token)
            if used + cost > self.budget:
                break
            kept.append(entry)
            used += cost
        return "\n".join(reversed(kept))

    def shrink(self) -> bool:
        """Halve the budget after a context-length error; False when nothing is left to drop."""
        if self.budget <= 0 or self.mode == "none":
            return False
        self.budget //= 2
        if self.mode == "compressed":
            self.summary = self.summary[: max(0, len(self.summary) // 2)]
        return True


class Session:
    """Calls the model for one episode and keeps the figures every result row reports."""

    def __init__(
        self, client: ChatClient, settings: LLMSettings, user: str, clock: Clock = MONOTONIC, seed: int = 0
    ) -> None:
        self.client = client
        self.seed = seed
        self.clock = clock
        self.settings = settings
        self.user = user
        self.history = History(settings.history, settings.history_tokens)
        self.calls: list[CallRecord] = []
        self.reprompts = 0
        self.shield_rejections = 0
        self.loop_flags = 0
        self.repeated_rejections = 0
        self._prompt_chars = 0  # of the calls whose server counted their tokens: the history budget's measure
        self._prompt_tokens = 0
        self.step = 0
        self._step_deadline: float | None = None  # on ``clock``; set by start_step (else by the first call)
        self.busy_s = 0.0  # wall time with at least one call in flight (parallel calls count once)
        self._in_flight = 0
        self._busy_since = 0.0
        self._lock = threading.Lock()

    def start_step(self, step: int) -> None:
        """A planning step begins: its LLM calls share a budget of ``settings.step_timeout_s`` from now."""
        self.step = step
        self._step_deadline = self.clock.now() + self.settings.step_timeout_s

    def time_left(self) -> float:
        """Seconds left of this step's budget; ``PlanningFailed("llm_timeout")`` once it is spent."""
        if self._step_deadline is None:
            self._step_deadline = self.clock.now() + self.settings.step_timeout_s
        left = self._step_deadline - self.clock.now()
        if left <= 0:
            raise PlanningFailed(
                "llm_timeout", f"step {self.step + 1} spent its step_timeout_s={self.settings.step_timeout_s:g}s"
            )
        return left

    def call(
        self,
        role: str,
        robot: str | None,
        build: Callable[[], list[Message]],
        extra: list[Message],
        schema: dict[str, Any] | None,
    ) -> str:
        """One completion within the step's budget; a context-length error shrinks the history and asks again."""
        return self._call(role, robot, build, extra, schema)[0]

    def sampling(self, role: str, robot: str | None, attempt: int) -> dict[str, Any]:
        """The sampling overrides of a question's ``attempt`` (0: none, the settings'; then a seeded schedule)."""
        if attempt <= 0:
            return {}
        temperature = max(self.settings.temperature, RETRY_TEMPERATURES[min(attempt, len(RETRY_TEMPERATURES)) - 1])
        seed = zlib.crc32(f"{self.seed}:{self.step}:{role}:{robot or ''}:{attempt}".encode())
        return {"temperature": temperature, "seed": seed}

    def _call(
        self,
        role: str,
        robot: str | None,
        build: Callable[[], list[Message]],
        extra: list[Message],
        schema: dict[str, Any] | None,
        attempt: int = 0,
    ) -> tuple[str, int]:
        """(the reply, cut to ``max_reply_chars``; its length as sent)."""
        sampling = self.sampling(role, robot, attempt)
        while True:
            messages = build() + extra
            budget = self.history.budget
            try:
                structured = schema if self.settings.structured_on else None
                reply = self._complete(messages, structured, self.time_left(), sampling)
            except ContextTooLong as exc:
                with self._lock:  # parallel callers that hit the limit with the same budget halve it once
                    shrunk = self.history.budget < budget or self.history.shrink()
                if not shrunk:
                    raise PlanningFailed("context_length", str(exc)) from None
                log.info("context too long; history budget cut to %d tokens", self.history.budget)
                continue
            except LLMUnavailable as exc:
                raise PlanningFailed("llm_unavailable", str(exc)) from None
            except LLMTimeout as exc:
                raise PlanningFailed("llm_timeout", str(exc)) from None
            except LLMError as exc:
                raise PlanningFailed("llm_error", str(exc)) from None
            text, sent = reply.text[: self.settings.max_reply_chars], len(reply.text)
            if sent > len(text):
                who = f"{role} {robot}" if robot else role
                log.warning(
                    "step %d %s: reply of %d characters cut to max_reply_chars=%d", self.step + 1, who, sent, len(text)
                )
            record = CallRecord(
                self.step,
                role,
                robot,
                messages,
                text,
                reply.prompt_tokens,
                reply.completion_tokens,
                reply.latency_s,
                reply.retries,
                reply.estimated,
                layout_tokens(messages),
                sent,
                sampling.get("temperature"),
            )
            with self._lock:
                self.calls.append(record)
                if not reply.estimated and reply.prompt_tokens > 0:
                    self._prompt_chars += sum(len(m["content"]) for m in messages)
                    self._prompt_tokens += reply.prompt_tokens
                    self.history.chars_per_token = max(1.0, self._prompt_chars / self._prompt_tokens)
            return text, sent

    def _complete(
        self, messages: list[Message], schema: dict[str, Any] | None, time_left_s: float, sampling: dict[str, Any]
    ) -> ChatReply:
        with self._lock:
            self._in_flight += 1
            if self._in_flight == 1:
                self._busy_since = time.perf_counter()
        try:
            return self.client.complete(messages, schema, self.user, time_left_s=time_left_s, **sampling)
        finally:
            with self._lock:
                self._in_flight -= 1
                if self._in_flight == 0:
                    self.busy_s += time.perf_counter() - self._busy_since

    def ask(
        self,
        role: str,
        robot: str | None,
        build: Callable[[], list[Message]],
        schema: Schema,
        extract: Callable[[str], T],
    ) -> T:
        """Call until ``extract`` accepts the reply, feeding each error back; at most ``max_reprompts``. ``schema``
        may be a function, asked again before each attempt (a re-prompt's schema leaves out rejected actions);
        re-prompts sample at :data:`RETRY_TEMPERATURES`."""
        extra: list[Message] = []
        rejected: set[str] = set()
        while True:
            attempt = self.reprompts_this_ask(extra)
            now = schema() if callable(schema) else schema
            text, sent = self._call(role, robot, build, extra, now, attempt)
            try:
                return extract(text)
            except ReplyError as err:
                last = self.reprompts_this_ask(extra) >= self.settings.max_reprompts
                same = _canonical(text)
                with self._lock:
                    self.repeated_rejections += int(same in rejected)  # a re-prompt loop: the same refused reply
                    self.shield_rejections += int(err.kind == "shield")
                    self.loop_flags += int(err.kind in ("loop", "stall"))
                    self.reprompts += int(not last)
                rejected.add(same)
                if last:
                    reason = "shield" if err.kind == "shield" else "syntax"
                    raise PlanningFailed(reason, f"{role} {robot or ''}: {err}".strip()) from None
                feedback = err.feedback()
                if sent > len(text):
                    cut = f"Your reply was {sent} characters long; only the first {len(text)} were read."
                    feedback = f"{cut}\n{feedback}"
                extra = [*extra, {"role": "assistant", "content": text}, {"role": "user", "content": feedback}]

    @staticmethod
    def reprompts_this_ask(extra: list[Message]) -> int:
        return len(extra) // 2

    def metrics(self) -> dict[str, Any]:
        return {
            "llm_calls": len(self.calls),
            "prompt_tokens": sum(c.prompt_tokens for c in self.calls),
            "completion_tokens": sum(c.completion_tokens for c in self.calls),
            "reprompts": self.reprompts,
            "shield_rejections": self.shield_rejections,
            "loop_flags": self.loop_flags,
            "repeated_rejections": self.repeated_rejections,
            "llm_seconds": round(sum(c.latency_s for c in self.calls), 4),
            "tokens_estimated": any(c.estimated for c in self.calls),
            "prompt_layout_tokens": sum(c.layout_tokens for c in self.calls),
        }


def _canonical(text: str) -> str:
    """A reply as compared for re-prompt loops: its JSON re-serialised with sorted keys where it parses."""
    try:
        return json.dumps(json.loads(text), sort_keys=True)
    except ValueError:
        return text.strip()


_STATE_BLOCK = re.compile(r"\n?```state\n.*?\n```", re.S)


def layout_tokens(messages: list[Message]) -> int:
    """Estimated tokens of the prompt a real model would see (the oracle-only state block removed)."""
    return estimate_tokens("".join(_STATE_BLOCK.sub("", m["content"]) for m in messages))
