"""A scripted OpenAI-compatible chat server that plays every LLM role from the task's oracle planner.

TEST DOUBLE: it is not a language model. It lets every framework run offline, fast and deterministic,
and it injects faults on demand. It reads the ```state``` block that prompts carry for the oracle
backends, keeps one oracle planner per episode (keyed by the request's ``user`` field) and answers:

- central planner: the oracle's joint plan;
- dialogue turn: the speaker's action from the oracle plan, decision EXECUTE;
- plan check: agree with a null objection, unless the prompt's effect line says the plan collides for that robot
  (then object naming the collision, and wait);
- summary: a one-line summary;
- HAS manager, HAS leaders and flat planner (a ``suggestion`` in the state block): that suggestion.

Faults (``faults=True``, deterministic by request number): malformed JSON, an illegal action, HTTP 429,
HTTP 500, a slow reply, a truncated reply, and ``robot_0`` objecting to every plan it
checks (it would rather wait: a founded objection, so it reaches the planner). Server faults
that only tests ask for by name (:data:`SERVER_FAULTS`, never in the default cycle): a 200 reply with an
empty body or a body that is not JSON; a reply trickled one byte every ``trickle_s`` seconds from its status
line (``trickle_head``) or after whole headers (``trickle_body``); a streamed reply whose chunks come every
``trickle_s`` seconds (``stream_slow``: slow but alive) or that stops after its first chunk (``stream_stall``).
A request with ``stream: true`` gets server-sent events (one chunk per few characters, usage last, ``[DONE]``).
Standard library only (``http.server`` in a thread), bound to 127.0.0.1.
"""

from __future__ import annotations

import itertools
import json
import logging
import re
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from fleetmind.planners.oracle import make_oracle
from fleetmind.robots.fleet import Observation
from fleetmind.robots.ids import RobotId
from fleetmind.robots.planner import Planner

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Trickle:
    """A reply sent one byte at a time: from the status line on (``head``) or after whole headers."""

    body: bytes
    head: bool


@dataclass(frozen=True)
class Events:
    """A streamed reply: server-sent ``data:`` chunks, ``gap_s`` apart; ``stall``: nothing after the first one."""

    chunks: list[dict[str, Any]]
    gap_s: float = 0.0
    stall: bool = False


Payload = dict[str, Any] | bytes | Trickle | Events

_STATE = re.compile(r"```state\n(.*?)\n```", re.S)
_ROBOT = re.compile(r"You are (\w+) in a robot team")
_COLLIDES = re.compile(r"It would collide with: (.*)")
FAULTS = ("malformed", "illegal", "http429", "http500", "slow", "truncated")
SERVER_FAULTS = ("empty", "not_json", "trickle_head", "trickle_body", "stream_slow", "stream_stall")


