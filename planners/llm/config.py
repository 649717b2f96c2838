"""LLM settings: one pydantic model shared by scenario files, the CLI and (later) ROS parameters."""

from __future__ import annotations

import os
from typing import Literal
from urllib.parse import urlsplit

from fleetmind.robots.errors import BadInputError
from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError

Backend = Literal["openai", "local", "oracle", "oracle-faulty"]
HistoryMode = Literal["none", "state_action", "dialogue", "compressed"]

PUBLIC_OPENAI_URL = "https://api.openai.com/v1"
"""Where backend ``openai`` goes when neither ``base_url`` nor ``$FLEETMIND_LLM_BASE_URL`` is set."""


def url_problem(value: str) -> str | None:
    """Why ``value`` is not a usable server URL (``None``: it is): an http(s) scheme, a host and a valid port."""
    try:
        parts = urlsplit(value)
        port_ok = parts.port is None or 0 < parts.port < 65536
    except ValueError as exc:
        return f"{exc}; give an http(s) URL such as http://127.0.0.1:8080/v1"
    if parts.scheme not in ("http", "https") or not parts.hostname or not port_ok or value != value.strip():
        return "not an http(s) URL with a host; give one such as http://127.0.0.1:8080/v1"
    return None


class LLMSettings(BaseModel):
    """How LLM planners reach their model and shape their prompts."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    backend: Backend = Field(
        "oracle",
        description="openai: any OpenAI-compatible server; local: the embedded llama.cpp server and model; "
        "oracle / oracle-faulty: the scripted test-double server (oracle-faulty injects every fault).",
    )
    base_url: str | None = Field(None, description="Server URL for backend openai (default: $FLEETMIND_LLM_BASE_URL).")
    model: str = Field("default", description="Model name sent to the server (default: $FLEETMIND_LLM_MODEL).")
    api_key_env: str = Field("OPENAI_API_KEY", description="Environment variable holding the API key.")
    temperature: float = Field(0.0, ge=0.0, le=2.0, description="Sampling temperature.")
    max_tokens: int = Field(512, ge=16, le=32_768, strict=True, description="Completion token cap per call.")
    timeout_s: float = Field(
        120.0,
        gt=0,
        description="Request timeout in seconds: until the reply starts, then the longest silence inside a streamed "
        "reply (a reply still coming is never dropped; step_timeout_s bounds it); a whole, unstreamed reply gets "
        "this long in all.",
    )
    stream: bool = Field(True, description="Stream replies (server-sent events), so the timeout is an idle timeout.")
    cache_prompt: bool | None = Field(
        None,
        description="Ask a llama.cpp server to reuse the KV cache of the prompt's unchanged start (cache_prompt; "
        "default: on for local, off otherwise, since other servers may refuse the unknown field).",
    )
    step_timeout_s: float = Field(
        300.0,
        gt=0,
        description="Budget of one planning step in seconds: all its LLM calls, retries and re-prompts; "
        "past it the episode ends with failure_reason llm_timeout.",
    )
    max_retries: int = Field(
        4, ge=0, le=20, strict=True, description="Retries for timeouts, HTTP 429 and 5xx (with backoff)."
    )
    backoff_s: float = Field(0.5, ge=0, description="First backoff delay; doubles each retry.")
    max_reply_chars: int = Field(
        16_000,
        ge=256,
        le=1_000_000,
        strict=True,
        description="Longest reply kept, in characters: a longer one is cut there (in the call log and the "
        "re-prompt too) and the model is told so.",
    )
    max_reprompts: int = Field(
        6, ge=0, le=20, strict=True, description="Re-prompts with error feedback before a step fails (syntax)."
    )
    structured: bool = Field(
        True, description="Send a JSON schema as response_format; a server that refuses it gets tolerant parsing."
    )
    history: HistoryMode = Field("state_action", description="What earlier steps the prompt carries.")
    history_tokens: int = Field(
        200, ge=0, le=100_000, strict=True, description="Token budget for history; newest kept."
    )
    hints: bool | None = Field(
        None, description="Annotate and rank legal actions by their effect (default: on for local, off otherwise)."
    )
    loop_guard: bool = Field(True, description="Flag a joint plan that exactly undoes the previous step, once.")
    dialogue_rounds: int = Field(
        4, ge=1, le=20, strict=True, description="DMAS / HMAS-1 rounds before the step is a no-op."
    )
    feedback_rounds: int = Field(
        3, ge=0, le=20, strict=True, description="HMAS-2 rounds of robot objections and revisions."
    )
    threads: int = Field(2, ge=1, le=256, strict=True, description="CPU threads of the local llama.cpp server.")
    context: int = Field(
        8192, ge=512, le=131_072, strict=True, description="Context size of the local llama.cpp server."
    )
    local_model: Literal["qwen2.5-coder-0.5b", "qwen2.5-coder-1.5b", "smollm2-135m"] = Field(
        "qwen2.5-coder-0.5b", description="Model of the local backend."
    )

    @field_validator("base_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        problem = None if value is None else url_problem(value)
        if problem:
            raise PydanticCustomError("url", problem)  # no "Value error, " prefix: the one line names field and fix
        return value

    @property
    def hints_on(self) -> bool:
        return self.backend == "local" if self.hints is None else self.hints

    @property
    def cache_prompt_on(self) -> bool:
        return self.backend == "local" if self.cache_prompt is None else self.cache_prompt

    @property
    def structured_on(self) -> bool:
        return self.structured

    def resolved_base_url(self) -> str | None:
        """``base_url``, else ``$FLEETMIND_LLM_BASE_URL`` (checked like ``base_url``: :class:`BadInputError`)."""
        if self.base_url:
            return self.base_url
        env = os.environ.get("FLEETMIND_LLM_BASE_URL") or None
        problem = None if env is None else url_problem(env)
        if problem:
            raise BadInputError(f"$FLEETMIND_LLM_BASE_URL: {problem} (got {env!r})")
        return env

    def endpoint(self) -> str:
        """The URL backend ``openai`` calls: :meth:`resolved_base_url`, else the public OpenAI API."""
        return self.resolved_base_url() or PUBLIC_OPENAI_URL

    def resolved_model(self) -> str:
        env = os.environ.get("FLEETMIND_LLM_MODEL")
        return env if env and self.model == "default" else self.model
