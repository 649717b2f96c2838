"""One checked model call for the HAS roles: a strict schema, the reply checked by the caller's function, precise
feedback and at most ``retries`` re-prompts; ``None`` when the model fails or every reply is refused (the caller then
plans with its heuristic). Never raises on a bad reply."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass
class CallStats:
    """Every call of one role in an episode, for ``metrics()`` and the trace."""

    calls: list[dict[str, Any]] = field(default_factory=list)
    refused: int = 0
    fallbacks: int = 0
    seconds: float = 0.0

    def metrics(self, prefix: str) -> dict[str, Any]:
        return {
            "llm_calls": len(self.calls),
            "prompt_tokens": sum(c["prompt_tokens"] for c in self.calls),
            "completion_tokens": sum(c["completion_tokens"] for c in self.calls),
            "llm_seconds": round(self.seconds, 3),
            f"{prefix}_refused": self.refused,
            f"{prefix}_fallbacks": self.fallbacks,
        }


def ask(
    client: Any,
    messages: list[dict[str, str]],
    schema: dict[str, Any],
    check: Callable[[str], tuple[T | None, list[str]]],
    stats: CallStats,
    user: str,
    step: int,
    retries: int = 2,
) -> T | None:
    from fleetmind.planners.llm.client import LLMError

    for attempt in range(retries + 1):
        start = time.monotonic()
        try:
            reply = client.complete(messages, schema=schema, user=user)
        except LLMError as exc:
            stats.seconds += time.monotonic() - start
            log.warning("%s: the model failed (%s); the heuristic plans this time", schema.get("title"), exc)
            stats.fallbacks += 1
            return None
        stats.seconds += time.monotonic() - start
        value, errors = check(reply.text)
        stats.calls.append(
            {
                "step": step,
                "attempt": attempt,
                "messages": list(messages),
                "reply": reply.text,
                "prompt_tokens": reply.prompt_tokens,
                "completion_tokens": reply.completion_tokens,
                "latency_s": reply.latency_s,
                "refused": errors,
            }
        )
        if not errors:
            return value
        stats.refused += 1
        feedback = "Your reply was refused:\n- " + "\n- ".join(errors) + "\nReply again, corrected."
        messages = [*messages, {"role": "assistant", "content": reply.text}, {"role": "user", "content": feedback}]
    log.warning("%s: %d refused replies at step %d; the heuristic plans", schema.get("title"), retries + 1, step)
    stats.fallbacks += 1
    return None
