"""``fleetmind_bridge`` on real rclpy: its deadlines on a manual clock against an in-process robot double (stale
cmd_vel -> zero velocity, a silent robot -> stop, disarm, deactivate, to the millisecond), and end to end against
the reference firmware as a host process (SITL over UDP): lifecycle configure/activate, cmd_vel in -> odometry
out, and on a dead link it stops and deactivates (behaviour and order; bounds in seconds)."""

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


def test_bridge_deadlines_on_a_manual_clock(ros):  # noqa: F811
    from fleetmind.firmware_bridge import messages as wire
    from fleetmind.robots.clock import ManualClock
    from geometry_msgs.msg import Twist
    from rclpy.lifecycle import TransitionCallbackReturn
    from rclpy.parameter import Parameter

    from fleetmind.ros.bridge_node import BridgeNode
    from fleetmind.testing.robot_double import RobotDouble

    clock = ManualClock()
    robot = RobotDouble(clock, 7)
    params = {"wire_id": 7, "udp_host": "127.0.0.1", "udp_port": 9, "heartbeat_timeout_s": 0.2}
    params |= {"command_timeout_s": 0.3, "period_s": 0.04}
    bridge = BridgeNode(
        clock=clock,
        open_transport=lambda cfg: robot,
        context=ros["context"],
        namespace="robot_0",
        parameter_overrides=[Parameter(k, value=v) for k, v in params.items()],
    )
    ros["nodes"].append(bridge)  # not spun: the test calls tick() itself, in simulated time
    assert bridge.trigger_configure() == TransitionCallbackReturn.SUCCESS
    assert bridge.trigger_activate() == TransitionCallbackReturn.SUCCESS and robot.armed

    cmd = Twist()
    cmd.linear.x = 0.5
    bridge.on_cmd_vel(cmd)
    t_cmd = clock.now()
    for _ in range(10):  # the node's timer, every period_s
        clock.advance(0.04)
        bridge.tick()
    sent = [(round(t - t_cmd, 3), v) for t, v, _ in robot.velocities() if t > t_cmd]
    # the command streams while it is at most command_timeout_s old, then zero velocity
    assert sent == [(0.04 * k, 0.5) for k in range(1, 8)] + [(0.04 * k, 0.0) for k in range(8, 11)]

    bridge.on_cmd_vel(cmd)
    robot.to_host = False  # the robot still hears the bridge, but the bridge no longer hears the robot
    bridge.link.poll(0.0)  # what was already on the wire
    last = bridge.link.monitor.last_seen  # the last verified frame (telemetry or ack)
    assert last is not None
    clock.advance(last + 0.199 - clock.now())
    bridge.tick()
    assert bridge.last_error is None and bridge.timer is not None  # 199 ms of silence: still driving
    assert robot.received[-1].message == wire.SetVelocityMsg(0.5, 0.0) and robot.v == 0.5
    clock.advance(0.002)
    bridge.tick()
    assert bridge.last_error == "link lost: no telemetry for 0.2s"  # 201 ms: lost
    assert bridge.timer is None  # no more commands streamed
    assert [r.message for r in robot.received[-2:]] == [wire.SetVelocityMsg(0.0, 0.0), wire.Disarm()]
    assert robot.v == 0.0 and not robot.armed  # motors commanded to zero, then disarmed
    ros["executor"].add_node(bridge)
    assert _state(ros, bridge) == "unconfigured"  # deactivated, then on_error closed the link


def test_bridge_lifecycle_drives_the_firmware_and_deactivates_on_link_loss(ros):  # noqa: F811
    from diagnostic_msgs.msg import DiagnosticArray
    from geometry_msgs.msg import TwistStamped
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
        pub = bridge.create_publisher(TwistStamped, "/robot_0/cmd_vel", 10)
        cmd = TwistStamped()
        cmd.twist.linear.x = 2.0  # beyond max_linear: clamped to 0.8 m/s
        end = time.monotonic() + 1.5
        while time.monotonic() < end:
            pub.publish(cmd)
            ros["executor"].spin_once(timeout_sec=0.02)
        assert ros["spin_until"](lambda: len(odom) > 5, 10.0)
        assert odom[-1].pose.pose.position.x > 0.2, "the robot did not move forward"
        assert 0.0 < odom[-1].twist.twist.linear.x <= 0.8 + 1e-3
        assert (odom[-1].header.frame_id, odom[-1].child_frame_id) == ("robot_0/odom", "robot_0/base_link")
        assert ros["spin_until"](lambda: any(s.message == "driving" for b in beats for s in b.status), 5.0)
        ours = [s for b in beats for s in b.status if s.name == "fleetmind_bridge/robot_0"]
        assert ours and all(s.hardware_id == "robot_0" for s in ours)

        sitl.close()  # the robot goes silent
        assert ros["spin_until"](lambda: bridge.last_error is not None, 10.0)
        assert bridge.last_error.startswith("link lost")
        assert _state(ros, bridge) == "unconfigured"  # deactivate -> on_error (robot stopped, link closed)
        assert bridge.timer is None and bridge.link is None  # no more commands streamed
        n = len(beats)
        assert ros["spin_until"](lambda: len(beats) > n + 1, 5.0)  # diagnostics go on, now at ERROR
        last = [s for b in beats[n:] for s in b.status if s.name == "fleetmind_bridge/robot_0"][-1]
        assert last.level == bytes([2]) and "link closed" in last.message
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
