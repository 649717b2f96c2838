"""LLM settings: one pydantic model shared by scenario files, the CLI and (later) ROS parameters."""

from __future__ import annotations

import os
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Backend = Literal["openai", "local", "oracle", "oracle-faulty"]
HistoryMode = Literal["none", "state_action", "dialogue", "compressed"]


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
    max_tokens: int = Field(512, ge=16, le=32_768, description="Completion token cap per call.")
    timeout_s: float = Field(120.0, gt=0, description="Per-request timeout in seconds.")
    max_retries: int = Field(4, ge=0, le=20, description="Retries for timeouts, HTTP 429 and 5xx (with backoff).")
    backoff_s: float = Field(0.5, ge=0, description="First backoff delay; doubles each retry.")
    max_reprompts: int = Field(
        6, ge=0, le=20, description="Re-prompts with error feedback before a step fails (syntax)."
    )
    structured: bool = Field(
        True, description="Send a JSON schema as response_format; a server that refuses it gets tolerant parsing."
    )
    history: HistoryMode = Field("state_action", description="What earlier steps the prompt carries.")
    history_tokens: int = Field(1500, ge=0, le=100_000, description="Token budget for history; newest kept.")
    hints: bool | None = Field(
        None, description="Annotate and rank legal actions by their effect (default: on for local, off otherwise)."
    )
    loop_guard: bool = Field(True, description="Flag a joint plan that exactly undoes the previous step, once.")
    dialogue_rounds: int = Field(4, ge=1, le=20, description="DMAS / HMAS-1 rounds before the step is a no-op.")
    feedback_rounds: int = Field(3, ge=0, le=20, description="HMAS-2 rounds of robot objections and revisions.")
    threads: int = Field(2, ge=1, le=256, description="CPU threads of the local llama.cpp server.")
    context: int = Field(8192, ge=512, le=131_072, description="Context size of the local llama.cpp server.")
    local_model: Literal["qwen2.5-coder-0.5b", "qwen2.5-coder-1.5b", "smollm2-135m"] = Field(
        "qwen2.5-coder-0.5b", description="Model of the local backend."
    )

    @property
    def hints_on(self) -> bool:
        return self.backend == "local" if self.hints is None else self.hints

    @property
    def structured_on(self) -> bool:
        return self.structured

    def resolved_base_url(self) -> str | None:
        return self.base_url or os.environ.get("FLEETMIND_LLM_BASE_URL")

    def resolved_model(self) -> str:
        env = os.environ.get("FLEETMIND_LLM_MODEL")
        return env if env and self.model == "default" else self.model
