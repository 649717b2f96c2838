"""``fleetmind up``: start a scenario's node graph (:mod:`fleetmind.ros.graph`) as processes with ``--ros-args``
where ``ros2 launch`` is not installed, watch ``/fleet/state`` until the episode ends, stop every process.

Each process logs to ``<log_dir>/<node>.log``; a process that dies is reported with the tail of its log
(an agent's death is left to the planner's heartbeat monitor; the world's or planner's ends the run).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from fleetmind.planners.llm.config import LLMSettings
from fleetmind.robots.process import popen_tied
from fleetmind.ros import common as rc
from fleetmind.ros.graph import MODULES, NodeSpec, node_graph

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class UpConfig:
    scenario: str | Path
    planner: str | None = None
    llm: LLMSettings | None = None
    timeout_s: float = 300.0
    record: Path | None = None
    seed: int | None = None
    heartbeat_timeout_s: float = 2.0
    log_dir: Path = Path("runs/up")


@dataclass
class Proc:
    spec: NodeSpec
    popen: subprocess.Popen[bytes]
    log_path: Path
    log_file: IO[bytes]
    reported: bool = False


@dataclass
class UpResult:
    ran: bool = False  # the episode ended (success or a failure reason)
    success: bool = False
    steps: int = 0
    failure_reason: str | None = None
    dropped: dict[str, str] = field(default_factory=dict)
    died: list[str] = field(default_factory=list)
    aborted: str | None = None  # why the run stopped before the episode ended
    bad_input: bool = False  # a node refused its parameters (exit code 2) before the episode started
    seconds: float = 0.0
    state: dict[str, Any] | None = None


def command_for(spec: NodeSpec) -> list[str]:
    """The console script next to this Python if installed, else ``python -m module``."""
    script = Path(sys.executable).parent / spec.executable
    base = [str(script)] if script.exists() else [sys.executable, "-m", MODULES[spec.executable]]
    return base + spec.ros_args()


def start(spec: NodeSpec, log_dir: Path, env: dict[str, str]) -> Proc:
    log_dir.mkdir(parents=True, exist_ok=True)
    name = spec.fqn.strip("/").replace("/", "_")
    path = log_dir / f"{name}.log"
    f = path.open("wb")
    # tied: SIGTERM (a clean rclpy shutdown) reaches it even when this process is killed with SIGKILL
    popen = popen_tied(command_for(spec), stdout=f, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    return Proc(spec, popen, path, f)


def stop_all(procs: list[Proc], grace_s: float = 5.0) -> None:
    """SIGINT every process (rclpy shuts down cleanly), then SIGTERM, then SIGKILL after ``grace_s``."""
    for sig, wait in ((signal.SIGINT, grace_s), (signal.SIGTERM, 2.0), (signal.SIGKILL, 2.0)):
        alive = [p for p in procs if p.popen.poll() is None]
        if not alive:
            break
        for p in alive:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(p.popen.pid, sig)
        deadline = time.monotonic() + wait
        for p in alive:
            with contextlib.suppress(subprocess.TimeoutExpired):
                p.popen.wait(timeout=max(0.0, deadline - time.monotonic()))
    for p in procs:
        p.log_file.close()


def tail(path: Path, lines: int = 8) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def _wait_for_node(executor: Any, monitor: Any, spec: NodeSpec, proc: Proc, deadline: float) -> None:
    while time.monotonic() < deadline and proc.popen.poll() is None:
        if (spec.name, spec.namespace or "/") in monitor.get_node_names_and_namespaces():
            time.sleep(0.5)  # its subscriptions are created right after the node
            return
        executor.spin_once(timeout_sec=0.1)
    if proc.popen.poll() is None:
        log.warning("%s did not appear within 30 s; starting the rest anyway", spec.fqn)


def _check_exits(procs: list[Proc], result: UpResult, report: Callable[[str], None]) -> None:
    """Report each process that has exited, once. Before the episode starts (no state yet) any exit ends the run:
    the world's start gate counts every node, so it would wait for the missing one until ``--timeout``. After it,
    only the world's or the planner's does (an agent's death is left to the planner's heartbeat monitor)."""
    for p in procs:
        code = p.popen.poll()
        if code is None or p.reported:
            continue
        p.reported = True
        last = tail(p.log_path)
        result.died.append(f"{p.spec.fqn} (pid {p.popen.pid}) exited with code {code}")
        report(f"fleetmind up: {p.spec.fqn} (pid {p.popen.pid}) exited with code {code}; last lines:")
        report("    " + last.replace("\n", "\n    "))
        if result.aborted:
            continue
        if result.state is None:
            why = last.splitlines()[-1].strip() if last.strip() else "no output"
            result.aborted = f"{p.spec.fqn} exited with code {code} before the episode started: {why}"
            result.bad_input = code == 2  # a node's exit code for parameters it refuses
        elif p.spec.role in ("world", "planner"):
            result.aborted = f"{p.spec.role} process died"


def start_robots(scenario: str | Path, report: Callable[[str], None]) -> tuple[dict[str, dict[str, Any]], list[Any]]:
    """A ``backend: firmware`` scenario without ``world.firmware.robots``: start one SITL robot per robot (as
    ``fleetmind run`` does) and return each bridge's link parameters and what to close at the end."""
    from fleetmind.app.scenario import load_scenario
    from fleetmind.firmware_bridge.executor_config import ExecutorSettings, SitlSettings

    sc = load_scenario(scenario)
    settings = sc.world.firmware or ExecutorSettings()
    if sc.world.backend != "firmware" or not settings.autostart:
        return {}, []
    from fleetmind.app.firmware import start_sitl_robots

    configs, owned = start_sitl_robots(list(rc.scenario_robots(sc)), settings.sitl or SitlSettings())
    links = {
        c.name: {"wire_id": c.wire_id, "udp_host": str(c.udp_host), "udp_port": int(c.udp_port or 0)}
        | ({"key_file": str(c.key_file)} if c.key_file else {})
        for c in configs
    }
    ports = ", ".join(f"{name} udp {link['udp_port']}" for name, link in links.items())
    report(f"fleetmind up: started {len(configs)} SITL robots ({ports})")
    return links, owned


