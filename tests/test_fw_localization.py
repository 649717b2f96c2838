"""Map-frame localization (odometry, external fixes over UDP/JSON) and the continuous-space separation rule: pure
code, hand-worked numbers, a manual clock."""

from __future__ import annotations

import json
import math
import socket
import time

import pytest
from fleetmind.firmware_bridge.localization import Localizer, Pose2D, UdpPoseFeed
from fleetmind.firmware_bridge.separation import keep_separation, pair_distances, segment_distance
from fleetmind.robots.clock import ManualClock
from fleetmind.robots.ids import RobotId

R0, R1, R2 = RobotId("robot_0"), RobotId("robot_1"), RobotId("robot_2")


def close(a: Pose2D, b: tuple[float, float, float], tol: float = 1e-9) -> bool:
    return all(abs(u - v) <= tol for u, v in zip(a.as_tuple(), b, strict=True))


def test_pose_algebra() -> None:
    t = Pose2D(1.0, 2.0, math.pi / 2)
    assert close(t.compose(Pose2D(1.0, 0.0, 0.0)), (1.0, 3.0, math.pi / 2))  # 1 m ahead of a robot facing +y
    assert close(t.compose(t.inverse()), (0.0, 0.0, 0.0))
    assert close(t.inverse().compose(Pose2D(1.0, 3.0, 0.0)), (1.0, 0.0, -math.pi / 2))


def test_odometry_through_the_start_transform() -> None:
    loc = Localizer([R0], clock=ManualClock())
    assert loc.pose(R0) is None and loc.source(R0) == "none"
    loc.set_origin(R0, Pose2D(2.0, 1.0, math.pi))  # odometry zeroed at (2, 1) facing -x
    loc.update_odometry(R0, Pose2D(0.5, 0.0, 0.0))  # 0.5 m forward
    assert close(loc.pose(R0), (1.5, 1.0, -math.pi))  # type: ignore[arg-type]
    assert loc.source(R0) == "odometry"
    # place(): the robot stands at (0.25, 0.75) now
    loc.place(R0, Pose2D(0.25, 0.75, 0.0))
    assert close(loc.pose(R0), (0.25, 0.75, 0.0))  # type: ignore[arg-type]
    assert close(loc.map_from_odom(R0), (-0.25, 0.75, 0.0))


def test_external_fix_wins_when_fresh_and_odometry_carries_on_between_fixes() -> None:
    clock = ManualClock()
    loc = Localizer([R0, R1], max_age=0.3, clock=clock)
    loc.set_origin(R0, Pose2D(0.0, 0.0, 0.0))
    assert not loc.push_external(R0, Pose2D(1.0, 1.0, 0.0))  # no odometry yet: nothing to anchor it to
    loc.update_odometry(R0, Pose2D(1.0, 0.0, 0.0))
    assert loc.push_external(R0, Pose2D(1.2, 0.1, math.pi / 2))  # odometry drifted: the fix says where it is
    assert close(loc.pose(R0), (1.2, 0.1, math.pi / 2)) and loc.source(R0) == "external"
    loc.update_odometry(R0, Pose2D(1.5, 0.0, 0.0))  # 0.5 m forward by odometry, i.e. along +y in the map
    assert close(loc.pose(R0), (1.2, 0.6, math.pi / 2), 1e-12)
    clock.advance(0.31)
    assert loc.source(R0) == "odometry"  # the fix went stale: the pose still carries its correction
    assert close(loc.pose(R0), (1.2, 0.6, math.pi / 2), 1e-12)
    assert not loc.push_external(R0, Pose2D(0.0, 0.0, 0.0), stamp=clock.now() - 0.5)  # taken too long ago
    assert loc.dropped == 2 and loc.fixes == 1
    assert loc.pose(R1) is None
    with pytest.raises(KeyError, match="unknown robot 'robot_9'"):
        loc.push_external(RobotId("robot_9"), Pose2D(0.0, 0.0, 0.0))


