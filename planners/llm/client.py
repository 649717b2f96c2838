"""Chat client over the ``openai`` package: retries with backoff, timeouts, token accounting.

Every call returns a :class:`ChatReply` with the server's token usage (or, where a server reports
none, an estimate of one token per four characters, flagged ``estimated``). Failures become one of
the :class:`LLMError` subclasses with a one-line message; nothing from deep inside the HTTP stack
reaches the user.
"""

from __future__ import annotations

import json
import logging
import math
import time
from dataclasses import dataclass
from typing import Any, Protocol

import openai
from fleetmind.planners.llm._deadline import call_deadline
from fleetmind.planners.llm._deadline import http_client as deadline_http_client
from fleetmind.robots.errors import ExpectedFailure

log = logging.getLogger(__name__)

Message = dict[str, str]


class LLMError(ExpectedFailure):
    """An LLM call that failed for good (after retries); ``str()`` is one line."""


class LLMUnavailable(LLMError):
    """The server cannot be reached (connection refused, DNS, ...)."""


class LLMTimeout(LLMError):
    """No reply in time: every attempt passed its deadline, or the caller's time (the step budget) ran out."""


class ContextTooLong(LLMError):
    """The prompt does not fit the model's context: shrink the history and ask again."""


@dataclass(frozen=True)
class ChatReply:
    text: str
    prompt_tokens: int
    completion_tokens: int
    latency_s: float
    retries: int
    estimated: bool = False
    finish_reason: str | None = None


class ChatClient(Protocol):
    """What the planners need from a model: one chat completion, optionally schema-constrained."""

    def complete(
        self,
        messages: list[Message],
        schema: dict[str, Any] | None = None,
        user: str | None = None,
        time_left_s: float | None = None,
        temperature: float | None = None,
        seed: int | None = None,
    ) -> ChatReply:
        """``time_left_s``: what the caller can still wait, retries included (``None``: no limit but the
        client's own); past it the call raises :class:`LLMTimeout`. ``temperature`` / ``seed``: this call's
        sampling (a re-prompt's), instead of the client's own temperature and no seed."""
        ...


def estimate_tokens(text: str) -> int:
    """Fallback token count where the server reports no usage: ~4 characters per token."""
    return max(1, math.ceil(len(text) / 4))


def _is_context_error(exc: openai.APIStatusError) -> bool:
    text = str(exc).lower()
    return any(k in text for k in ("context length", "context_length", "context size", "maximum context", "too long"))