def up(
    config: UpConfig,
    report: Callable[[str], None] = print,
    on_state: Callable[[dict[str, Any], list[Proc]], None] | None = None,
    on_robots: Callable[[list[Any]], None] | None = None,
) -> UpResult:
    """Run one episode of ``config`` over ROS 2 processes; Ctrl-C stops every process and re-raises. A firmware
    scenario without robot addresses gets SITL robots, started first and stopped last (``on_robots`` sees them)."""
    links, owned = start_robots(config.scenario, report)
    if on_robots is not None:
        on_robots([o for o in owned if hasattr(o, "proc")])
    try:
        return _up(config, report, on_state, links)
    finally:
        for resource in owned:  # the SITL processes, then their folder (event logs)
            close = getattr(resource, "close", None) or getattr(resource, "cleanup", None)
            with contextlib.suppress(Exception):
                close()


def graph_llm(config: UpConfig) -> LLMSettings | None:
    """The LLM settings the graph's nodes get: with an LLM planner on backend ``local``, one model server that
    this process starts and all of them share (:func:`fleetmind.app.llm.shared_server`)."""
    from fleetmind.app.llm import shared_server
    from fleetmind.app.scenario import load_scenario
    from fleetmind.planners.registry import LLM_PLANNERS

    scenario = load_scenario(config.scenario)
    if (config.planner or scenario.run.planner) not in LLM_PLANNERS:
        return config.llm
    return shared_server(config.llm or scenario.run.llm)


def _up(
    config: UpConfig,
    report: Callable[[str], None],
    on_state: Callable[[dict[str, Any], list[Proc]], None] | None,
    links: dict[str, dict[str, Any]],
) -> UpResult:
    import rclpy
    from rclpy.context import Context
    from std_msgs.msg import String

    nodes = node_graph(
        config.scenario,
        config.planner,
        graph_llm(config),
        None,
        config.seed,
        config.heartbeat_timeout_s,
        config.record,
        watchers=1,  # this process's monitor
        links=links,
    )
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    result = UpResult()
    started = time.monotonic()
    context = Context()
    rclpy.init(context=context, args=["fleetmind_up"])
    monitor = rclpy.create_node("fleetmind_up", context=context)
    states: list[dict[str, Any]] = []
    rosters: list[dict[str, Any]] = []
    # deep reader queue: the monitor sees every state, even when it spins late and several arrive at once
    monitor.create_subscription(String, rc.STATE_TOPIC, lambda m: states.append(json.loads(m.data)), rc.latched_qos(64))
    monitor.create_subscription(String, rc.ROSTER_TOPIC, lambda m: rosters.append(json.loads(m.data)), rc.latched_qos())
    from rclpy.executors import SingleThreadedExecutor

    executor = SingleThreadedExecutor(context=context)
    executor.add_node(monitor)
    procs: list[Proc] = []
    try:
        # the recorder first, so that the bag holds the episode from its first message
        for spec in sorted(nodes, key=lambda n: n.role != "recorder"):
            procs.append(start(spec, config.log_dir, env))
            if spec.role == "recorder":
                _wait_for_node(executor, monitor, spec, procs[-1], deadline=time.monotonic() + 30.0)
                _check_exits(procs, result, report)
                if result.aborted:  # e.g. a bag folder that exists: nothing else is started
                    return result
        report(
            f"fleetmind up: {len(procs)} processes ({', '.join(p.spec.fqn for p in procs)}); logs in {config.log_dir}"
        )
        while True:
            executor.spin_once(timeout_sec=0.1)
            while rosters:
                result.dropped = dict(rosters.pop(0).get("dropped", {}))
            while states:
                state = states.pop(0)
                result.state = state
                if on_state is not None:
                    on_state(state, procs)
                if state["done"]:
                    result.ran, result.success = True, bool(state["success"])
                    result.steps = int(state["metrics"].get("steps", state["step"]))
                    result.failure_reason = state["failure_reason"]
            if result.ran:
                # let the recorder take the last messages, and a roster the planner sent just before its final state
                # arrive (each spin runs one callback, so it can come after the state)
                linger = time.monotonic() + (1.0 if config.record else 0.5)
                while time.monotonic() < linger:
                    executor.spin_once(timeout_sec=0.1)
                while rosters:
                    result.dropped = dict(rosters.pop(0).get("dropped", {}))
                break
            _check_exits(procs, result, report)
            if result.aborted:
                break
            if time.monotonic() - started > config.timeout_s:
                result.aborted = f"no episode result within {config.timeout_s:.0f}s"
                break
    finally:
        stop_all(procs)
        executor.shutdown()
        monitor.destroy_node()
        rclpy.shutdown(context=context)
        result.seconds = time.monotonic() - started
    return result


def summary(config: UpConfig, result: UpResult) -> str:
    name = Path(str(config.scenario)).stem
    if not result.ran:
        return f"{name} over ROS 2: no episode result: {result.aborted}"
    line = (
        f"{name} over ROS 2 | planner {config.planner or 'scenario default'} | "
        f"success {result.success}, steps {result.steps}"
    )
    if result.failure_reason:
        line += f", failure {result.failure_reason}"
    if result.dropped:
        line += " | dropped: " + "; ".join(f"{r} ({why})" for r, why in sorted(result.dropped.items()))
    return line + f" | {result.seconds:.1f} s"
