"""External poses over ROS (issue 14): the real-graph world node (``links: bridges``) subscribes
``<robot>/external_pose`` (PoseStamped in the map frame, relative name) and hands each fix to the executor's localizer,
stamp converted through its age; the fix wins while fresh and odometry carries the pose after. The bridge's clamped
``cmd_vel`` warning is rate-limited through ``logging``."""

from __future__ import annotations

import logging
import math

import pytest
from fleetmind.robots.clock import ManualClock

from tests.test_ros_bridge_lifecycle import _bridge
from tests.test_ros_nodes import ros  # noqa: F401 - the fixture

SITL_SCENARIO = "scenarios/mapf_lifelong_4_sitl.yaml"  # backend: firmware, 4 robots


def test_log_throttle_lets_one_warning_a_period_through_and_counts_the_rest(caplog):
    from fleetmind.ros.throttle import LogThrottle

    clock = ManualClock()
    throttle = LogThrottle(logging.getLogger("t"), period_s=5.0, clock=clock)
    with caplog.at_level(logging.WARNING, logger="t"):
        assert throttle.warning("a", "x=%d", 1)
        assert not throttle.warning("a", "x=%d", 2) and not throttle.warning("a", "x=%d", 3)
        assert throttle.warning("b", "other key")  # keys are throttled apart
        clock.advance(4.999)
        assert not throttle.warning("a", "x=%d", 4) and throttle.suppressed("a") == 3
        clock.advance(0.001)
        assert throttle.warning("a", "x=%d", 5) and throttle.suppressed("a") == 0
    assert [r.getMessage() for r in caplog.records] == ["x=1", "other key", "x=5 (3 more since the last)"]


def test_fix_age_and_yaw_are_converted_from_the_message():
    from fleetmind.ros.external_pose import fix_age, yaw_of

    assert fix_age(100.0, 100.25) == 0.25
    assert fix_age(100.5, 100.0) == 0.0  # a stamp ahead of our clock (another host's): age 0, not negative
    assert fix_age(0.0, 1e9) == 0.0  # unset stamp: taken as measured when received
    assert yaw_of(0.0, 0.0, math.sin(0.6), math.cos(0.6)) == pytest.approx(1.2)
    assert yaw_of(0.0, 0.0, 1.0, 0.0) == pytest.approx(math.pi)


def _pose_msg(frame: str, x: float, y: float, yaw: float, stamp_ns: int):
    from geometry_msgs.msg import PoseStamped

    msg = PoseStamped()
    msg.header.frame_id = frame
    msg.header.stamp.sec, msg.header.stamp.nanosec = divmod(stamp_ns, 1_000_000_000)
    msg.pose.position.x, msg.pose.position.y = x, y
    msg.pose.orientation.z, msg.pose.orientation.w = math.sin(yaw / 2), math.cos(yaw / 2)
    return msg


def _odom_msg(x: float, y: float, yaw: float):
    from nav_msgs.msg import Odometry

    msg = Odometry()
    msg.pose.pose.position.x, msg.pose.pose.position.y = x, y
    msg.pose.pose.orientation.z, msg.pose.pose.orientation.w = math.sin(yaw / 2), math.cos(yaw / 2)
    return msg


