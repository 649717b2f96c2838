"""The entry-point body every fleetmind node shares (:func:`run_node`; ``fleetmind.ros.world_node`` re-exports it)."""

from __future__ import annotations

import logging
import sys
from typing import Any

from rclpy.node import Node

from fleetmind.ros import common as rc


def _executor(threads: int, context: Any = None) -> Any:
    """rclpy's ``MultiThreadedExecutor`` (pinned 7.1.6) hands a task out again while it still waits in the thread
    pool, and submits it again: under load the pool fills with copies and the spinning thread walks an ever longer
    list of them holding the GIL. The world over 4 SITL bridges dispatched ~3,300 handlers a second for ~130 events,
    53% of its GIL time in ``Future.done``, and the step driving the robots starved (episodes ended in timeout).
    This one submits each task once; while the only ready work is a task already queued it sleeps a millisecond so
    the workers get the GIL."""
    import time

    from rclpy.executors import (
        ConditionReachedException,
        ExternalShutdownException,
        MultiThreadedExecutor,
        ShutdownException,
        TimeoutException,
    )

    class OnceMultiThreadedExecutor(MultiThreadedExecutor):
        def __init__(self, num_threads: int) -> None:
            super().__init__(num_threads=num_threads, context=context)
            self._queued: dict[int, Any] = {}  # id -> task submitted and not done

        def _spin_once_impl(self, timeout_sec: Any = None, wait_condition: Any = lambda: False) -> None:
            try:
                handler, _, _ = self.wait_for_ready_callbacks(timeout_sec, None, wait_condition)
            except (ExternalShutdownException, ShutdownException, TimeoutException, ConditionReachedException):
                return
            if id(handler) in self._queued:
                time.sleep(0.001)  # it waits for a worker: let the workers have the GIL
            else:
                self._queued[id(handler)] = handler
                self._executor.submit(handler)
            for key, task in list(self._queued.items()):
                if task.done():
                    del self._queued[key]
                    task.result()  # a callback's exception ends spin, as rclpy's own executor does

    return OnceMultiThreadedExecutor(threads)


def run_node(node_cls: type[Node], argv: list[str] | None = None) -> int:
    """Entry-point body shared by every fleetmind node: init, spin until Ctrl-C / SIGTERM / shutdown, clean up.

    Stopped by a signal, the process ends right after its own clean-up (node destroyed, rclpy shut down, logs
    flushed): the interpreter's shutdown would first join worker threads still in a model call, run ``atexit``
    hooks and collect every module, seconds on a loaded machine, past the 2 s a stopped node has."""
    import rclpy
    from rclpy.executors import ExternalShutdownException

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    for noisy in ("httpx", "httpx2", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    from fleetmind.robots.process import exit_soon_after_sigterm

    stop = exit_soon_after_sigterm(1.5)  # before rclpy.init, whose SIGTERM handler (clean shutdown) calls it too
    name = logging.getLogger(node_cls.__name__)
    code, interrupted = 0, False
    rclpy.init(args=sys.argv if argv is None else argv)
    node = None
    try:
        node = node_cls()
        if not stop.received:  # a SIGTERM before rclpy.init installed its handler has shut nothing down
            threads = int(getattr(node, "threads", 1))
            if threads > 1:  # e.g. the world over bridges: e-stop, odometry and poses while a step drives robots
                rclpy.spin(node, _executor(threads))
            else:
                rclpy.spin(node)
    except rc.ParameterError as exc:
        name.error("%s", exc)  # one line: which parameter and why
        code = 2
    except (KeyboardInterrupt, ExternalShutdownException):
        interrupted = True
    except Exception as exc:
        if not stop.received and rclpy.ok():
            raise
        interrupted = True  # e.g. a callback that published after a signal had shut the context down
        name.info("stopping: %s", exc)
    finally:
        try:
            if node is not None:
                node.destroy_node()
        finally:
            if rclpy.ok():
                rclpy.shutdown()
    if stop.received or interrupted:
        stop.exit_now(code)
    return code
