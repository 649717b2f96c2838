"""ROS 2 works from day one: a real rclpy node publishes a Twist that a second node receives."""

from __future__ import annotations

import time

import pytest
import rclpy  # real ROS 2 Jazzy wheels, installed by `make test`: never skipped


def test_twist_round_trip_between_two_real_nodes(ros_env):
    from geometry_msgs.msg import Twist
    from rclpy.context import Context
    from rclpy.executors import SingleThreadedExecutor

    context = Context()
    rclpy.init(context=context)
    try:
        talker = rclpy.create_node("fleet_talker", context=context)
        listener = rclpy.create_node("fleet_listener", context=context)
        received: list[Twist] = []
        listener.create_subscription(Twist, "/robot_0/cmd_vel", received.append, 10)
        pub = talker.create_publisher(Twist, "/robot_0/cmd_vel", 10)
        executor = SingleThreadedExecutor(context=context)
        executor.add_node(talker)
        executor.add_node(listener)

        msg = Twist()
        msg.linear.x = 0.25
        msg.angular.z = -0.5
        deadline = time.monotonic() + 10.0  # bounded spin
        while not received and time.monotonic() < deadline:
            pub.publish(msg)
            executor.spin_once(timeout_sec=0.05)

        assert received, "listener got no Twist on /robot_0/cmd_vel within 10 s"
        assert received[0].linear.x == pytest.approx(0.25)
        assert received[0].angular.z == pytest.approx(-0.5)
        assert pub.topic_name == "/robot_0/cmd_vel"
        executor.shutdown()
        talker.destroy_node()
        listener.destroy_node()
    finally:
        rclpy.shutdown(context=context)
    assert (ros_env / "ros_log").is_dir(), "ROS_LOG_DIR was not used"
