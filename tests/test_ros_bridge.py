"""``fleetmind_bridge`` on real rclpy against the reference firmware as a host process (SITL over UDP):
lifecycle configure/activate, cmd_vel in -> odometry out, and on a dead link it stops and deactivates."""

from __future__ import annotations

import time

import pytest

from tests.test_ros_nodes import ros  # noqa: F401 - the fixture

pytestmark = pytest.mark.skipif(
    __import__("shutil").which("gcc") is None, reason="the SITL firmware needs gcc to build"
)


def _state(ros_fixture, node) -> str:
    from lifecycle_msgs.srv import GetState

    client = node.create_client(GetState, "/robot_0/bridge/get_state")
    assert client.wait_for_service(timeout_sec=5.0)
    future = client.call_async(GetState.Request())
    assert ros_fixture["spin_until"](future.done, 5.0)
    return future.result().current_state.label


def test_bridge_lifecycle_drives_the_firmware_and_deactivates_on_link_loss(ros):  # noqa: F811
    from diagnostic_msgs.msg import DiagnosticArray
    from geometry_msgs.msg import Twist
    from nav_msgs.msg import Odometry
    from rclpy.lifecycle import TransitionCallbackReturn

    from fleetmind.ros.bridge_node import BridgeNode
    from fleetmind.testing.sitl import Sitl, build_sitl
    from tests.test_ros_nodes import _listen

    binary = build_sitl()
    sitl = Sitl("udp", robot_id=7, binary=binary)
    try:
        params = {"wire_id": 7, "udp_host": "127.0.0.1", "udp_port": sitl.udp[1], "heartbeat_timeout_s": 0.5}
        bridge = ros["make"](BridgeNode, "robot_0", **params)
        odom = _listen(ros, Odometry, "/robot_0/odom")
        beats = _listen(ros, DiagnosticArray, "/diagnostics")
        assert _state(ros, bridge) == "unconfigured"
        assert bridge.trigger_configure() == TransitionCallbackReturn.SUCCESS
        assert bridge.trigger_activate() == TransitionCallbackReturn.SUCCESS
        assert _state(ros, bridge) == "active"
        pub = bridge.create_publisher(Twist, "/robot_0/cmd_vel", 10)
        cmd = Twist()
        cmd.linear.x = 2.0  # beyond max_linear: clamped to 0.8 m/s
        end = time.monotonic() + 1.5
        while time.monotonic() < end:
            pub.publish(cmd)
            ros["executor"].spin_once(timeout_sec=0.02)
        assert ros["spin_until"](lambda: len(odom) > 5, 3.0)
        assert odom[-1].pose.pose.position.x > 0.2, "the robot did not move forward"
        assert 0.0 < odom[-1].twist.twist.linear.x <= 0.8 + 1e-3
        assert odom[-1].child_frame_id == "robot_0/base_link"
        assert any(s.hardware_id == "robot_0" and s.name == "fleetmind_bridge/robot_0" for b in beats for s in b.status)

        sitl.close()  # the robot goes silent
        assert ros["spin_until"](lambda: bridge.last_error is not None, 3.0)
        assert bridge.last_error.startswith("link lost")
        assert _state(ros, bridge) == "inactive"
        assert bridge.timer is None  # no more commands streamed
    finally:
        sitl.close()


def test_bridge_refuses_to_configure_without_a_link(ros):  # noqa: F811
    from rclpy.lifecycle import TransitionCallbackReturn

    from fleetmind.ros.bridge_node import BridgeNode

    bridge = ros["make"](BridgeNode, "robot_0", **{"wire_id": 7})
    assert bridge.trigger_configure() == TransitionCallbackReturn.FAILURE
    assert "give either serial_port or udp_host + udp_port" in (bridge.last_error or "")
    with pytest.raises(Exception, match="wire_id"):
        ros["make"](BridgeNode, "robot_1", **{"wire_id": -1})
