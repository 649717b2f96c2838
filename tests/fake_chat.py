"""Scripted chat models for the LLM planner tests (test doubles, not language models)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from fleetmind.planners.llm.client import ChatReply, Message


class ScriptedChat:
    """Replies from a list (or a function of the messages); records every call with fixed usage."""

    def __init__(self, replies: list[str | Exception] | Callable[[list[Message], dict[str, Any] | None], str]) -> None:
        self.replies = replies
        self.calls: list[tuple[list[Message], dict[str, Any] | None]] = []
        self.time_left: list[float | None] = []  # what each call was told it may still wait
        self.sampling: list[dict[str, Any]] = []  # each call's temperature / seed overrides ({}: the settings')

    def complete(
        self,
        messages: list[Message],
        schema: dict[str, Any] | None = None,
        user: str | None = None,
        time_left_s: float | None = None,
        temperature: float | None = None,
        seed: int | None = None,
    ) -> ChatReply:
        self.calls.append((messages, schema))
        self.time_left.append(time_left_s)
        self.sampling.append({k: v for k, v in (("temperature", temperature), ("seed", seed)) if v is not None})
        if callable(self.replies):
            text = self.replies(messages, schema)
        else:
            if not self.replies:
                raise AssertionError("the scripted model ran out of replies")
            item = self.replies.pop(0)
            if isinstance(item, Exception):
                raise item
            text = item
        return ChatReply(
            text=text, prompt_tokens=100 + len(self.calls), completion_tokens=10, latency_s=0.001, retries=0
        )

    def roles(self) -> list[str]:
        """The system prompt's first words of each call: who was asked."""
        out = []
        for messages, _ in self.calls:
            system = messages[0]["content"]
            out.append(
                "central"
                if system.startswith("You are the central planner")
                else system.split(" in a robot team")[0].removeprefix("You are ")
            )
        return out


def first_listed(messages: list[Message], schema: dict[str, Any] | None) -> str:
    """What a small model with hints on does almost always: every robot takes the first action of its list (the
    central planner's role); a plan check agrees."""
    if '"agree"' in messages[0]["content"]:
        return '{"agree": true, "objection": null}'
    user = next(m["content"] for m in messages if m["role"] == "user")
    block = user.split("Actions (best first, effect in brackets):\n", 1)[1]
    plan = {}
    for line in block.splitlines():
        robot, sep, items = line.partition(": ")
        if not sep or not robot.startswith("robot_"):
            break
        first = items.split("; ")[0].split(" [")[0]
        if first != "wait":
            plan[robot] = first
    return json.dumps(plan)
