"""Shared test set-up: isolated ROS 2 environment for tests that use rclpy; scripted LLM servers on 127.0.0.1;
the ``serial`` mark on the modules that must run alone."""

from __future__ import annotations

import os

import pytest

# `make test` runs everything else on two workers (pytest-xdist), then these modules alone: they drive live
# processes (ROS 2 nodes, firmware SITL, the embedded model's server), sockets, heartbeats and signals in real time,
# so a second worker's load would eat the room their timeouts leave; the embedded model uses every core.
SERIAL = (
    "test_ros",
    "test_has_ros",
    "test_up_shared_model",
    "test_fw_",
    "test_process_tied",
    "test_llm_backends",
    "test_llm_stream",
    "test_llm_faults",
    "test_cli_infra",
)
PURE = ("test_fw_codec.py", "test_fw_drones.py", "test_fw_localization.py")  # test_fw_ modules with no live part


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        name = item.path.name
        if name.startswith(SERIAL) and name not in PURE:
            item.add_marker(pytest.mark.serial)


@pytest.fixture
def ros_env(tmp_path, monkeypatch):
    """Localhost-only discovery, a domain id unique to this test process, logs in a temp folder."""
    monkeypatch.setenv("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
    monkeypatch.setenv("ROS_DOMAIN_ID", str(1 + os.getpid() % 100))
    monkeypatch.setenv("ROS_LOG_DIR", str(tmp_path / "ros_log"))
    return tmp_path


@pytest.fixture
def server_factory():
    """Start scripted OpenAI-compatible servers (``OracleChatServer(**kw)``); all are stopped after the test."""
    from fleetmind.testing.llm_server import OracleChatServer

    servers: list[OracleChatServer] = []

    def make(**kw) -> OracleChatServer:
        s = OracleChatServer(**kw)
        s.start()
        servers.append(s)
        return s

    yield make
    for s in servers:
        s.stop()
