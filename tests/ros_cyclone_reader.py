"""A non-ROS DDS participant (Cyclone DDS, Python) reading a robot's odometry from ``fleetmind_world`` (Fast DDS).

Run by tests/test_ros_wire.py inside an isolated network namespace: ``python ros_cyclone_reader.py ROBOT``
starts ``fleetmind_world`` on boxnet1_2x2, reads ``rt/<ROBOT>/odom`` as ``nav_msgs::msg::dds_::Odometry_``
with types declared here from the ROS message definitions, prints one JSON line and stops the world.
"""

# no `from __future__ import annotations`: Cyclone DDS resolves the IDL field annotations at run time

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from cyclonedds.domain import DomainParticipant
from cyclonedds.idl import IdlStruct
from cyclonedds.idl.types import array, float64, int32, uint32
from cyclonedds.sub import DataReader
from cyclonedds.topic import Topic


@dataclass
class Time_(IdlStruct, typename="builtin_interfaces::msg::dds_::Time_"):
    sec: int32
    nanosec: uint32


@dataclass
class Header_(IdlStruct, typename="std_msgs::msg::dds_::Header_"):
    stamp: Time_
    frame_id: str


@dataclass
class Point_(IdlStruct, typename="geometry_msgs::msg::dds_::Point_"):
    x: float64
    y: float64
    z: float64


@dataclass
class Quaternion_(IdlStruct, typename="geometry_msgs::msg::dds_::Quaternion_"):
    x: float64
    y: float64
    z: float64
    w: float64


@dataclass
class Pose_(IdlStruct, typename="geometry_msgs::msg::dds_::Pose_"):
    position: Point_
    orientation: Quaternion_


@dataclass
class PoseWithCovariance_(IdlStruct, typename="geometry_msgs::msg::dds_::PoseWithCovariance_"):
    pose: Pose_
    covariance: array[float64, 36]


@dataclass
class Vector3_(IdlStruct, typename="geometry_msgs::msg::dds_::Vector3_"):
    x: float64
    y: float64
    z: float64


@dataclass
class Twist_(IdlStruct, typename="geometry_msgs::msg::dds_::Twist_"):
    linear: Vector3_
    angular: Vector3_


@dataclass
class TwistWithCovariance_(IdlStruct, typename="geometry_msgs::msg::dds_::TwistWithCovariance_"):
    twist: Twist_
    covariance: array[float64, 36]


@dataclass
class Odometry_(IdlStruct, typename="nav_msgs::msg::dds_::Odometry_"):
    header: Header_
    child_frame_id: str
    pose: PoseWithCovariance_
    twist: TwistWithCovariance_


def main() -> None:
    robot = sys.argv[1]
    exe = Path(sys.executable).parent / "fleetmind_world"
    world = subprocess.Popen(
        [str(exe), "--ros-args", "-p", "scenario:=scenarios/boxnet1_2x2.yaml", "-p", "state_period_s:=0.2"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        participant = DomainParticipant(int(os.environ["ROS_DOMAIN_ID"]))
        reader = DataReader(participant, Topic(participant, f"rt/{robot}/odom", Odometry_))
        started, samples = time.monotonic(), []
        while time.monotonic() - started < 30 and not samples:
            samples = reader.take(N=5)
            time.sleep(0.05)
        got = [
            {
                "frame_id": s.header.frame_id,
                "child_frame_id": s.child_frame_id,
                "x": s.pose.pose.position.x,
                "y": s.pose.pose.position.y,
                "qw": s.pose.pose.orientation.w,
            }
            for s in samples
        ]
        print(json.dumps({"samples": got, "seconds": round(time.monotonic() - started, 2)}))
    finally:
        world.terminate()
        world.wait(timeout=10)


if __name__ == "__main__":
    main()