class OpenAIChat:
    """:class:`ChatClient` for any OpenAI-compatible server (OpenAI, vLLM, Ollama, llama.cpp server)."""

    def __init__(
        self,
        base_url: str | None,
        api_key: str | None,
        model: str,
        *,
        temperature: float = 0.0,
        max_tokens: int = 512,
        timeout_s: float = 120.0,
        max_retries: int = 4,
        backoff_s: float = 0.5,
        http_client: Any = None,
    ) -> None:
        """``timeout_s``: the deadline of one attempt (connect plus the whole reply, however slowly it comes);
        ``http_client``: an ``httpx2.Client`` to use instead of one that keeps that deadline."""
        self.base_url = base_url or "https://api.openai.com/v1"
        self.model = model
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.max_retries = max_retries
        self.backoff_s = backoff_s
        self.timeout_s = timeout_s
        self.structured_supported: bool | None = None  # False once the server refused a JSON schema
        self._client = openai.OpenAI(
            base_url=self.base_url,
            api_key=api_key or "not-needed",
            timeout=timeout_s,
            max_retries=0,
            http_client=http_client if http_client is not None else deadline_http_client(),
        )

    def complete(
        self,
        messages: list[Message],
        schema: dict[str, Any] | None = None,
        user: str | None = None,
        time_left_s: float | None = None,
        temperature: float | None = None,
        seed: int | None = None,
    ) -> ChatReply:
        request: dict[str, Any] = {
            "model": self.model,
            "messages": messages,
            "temperature": self.temperature if temperature is None else temperature,
            "max_tokens": self.max_tokens,
        }
        if seed is not None:
            request["seed"] = seed
        if schema is not None and self.structured_supported is not False:
            body = {k: v for k, v in schema.items() if k != "title"}
            request["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": schema.get("title", "reply"), "schema": body, "strict": True},
            }
        if user:
            request["user"] = user
        retries = 0
        start = time.monotonic()
        end = math.inf if time_left_s is None else start + time_left_s
        while True:
            wait = min(self.timeout_s, end - time.monotonic())
            if wait <= 0:
                raise LLMTimeout(f"LLM call got no reply within the {time_left_s:.3g}s left to it") from None
            try:
                with call_deadline(wait):
                    raw = self._client.chat.completions.with_raw_response.create(**request)
                completion = _read_completion(raw.content)
                break
            except _BadCompletion as exc:  # a 200 that is no chat completion: a server fault, like a 5xx
                reason, err = f"HTTP 200 with {exc}", exc
            except openai.APITimeoutError as exc:
                reason, err = f"no whole reply within {wait:.3g}s", exc
            except openai.APIConnectionError as exc:
                raise LLMUnavailable(f"cannot reach the LLM server at {self.base_url}: {_root_cause(exc)}") from None
            except openai.RateLimitError as exc:
                reason, err = "HTTP 429 (rate limited)", exc
            except openai.APIStatusError as exc:
                if exc.status_code >= 500:
                    reason, err = f"HTTP {exc.status_code}", exc
                elif _is_context_error(exc):
                    raise ContextTooLong(f"prompt too long for the model's context: {_first_line(exc)}") from None
                elif "response_format" in request and _is_schema_error(exc):
                    log.warning("%s does not take JSON-schema response_format; parsing replies instead", self.base_url)
                    self.structured_supported = False
                    del request["response_format"]
                    continue
                else:
                    raise LLMError(f"LLM server at {self.base_url} refused the request: {_first_line(exc)}") from None
            if retries >= self.max_retries:
                failed = LLMTimeout if isinstance(err, openai.APITimeoutError) else LLMError
                raise failed(f"LLM call failed after {retries + 1} attempts: {reason}") from err
            delay = min(self.backoff_s * (2**retries), max(0.0, end - time.monotonic()))
            retries += 1
            log.info("LLM call %s; retry %d in %.2fs", reason, retries, delay)
            time.sleep(delay)
        latency = time.monotonic() - start
        text, finish_reason, usage = completion
        if usage is not None:
            return ChatReply(text, usage[0], usage[1], latency, retries, False, finish_reason)
        prompt_chars = "".join(m["content"] for m in messages)
        return ChatReply(
            text, estimate_tokens(prompt_chars), estimate_tokens(text), latency, retries, True, finish_reason
        )


class _BadCompletion(Exception):
    """A 200 reply whose body is not a chat completion; ``str()`` says what it was instead."""


def _read_completion(body: bytes) -> tuple[str, str | None, tuple[int, int] | None]:
    """(text, finish reason, (prompt, completion) tokens or None) of a chat-completion body, read by hand: an
    empty, non-JSON or misshapen body raises :class:`_BadCompletion` instead of a raw ``JSONDecodeError``."""
    if not body.strip():
        raise _BadCompletion("an empty body")
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise _BadCompletion(f"a body that is not JSON ({len(body)} bytes: {_preview(body)})") from None
    if not isinstance(data, dict):
        raise _BadCompletion(f"a JSON {type(data).__name__} instead of a chat completion ({_preview(body)})")
    choices = data.get("choices")
    if choices == []:
        return "", None, _usage(data)  # no choice at all: an empty reply, asked again like any bad reply
    choice = choices[0] if isinstance(choices, list) else None
    message = choice.get("message") if isinstance(choice, dict) else None
    content = message.get("content") if isinstance(message, dict) else None
    if not isinstance(message, dict) or not isinstance(content, str | None):
        raise _BadCompletion(f"JSON that is not a chat completion (no choices[0].message; {_preview(body)})")
    finish = choice.get("finish_reason")
    return content or "", finish if isinstance(finish, str) else None, _usage(data)


def _usage(data: dict[str, Any]) -> tuple[int, int] | None:
    usage = data.get("usage")
    if not isinstance(usage, dict) or not isinstance(usage.get("prompt_tokens"), int):
        return None
    completion = usage.get("completion_tokens")
    return usage["prompt_tokens"], completion if isinstance(completion, int) else 0


def _preview(body: bytes, limit: int = 80) -> str:
    text = body[:limit].decode("utf-8", "replace")
    return repr(text + ("..." if len(body) > limit else ""))


def _is_schema_error(exc: openai.APIStatusError) -> bool:
    text = str(exc).lower()
    return exc.status_code in (400, 422) and any(k in text for k in ("response_format", "json_schema", "schema"))


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:300] if text else type(exc).__name__


def _root_cause(exc: BaseException) -> str:
    while exc.__cause__ is not None:
        exc = exc.__cause__
    return _first_line(exc) or "connection failed"
