"""Chat clients for each ``--llm`` backend (the servers they need start once per process and stop at exit), and the
options that give an LLM planner its client."""

from __future__ import annotations

import atexit
import logging
import os
import threading
from typing import TYPE_CHECKING, Any

from fleetmind.planners.llm.config import LLMSettings

if TYPE_CHECKING:
    from fleetmind.planners.llm.client import ChatClient

log = logging.getLogger(__name__)
_servers: dict[tuple[str, ...], str] = {}
_lock = threading.Lock()
_warned: set[str] = set()


def _oracle_url(faulty: bool) -> str:
    from fleetmind.testing.llm_server import OracleChatServer

    key = ("oracle", str(faulty))
    with _lock:
        if key not in _servers:
            server = OracleChatServer(faults=faulty)
            _servers[key] = server.start()
            atexit.register(server.stop)
        return _servers[key]


def _local_url(settings: LLMSettings) -> str:
    from fleetmind.planners.llm.local import LlamaServer

    key = ("local", settings.local_model, str(settings.threads), str(settings.context))
    with _lock:
        if key not in _servers:
            server = LlamaServer(settings.local_model, threads=settings.threads, context=settings.context)
            _servers[key] = server.start()
        return _servers[key]


def _warn_public_once(url: str) -> None:
    with _lock:
        if "public" in _warned:
            return
        _warned.add("public")
    log.warning("LLM backend openai goes to the public OpenAI API at %s (%s)", url, _NO_URL)


_NO_URL = "no --base-url, run.llm.base_url or $FLEETMIND_LLM_BASE_URL set"


def endpoint_text(settings: LLMSettings) -> str:
    """One line for a run's header: which server LLM planners will call (checks ``$FLEETMIND_LLM_BASE_URL``)."""
    if settings.backend == "openai":
        url = settings.endpoint()
        public = f": the public OpenAI API ({_NO_URL})" if settings.resolved_base_url() is None else ""
        return f"LLM endpoint: {url}{public}, model {settings.resolved_model()}"
    if settings.backend == "local":
        return f"LLM endpoint: a llama.cpp server on 127.0.0.1 that fleetmind starts, model {settings.local_model}"
    return f"LLM endpoint: the scripted {settings.backend} server on 127.0.0.1 that fleetmind starts"


def make_client(settings: LLMSettings) -> ChatClient:
    """The chat client of ``settings.backend`` (starting the oracle or llama.cpp server if needed)."""
    from fleetmind.planners.llm.client import OpenAIChat

    if settings.backend in ("oracle", "oracle-faulty"):
        base_url, model = _oracle_url(settings.backend == "oracle-faulty"), "oracle"
        timeout = min(settings.timeout_s, 30.0)
        backoff = min(settings.backoff_s, 0.05)
    elif settings.backend == "local":
        base_url, model = _local_url(settings), settings.local_model
        timeout, backoff = settings.timeout_s, settings.backoff_s
    else:
        base_url, model = settings.endpoint(), settings.resolved_model()
        timeout, backoff = settings.timeout_s, settings.backoff_s
        if settings.resolved_base_url() is None:
            _warn_public_once(base_url)
    log.info("LLM backend %s at %s (model %s)", settings.backend, base_url, model)
    return OpenAIChat(
        base_url,
        os.environ.get(settings.api_key_env),
        model,
        temperature=settings.temperature,
        max_tokens=settings.max_tokens,
        timeout_s=timeout,
        max_retries=settings.max_retries,
        backoff_s=backoff,
        stream=settings.stream,
        extra_body={"cache_prompt": True} if settings.cache_prompt_on else None,
    )


def shared_server(settings: LLMSettings) -> LLMSettings:
    """Settings for a graph of processes (``fleetmind up``): backend ``local`` becomes one llama.cpp server started
    by this process, which every node then reaches as an OpenAI-compatible server (hints and the prompt cache as the
    local backend has them), instead of one model server per node. Other backends are returned as they are."""
    if settings.backend != "local":
        return settings
    url = _local_url(settings)
    log.info("one local model server for every node: %s", url)
    shared = {"backend": "openai", "base_url": url, "model": settings.local_model}
    return settings.model_copy(update=shared | {"hints": settings.hints_on, "cache_prompt": settings.cache_prompt_on})


def planner_options(settings: LLMSettings) -> dict[str, Any]:
    """Options for :func:`fleetmind.planners.registry.make_planner`: the settings and a factory of their client (called
    only by LLM planners, on their first model call)."""
    return {"llm": settings, "client_factory": lambda: make_client(settings)}
