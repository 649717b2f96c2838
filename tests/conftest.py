"""Shared test set-up: isolated ROS 2 environment for tests that use rclpy."""

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