def test_udp_pose_feed_applies_fixes_and_drops_malformed_datagrams() -> None:
    loc = Localizer([R0], clock=ManualClock())
    loc.update_odometry(R0, Pose2D(0.0, 0.0, 0.0))
    feed = UdpPoseFeed(loc)
    sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        datagrams = [
            b"not json",
            json.dumps({"robot": "robot_0", "x": 1.0}).encode(),  # no y / yaw
            json.dumps({"robot": "robot_7", "x": 1.0, "y": 2.0, "yaw": 0.0}).encode(),  # unknown robot
            json.dumps({"robot": "robot_0", "x": 1.0, "y": 2.0, "yaw": 0.5, "frame_id": "odom"}).encode(),
            json.dumps({"robot": "robot_0", "x": 3.0, "y": 4.0, "yaw": 0.25}).encode(),
        ]
        for d in datagrams:
            sender.sendto(d, feed.address)
        used, end = 0, time.monotonic() + 5.0  # bounded: loopback datagrams are there at once
        while feed.received < len(datagrams) and time.monotonic() < end:
            used += feed.poll()
            time.sleep(0.001)
    finally:
        sender.close()
        feed.close()
    assert feed.received == 5 and feed.malformed == 4 and used == 1
    assert close(loc.pose(R0), (3.0, 4.0, 0.25)) and loc.source(R0) == "external"  # type: ignore[arg-type]


def test_separation_stops_the_robot_closing_in_and_never_the_one_moving_away() -> None:
    poses = {R0: (0.0, 0.0, 0.0), R1: (0.5, 0.0, 0.0)}  # R1 half a metre ahead of R0, same heading
    # gap 0.5, min 0.3, horizon 0.5: closing speed allowed (0.5 - 0.3) / (2 * 0.5) = 0.2 m/s
    out, slowed = keep_separation(poses, {R0: (0.5, 0.1), R1: (0.5, 0.0)}, 0.3, horizon=0.5)
    assert out[R0] == pytest.approx((0.2, 0.1)) and slowed == {R0}
    assert out[R1] == (0.5, 0.0)  # moving away: never limited
    poses[R1] = (0.29, 0.0, 0.0)  # inside the separation: R0 stops, but may still turn on the spot
    out, _ = keep_separation(poses, {R0: (0.5, 1.0), R1: (0.0, 0.0)}, 0.3)
    assert out[R0] == (0.0, 1.0)
    out, slowed = keep_separation(poses, {R0: (-0.3, 0.0)}, 0.3)  # reversing away from it
    assert out[R0] == (-0.3, 0.0) and not slowed
    # sideways past a neighbour (closing component 0): unlimited; towards an obstacle: limited like a robot
    out, _ = keep_separation({R0: (0.0, 0.0, math.pi / 2)}, {R0: (0.4, 0.0)}, 0.3, obstacles=[(0.35, 0.0)])
    assert out[R0] == (0.4, 0.0)
    out, _ = keep_separation({R0: (0.0, 0.0, 0.0)}, {R0: (0.4, 0.0)}, 0.3, obstacles=[(0.35, 0.0)])
    assert out[R0] == pytest.approx((0.05, 0.0))  # gap 0.05 over 2 x 0.5 s


def test_distances() -> None:
    d = pair_distances({R0: (0.0, 0.0), R1: (3.0, 4.0), R2: (0.0, 1.0)})
    assert d == {(R0, R1): 5.0, (R0, R2): 1.0, (R1, R2): pytest.approx(math.hypot(3.0, 3.0))}
    assert segment_distance((0.5, 0.2), (0.0, 0.0), (1.0, 0.0)) == pytest.approx(0.2)
    assert segment_distance((1.5, 0.0), (0.0, 0.0), (1.0, 0.0)) == pytest.approx(0.5)  # past the end
    assert segment_distance((0.3, 0.4), (0.0, 0.0), (0.0, 0.0)) == pytest.approx(0.5)  # a robot that waits
