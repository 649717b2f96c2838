"""HMAS-2 plan checks fan out: one check round of N robots costs about one call's latency, not N.

    .venv/bin/python benchmarks/hmas2_fanout.py                 # the issue's setting: 200 ms a reply, 4 checkers
    .venv/bin/python benchmarks/hmas2_fanout.py --delay-ms 500 --rounds 10

Starts the scripted OpenAI-compatible oracle server (``fleetmind.testing.llm_server``, a test double, threaded)
on 127.0.0.1 with a fixed delay before every reply, then plans step 0 of BoxNet1 2x2 (seed 0, where the
oracle's plan moves all four robots, so four robots check it) with HMAS-2 over the real ``openai`` client, once
to warm up and ``--rounds`` times measured. The check round's wall time runs from the first check request to
the last reply; the sum of the four checks' latencies is what they would cost one after another.

Anchor (issue 8): 4 checkers, 200 ms a reply -> every measured check round < 400 ms. Another delay or checker
count prints the figures without a verdict.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import statistics
import threading
import time
from typing import Any

from fleetmind.planners.llm.client import ChatReply, Message, OpenAIChat
from fleetmind.planners.llm.config import LLMSettings
from fleetmind.planners.registry import make_planner
from fleetmind.sim.grid.fleet import GridFleet
from fleetmind.tasks.boxnet1.rules import BoxNet1

from fleetmind.app.argtypes import nonneg, positive
from fleetmind.testing.llm_server import OracleChatServer

ANCHOR_DELAY_MS, ANCHOR_CHECKERS, TARGET_MS = 200, 4, 400.0


class DelayedOracleServer(OracleChatServer):
    """The oracle server with a fixed delay before every reply (requests are served in parallel threads)."""

    def __init__(self, delay_s: float) -> None:
        super().__init__()
        self.delay_s = delay_s

    def handle(self, body: dict[str, Any]) -> tuple[int, dict[str, Any], dict[str, str]]:
        time.sleep(self.delay_s)
        return super().handle(body)


class TimedChat:
    """A chat client that notes when each call started and ended, and whether it was a plan check."""

    def __init__(self, inner: OpenAIChat) -> None:
        self.inner = inner
        self.spans: list[tuple[bool, float, float]] = []
        self._lock = threading.Lock()

    def complete(
        self,
        messages: list[Message],
        schema: dict[str, Any] | None = None,
        user: str | None = None,
        time_left_s: float | None = None,
        temperature: float | None = None,
        seed: int | None = None,
    ) -> ChatReply:
        start = time.perf_counter()
        reply = self.inner.complete(messages, schema, user, time_left_s, temperature, seed)
        end = time.perf_counter()
        with self._lock:
            self.spans.append(("proposed a joint plan" in messages[0]["content"], start, end))
        return reply


def one_round(url: str) -> dict[str, float]:
    """Plan step 0 once with a fresh planner: the check round's wall time and what its checks would cost in a row."""
    chat = TimedChat(OpenAIChat(url, None, "oracle", timeout_s=30.0, max_retries=0))
    settings = LLMSettings(backend="oracle")  # prompts carry the state block the oracle server reads
    planner = make_planner("hmas2", "boxnet1", {"llm": settings, "client": chat})
    obs = GridFleet(BoxNet1(2, 2)).reset(0)
    planner.reset(obs, 0)
    start = time.perf_counter()
    planner.plan(obs)
    step_s = time.perf_counter() - start
    checks = [(s, e) for is_check, s, e in chat.spans if is_check]
    return {
        "checkers": len(checks),
        "calls": len(chat.spans),
        "round_ms": 1000 * (max(e for _, e in checks) - min(s for s, _ in checks)) if checks else 0.0,
        "serial_ms": 1000 * sum(e - s for s, e in checks),
        "step_ms": 1000 * step_s,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--delay-ms", type=nonneg, default=ANCHOR_DELAY_MS, help="server delay before every reply")
    ap.add_argument("--rounds", type=positive, default=5, help="measured rounds (after one warm-up round)")
    args = ap.parse_args(argv)
    stamp = dt.datetime.now().isoformat(timespec="seconds")
    machine = f"{platform.platform()} | {platform.processor() or platform.machine()} | {os.cpu_count()} CPUs"
    print(f"hmas2_fanout benchmark | {stamp} | {machine} | python {platform.python_version()}")
    server = DelayedOracleServer(args.delay_ms / 1000)
    url = server.start()
    try:
        warm = one_round(url)
        print(f"warm-up: check round {warm['round_ms']:.0f} ms ({warm['checkers']} checkers)")
        rows = [one_round(url) for _ in range(args.rounds)]
    finally:
        server.stop()
    for i, r in enumerate(rows, 1):
        print(
            f"round {i}: {r['checkers']} checks in {r['round_ms']:.0f} ms "
            f"(one after another: {r['serial_ms']:.0f} ms); whole step {r['step_ms']:.0f} ms, {r['calls']} calls"
        )
    worst = max(r["round_ms"] for r in rows)
    median = statistics.median(r["round_ms"] for r in rows)
    serial = statistics.median(r["serial_ms"] for r in rows)
    checkers = {r["checkers"] for r in rows}
    print(
        f"check round, {args.delay_ms} ms a reply: median {median:.0f} ms, worst {worst:.0f} ms "
        f"(serial {serial:.0f} ms, speed-up x{serial / median:.1f})"
    )
    if args.delay_ms != ANCHOR_DELAY_MS or checkers != {ANCHOR_CHECKERS}:
        print(
            f"verdict: none (the anchor is {ANCHOR_CHECKERS} checkers at {ANCHOR_DELAY_MS} ms; ran {sorted(checkers)})"
        )
        return 0
    verdict = "PASS" if worst < TARGET_MS else "FAIL"
    print(f"verdict: {verdict} (target: every check round of {ANCHOR_CHECKERS} robots < {TARGET_MS:.0f} ms)")
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    raise SystemExit(main())