def test_a_pose_stamped_on_external_pose_moves_the_executor_s_map_pose(ros, caplog):  # noqa: F811
    import rclpy
    from geometry_msgs.msg import PoseStamped
    from nav_msgs.msg import Odometry

    from fleetmind.ros.world_node import WorldNode

    world = ros["make"](WorldNode, namespace="fleet_a", scenario=SITL_SCENARIO, links="bridges", autostart=False)
    heard = {s.topic_name for s in world.subscriptions}
    assert {f"/fleet_a/robot_{k}/external_pose" for k in range(4)} <= heard  # relative: the pushed namespace applies
    fleet, loc = world.fleet, world.fleet.localizer
    clock = loc.clock = ManualClock(1000.0)  # the localizer's clock; the stamps stay on the ROS clock
    loc.max_age = 5.0  # generous: in-process delivery on a loaded host; freshness is then decided on the manual clock
    probe = rclpy.create_node("mocap", namespace="fleet_a", context=ros["context"])
    ros["nodes"].append(probe)
    fix_pub = probe.create_publisher(PoseStamped, "robot_0/external_pose", 10)
    odom_pub = probe.create_publisher(Odometry, "robot_0/odom", 10)  # robot_0's bridge
    link = fleet.robots.links["robot_0"]

    odom_pub.publish(_odom_msg(1.0, 0.0, 0.0))
    assert ros["spin_until"](lambda: link.telemetry is not None, 10.0)
    now_ns = probe.get_clock().now().nanoseconds
    fix_pub.publish(_pose_msg("map", 3.0, 2.0, math.pi / 2, now_ns))
    assert ros["spin_until"](lambda: loc.fixes == 1, 10.0)
    assert loc.pose("robot_0").as_tuple() == pytest.approx((3.0, 2.0, math.pi / 2))  # the fix wins
    assert loc.source("robot_0") == "external"
    assert loc.map_from_odom("robot_0").as_tuple() == pytest.approx((3.0, 1.0, math.pi / 2))  # map <- robot_0/odom

    odom_pub.publish(_odom_msg(1.5, 0.0, 0.0))  # the robot drives 0.5 m ahead in its odometry frame
    assert ros["spin_until"](lambda: link.telemetry.x == 1.5, 10.0)
    fleet._read(fleet.clock.now())  # the executor's control tick reads the odometry
    assert loc.pose("robot_0").as_tuple() == pytest.approx((3.0, 2.5, math.pi / 2))  # ahead is +y in the map
    clock.advance(loc.max_age + 0.001)
    assert loc.source("robot_0") == "odometry" and loc.pose("robot_0").as_tuple() == pytest.approx(
        (3.0, 2.5, math.pi / 2)
    )

    with caplog.at_level(logging.WARNING, logger="fleetmind.ros.external_pose"):
        fix_pub.publish(_pose_msg("map", 9.0, 9.0, 0.0, now_ns - 10_000_000_000))  # measured 10 s ago: too old
        assert ros["spin_until"](lambda: loc.dropped == 1, 10.0)
        for _ in range(2):
            fix_pub.publish(_pose_msg("robot_0/odom", 9.0, 9.0, 0.0, probe.get_clock().now().nanoseconds))
        assert ros["spin_until"](lambda: world.external.refused == 2, 10.0)
    assert loc.fixes == 1 and loc.pose("robot_0").as_tuple() == pytest.approx((3.0, 2.5, math.pi / 2))
    refused = [r.getMessage() for r in caplog.records if "refused" in r.getMessage()]
    assert refused == [
        "robot_0: external pose in frame 'robot_0/odom' refused: publish it in 'map' (the world's frame_id)"
    ]
    assert any("external pose dropped: 10." in r.getMessage() and "max_age" in r.getMessage() for r in caplog.records)


def test_bridge_clamped_cmd_vel_warning_is_rate_limited(ros, caplog):  # noqa: F811
    from geometry_msgs.msg import TwistStamped

    bridge, _, clock, _ = _bridge(ros)
    cmd = TwistStamped()
    cmd.twist.linear.x = 2.0  # beyond max_linear 0.8
    with caplog.at_level(logging.WARNING, logger="fleetmind.ros.bridge_node"):
        for _ in range(50):  # 2 s of cmd_vel at 25 Hz
            bridge.on_cmd_vel(cmd)
            clock.advance(0.04)
        assert bridge.command == (0.8, 0.0)
        clock.advance(3.0)
        bridge.on_cmd_vel(cmd)
    clamped = [r.getMessage() for r in caplog.records if "clamped" in r.getMessage()]
    assert clamped == [
        "robot_0: cmd_vel (2.0, 0.0) clamped to (0.8, 0.0)",
        "robot_0: cmd_vel (2.0, 0.0) clamped to (0.8, 0.0) (49 more since the last)",
    ]
