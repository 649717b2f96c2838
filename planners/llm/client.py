"""Chat client over the ``openai`` package: streamed replies, retries with backoff, timeouts, token accounting.

Replies are streamed (``stream``): ``timeout_s`` is then an idle timeout (no byte for that long ends the attempt),
and a reply that keeps coming is never thrown away and asked again; only the caller's time (``time_left_s``, the
step budget) bounds it. A server that answers a stream request with one JSON body gets ``timeout_s`` for all of it.
Connection failures are retried with the same backoff before the call gives up as :class:`LLMUnavailable`.

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
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol

import httpx2
import openai
from fleetmind.planners.llm._deadline import call_deadline, calls_aborted, extend_deadline
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
        stream: bool = True,
        extra_body: dict[str, Any] | None = None,
    ) -> None:
        """``timeout_s``: the deadline of one attempt up to the reply's headers, then, for a streamed reply, the
        longest silence between two of its chunks (for a whole JSON reply: the deadline of all of it);
        ``http_client``: an ``httpx2.Client`` to use instead of one that keeps that deadline; ``extra_body``:
        server-specific request fields (llama.cpp's ``cache_prompt``)."""
        self.base_url = base_url or "https://api.openai.com/v1"
        self.model = model
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.max_retries = max_retries
        self.backoff_s = backoff_s
        self.timeout_s = timeout_s
        self.structured_supported: bool | None = None  # False once the server refused a JSON schema
        self.stream = stream
        self.extra_body = dict(extra_body or {})
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
        if self.stream:
            request["stream"] = True
            request["stream_options"] = {"include_usage": True}
        if self.extra_body:
            request["extra_body"] = self.extra_body
        retries = 0
        start = time.monotonic()
        end = math.inf if time_left_s is None else start + time_left_s
        while True:
            wait = min(self.timeout_s, end - time.monotonic())
            if wait <= 0:
                raise LLMTimeout(f"LLM call got no reply within the {time_left_s:.3g}s left to it") from None
            try:
                with call_deadline(wait):
                    completion = self._attempt(request, end)
                break
            except _BadCompletion as exc:  # a 200 that is no chat completion: a server fault, like a 5xx
                reason, err = f"HTTP 200 with {exc}", exc
            except openai.APITimeoutError as exc:
                reason, err = f"no whole reply within {wait:.3g}s", exc
            except openai.APIConnectionError as exc:
                reason, err = f"cannot reach the LLM server at {self.base_url}: {_root_cause(exc)}", exc
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
            if calls_aborted():  # Ctrl-C / SIGTERM ended it (see _deadline.abort_calls): no retry
                raise LLMError("LLM call aborted: the run is stopping") from None
            unreachable = isinstance(err, openai.APIConnectionError) and not isinstance(err, openai.APITimeoutError)
            if unreachable and (retries >= self.max_retries or time.monotonic() >= end):
                raise LLMUnavailable(f"{reason} ({retries + 1} attempts)") from None
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

    def _attempt(self, request: dict[str, Any], end: float) -> tuple[str, str | None, tuple[int, int] | None]:
        """One request: a streamed reply (server-sent events) read chunk by chunk until ``end`` at the latest, or a
        whole JSON reply read within the attempt's deadline (see :func:`call_deadline`)."""
        if not self.stream:
            raw = self._client.chat.completions.with_raw_response.create(**request)
            return _read_completion(raw.content)
        with self._client.chat.completions.with_streaming_response.create(**request) as raw:
            try:  # the body is read outside the openai package: map the HTTP stack's errors here
                if "text/event-stream" not in raw.headers.get("content-type", ""):
                    return _read_completion(raw.read())  # a server that does not stream: the attempt's deadline
                extend_deadline(end)  # chunks keep coming: each may take timeout_s, all of them the caller's time
                return _read_events(raw.iter_lines())
            except httpx2.TimeoutException as exc:
                raise openai.APITimeoutError(request=raw.http_request) from exc
            except httpx2.TransportError as exc:
                raise _BadCompletion(f"a stream cut short ({type(exc).__name__}: {exc})") from None


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


def _read_events(lines: Iterator[str]) -> tuple[str, str | None, tuple[int, int] | None]:
    """(text, finish reason, usage) of a streamed chat completion: ``data:`` lines of JSON chunks up to ``[DONE]``
    (or the end of the stream); a chunk that is not JSON, or an ``error`` one, raises :class:`_BadCompletion`."""
    parts: list[str] = []
    finish: str | None = None
    usage: tuple[int, int] | None = None
    for line in lines:
        if not line.startswith("data:"):
            continue  # comments, event names, keep-alives
        payload = line[5:].strip()
        if payload == "[DONE]":
            break
        try:
            chunk = json.loads(payload)
        except ValueError:
            raise _BadCompletion(f"a stream chunk that is not JSON ({_preview(payload.encode())})") from None
        if not isinstance(chunk, dict):
            raise _BadCompletion(f"a stream chunk that is a JSON {type(chunk).__name__} ({_preview(payload.encode())})")
        if "error" in chunk:
            raise _BadCompletion(f"an error event in the stream ({_preview(payload.encode())})")
        usage = _usage(chunk) or usage
        for choice in chunk.get("choices") or []:
            delta = choice.get("delta") if isinstance(choice, dict) else None
            content = delta.get("content") if isinstance(delta, dict) else None
            if isinstance(content, str):
                parts.append(content)
            if isinstance(choice, dict) and isinstance(choice.get("finish_reason"), str):
                finish = choice["finish_reason"]
    return "".join(parts), finish, usage


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
