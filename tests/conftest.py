"""Shared test set-up: isolated ROS 2 environment for tests that use rclpy; scripted LLM servers on 127.0.0.1."""

from __future__ import annotations

import os

import pytest


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