class OracleChatServer:
    """Start with :meth:`start` (returns the ``/v1`` base URL); stop with :meth:`stop`."""

    def __init__(
        self,
        faults: bool = False,
        slow_s: float = 0.2,
        fault_every: int = 3,
        fault_kinds: Sequence[str] = FAULTS,
        always_object: bool | None = None,
        reject_schema: bool = False,
        trickle_s: float = 0.2,
    ) -> None:
        unknown = set(fault_kinds) - {*FAULTS, *SERVER_FAULTS}
        if unknown:
            raise ValueError(f"unknown fault kinds {sorted(unknown)}; known: {', '.join([*FAULTS, *SERVER_FAULTS])}")
        self.faults = faults
        self.slow_s = slow_s
        self.trickle_s = trickle_s
        self.fault_every = fault_every
        self.always_object = faults if always_object is None else always_object
        self.reject_schema = reject_schema  # behave like a server without JSON-schema support
        self.requests = 0
        self.last_body: dict[str, Any] = {}  # the newest chat request, as sent
        self.fault_counts: dict[str, int] = dict.fromkeys([*FAULTS, *SERVER_FAULTS], 0)
        self._fault_cycle = itertools.cycle(list(fault_kinds) or [None])
        self._oracles: dict[tuple[str, str], Planner] = {}
        self._plans: dict[tuple[str, int], dict[str, str]] = {}
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        assert self._httpd is not None, "server not started"
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    def start(self) -> str:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, fmt: str, *args: Any) -> None:
                log.debug("oracle server: " + fmt, *args)

            def do_GET(self) -> None:  # noqa: N802 - http.server API
                if self.path.rstrip("/") in ("/health", "/v1/health"):
                    self._send(200, {"status": "ok"})
                elif self.path.rstrip("/") == "/v1/models":
                    self._send(200, {"object": "list", "data": [{"id": "oracle", "object": "model"}]})
                else:
                    self._send(404, {"error": {"message": f"no route {self.path}"}})

            def do_POST(self) -> None:  # noqa: N802 - http.server API
                length = int(self.headers.get("content-length", 0))
                try:
                    body = json.loads(self.rfile.read(length) or b"{}")
                except json.JSONDecodeError:
                    self._send(400, {"error": {"message": "request body is not JSON"}})
                    return
                status, payload, headers = server.handle(body)
                self._send(status, payload, headers)

            def _send(self, status: int, payload: Payload, headers: dict[str, str] | None = None) -> None:
                if isinstance(payload, Trickle):
                    self._trickle(payload)
                    return
                if isinstance(payload, Events):
                    self._events(payload)
                    return
                data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            def _trickle(self, reply: Trickle) -> None:
                head = f"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {len(reply.body)}\r\n\r\n"
                data = head.encode() + reply.body
                if not reply.head:
                    self.wfile.write(data[: len(head)])
                    data = data[len(head) :]
                self.close_connection = True
                try:
                    for i in range(len(data)):
                        if server._httpd is None:
                            return
                        self.wfile.write(data[i : i + 1])
                        time.sleep(server.trickle_s)
                except OSError:  # the client gave up
                    return

            def _events(self, reply: Events) -> None:
                self.send_response(200)
                self.send_header("content-type", "text/event-stream")
                self.send_header("cache-control", "no-cache")
                self.end_headers()
                self.close_connection = True
                try:
                    for i, chunk in enumerate(reply.chunks):
                        if server._httpd is None:
                            return
                        self.wfile.write(b"data: " + json.dumps(chunk).encode() + b"\n\n")
                        self.wfile.flush()
                        if reply.stall:  # say nothing more until the server stops or the client hangs up
                            while server._httpd is not None:
                                time.sleep(0.05)
                            return
                        if i + 1 < len(reply.chunks):
                            time.sleep(reply.gap_s)
                    self.wfile.write(b"data: [DONE]\n\n")
                except OSError:  # the client gave up
                    return

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="oracle-chat-server", daemon=True)
        self._thread.start()
        return self.base_url

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    # ------------------------------------------------------------------ request handling
    def handle(self, body: dict[str, Any]) -> tuple[int, Payload, dict[str, str]]:
        """(status, payload, headers) of one chat request: a JSON document, or raw bytes for the body faults."""
        with self._lock:
            self.requests += 1
            self.last_body = body
            n = self.requests
            fault = next(self._fault_cycle) if self.faults and n % self.fault_every == 0 else None
        if self.reject_schema and "response_format" in body:
            return 400, {"error": {"message": "response_format type json_schema is not supported"}}, {}
        if fault:
            self.fault_counts[fault] += 1
        if fault == "http429":
            return 429, {"error": {"message": "rate limited (injected)", "type": "rate_limit"}}, {"retry-after": "0"}
        if fault == "http500":
            return 500, {"error": {"message": "internal error (injected)"}}, {}
        if fault == "empty":
            return 200, b"", {}
        if fault == "not_json":
            return 200, b"<html><body>502 Bad Gateway (injected)</body></html>", {}
        if fault == "slow":
            time.sleep(self.slow_s)
        messages = body.get("messages") or []
        system = next((m.get("content", "") for m in messages if m.get("role") == "system"), "")
        user_text = next((m.get("content", "") for m in reversed(messages) if m.get("role") == "user"), "")
        state = self._state(messages)
        if "keep the memory" in system:
            text = "The team is moving boxes towards their targets; keep going."
        elif state is None:
            return 400, {"error": {"message": "oracle server: prompt carries no ```state``` block"}}, {}
        elif isinstance(state.get("suggestion"), dict):  # the HAS roles: the heuristic's suggestion the prompt carries
            text = json.dumps(state["suggestion"])
        else:
            text = self._answer(system, user_text, state, str(body.get("user") or "anonymous"), fault)
        if fault == "malformed":
            text = text.replace('"', "", 2).replace("}", "", 1)
        elif fault == "truncated":
            text = text[: max(1, len(text) // 2)]
        prompt_chars = sum(len(m.get("content", "")) for m in messages)
        usage = {"prompt_tokens": prompt_chars // 4 + 1, "completion_tokens": len(text) // 4 + 1}
        usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
        finish = "length" if fault == "truncated" else "stop"
        reply = {
            "id": f"oracle-{n}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": "oracle",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": finish}],
            "usage": usage,
        }
        if fault in ("trickle_head", "trickle_body"):
            return 200, Trickle(json.dumps(reply).encode(), head=fault == "trickle_head"), {}
        if body.get("stream"):
            gap = self.trickle_s if fault == "stream_slow" else 0.0
            return (
                200,
                Events(
                    _chunks(reply, bool((body.get("stream_options") or {}).get("include_usage"))),
                    gap,
                    fault == "stream_stall",
                ),
                {},
            )
        return 200, reply, {}

    @staticmethod
    def _state(messages: list[dict[str, Any]]) -> dict[str, Any] | None:
        for m in reversed(messages):
            found = _STATE.search(m.get("content", ""))
            if found:
                return json.loads(found.group(1))
        return None

    def _oracle_plan(self, user: str, state: dict[str, Any]) -> dict[str, str]:
        world, step = state["world"], int(state["step"])
        key = (user, step)
        with self._lock:
            if key not in self._plans:
                oracle = self._oracles.setdefault((user, world["task"]), make_oracle(world["task"]))
                obs = Observation(step=step, robots={}, world=world, text="")
                self._plans[key] = {r: c.text for r, c in oracle.plan(obs).items()}
            return self._plans[key]

    def _answer(self, system: str, user_text: str, state: dict[str, Any], user: str, fault: str | None) -> str:
        plan = dict(self._oracle_plan(user, state))
        if fault == "illegal" and plan:
            plan[next(iter(plan))] = "teleport(box_red, moon)"
        robot = _ROBOT.search(system)
        if robot is None:  # the central planner
            return json.dumps(plan)
        if robot and "talk in turn" in system:
            me = RobotId(robot.group(1))
            return json.dumps({"action": plan.get(me, "wait"), "decision": "EXECUTE", "plan": plan})
        if robot and "proposed a joint plan" in system:
            me = robot.group(1)
            if self.always_object and me == "robot_0":
                return json.dumps({"agree": False, "objection": "I would rather wait (injected fault)"})
            hit = _COLLIDES.search(user_text)
            if hit is None or hit.group(1).strip() == "nothing":
                return json.dumps({"agree": True, "objection": None})
            return json.dumps({"agree": False, "objection": f"{hit.group(1).strip()}; I should wait"})
        return json.dumps(plan)


def _chunks(reply: dict[str, Any], usage: bool, size: int = 8) -> list[dict[str, Any]]:
    """``reply`` (a chat completion) as stream chunks of ``size`` characters; the finish reason on the last one,
    then the usage in a chunk without choices when asked for (as OpenAI and llama.cpp send them)."""
    choice = reply["choices"][0]
    text = choice["message"]["content"]
    head = {k: reply[k] for k in ("id", "created", "model")} | {"object": "chat.completion.chunk"}
    pieces = [text[i : i + size] for i in range(0, len(text), size)] or [""]
    out = [head | {"choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}]} for piece in pieces]
    out[-1]["choices"][0]["finish_reason"] = choice["finish_reason"]
    if usage:
        out.append(head | {"choices": [], "usage": reply["usage"]})
    return out
