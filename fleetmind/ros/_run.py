"""The entry-point body every fleetmind node shares (:func:`run_node`; ``fleetmind.ros.world_node`` re-exports it)."""

from __future__ import annotations

import logging
import sys

from rclpy.node import Node

from fleetmind.ros import common as rc


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
                from rclpy.executors import MultiThreadedExecutor

                rclpy.spin(node, MultiThreadedExecutor(num_threads=threads))
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
