"""Chat client over the ``openai`` package: retries with backoff, timeouts, token accounting.

Every call returns a :class:`ChatReply` with the server's token usage (or, where a server reports
none, an estimate of one token per four characters, flagged ``estimated``). Failures become one of
the :class:`LLMError` subclasses with a one-line message; nothing from deep inside the HTTP stack
reaches the user.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from typing import Any, Protocol

import openai
from fleetmind.robots.errors import ExpectedFailure

log = logging.getLogger(__name__)

Message = dict[str, str]


class LLMError(ExpectedFailure):
    """An LLM call that failed for good (after retries); ``str()`` is one line."""


class LLMUnavailable(LLMError):
    """The server cannot be reached (connection refused, DNS, ...)."""


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
        self, messages: list[Message], schema: dict[str, Any] | None = None, user: str | None = None
    ) -> ChatReply: ...


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
        self.base_url = base_url or "https://api.openai.com/v1"
        self.model = model
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.max_retries = max_retries
        self.backoff_s = backoff_s
        self.structured_supported: bool | None = None  # False once the server refused a JSON schema
        kwargs: dict[str, Any] = {"base_url": self.base_url, "api_key": api_key or "not-needed", "timeout": timeout_s}
        if http_client is not None:
            kwargs["http_client"] = http_client
        self._client = openai.OpenAI(max_retries=0, **kwargs)

    def complete(
        self, messages: list[Message], schema: dict[str, Any] | None = None, user: str | None = None
    ) -> ChatReply:
        request: dict[str, Any] = {
            "model": self.model,
            "messages": messages,
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
        }
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
        while True:
            try:
                response = self._client.chat.completions.create(**request)
                break
            except openai.APITimeoutError as exc:
                reason = f"timed out after {self._client.timeout}s"
                err: Exception = exc
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
                raise LLMError(f"LLM call failed after {retries + 1} attempts: {reason}") from err
            delay = self.backoff_s * (2**retries)
            retries += 1
            log.info("LLM call %s; retry %d in %.2fs", reason, retries, delay)
            time.sleep(delay)
        latency = time.monotonic() - start
        choice = response.choices[0] if response.choices else None
        text = (choice.message.content or "") if choice else ""
        usage = getattr(response, "usage", None)
        if usage is not None and usage.prompt_tokens is not None:
            return ChatReply(
                text,
                usage.prompt_tokens,
                usage.completion_tokens or 0,
                latency,
                retries,
                False,
                choice.finish_reason if choice else None,
            )
        prompt_chars = "".join(m["content"] for m in messages)
        return ChatReply(
            text,
            estimate_tokens(prompt_chars),
            estimate_tokens(text),
            latency,
            retries,
            True,
            choice.finish_reason if choice else None,
        )


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
