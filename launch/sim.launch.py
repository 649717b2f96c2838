"""Simulated fleet: world, planner and (for DMAS / HMAS-1 / HMAS-2) one agent per robot, from the graph that
``fleetmind.ros.graph.node_graph`` computes for the scenario (the same graph ``fleetmind up`` starts).

    ros2 launch fleetmind sim.launch.py scenario:=boxnet1_2x2 planner:=hmas2 llm:=oracle record:=/tmp/bag
"""

from pathlib import Path  # noqa: I001 - `launch` below is ROS's package, not the launch/ folder

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, OpaqueFunction
from launch.substitutions import LaunchConfiguration

CONFIG = Path(__file__).resolve().parents[1] / "config"


def _nodes(context, *args, **kwargs):
    from fleetmind.planners.llm.config import LLMSettings

    from fleetmind.ros.graph import launch_actions, node_graph

    def arg(name):
        return LaunchConfiguration(name).perform(context)

    record = arg("record") or None
    nodes = node_graph(arg("scenario"), arg("planner") or None, LLMSettings(backend=arg("llm")), record=record)
    return launch_actions(nodes, CONFIG)


def generate_launch_description():
    return LaunchDescription(
        [
            DeclareLaunchArgument("scenario", default_value="boxnet1_2x2", description="scenario file or name"),
            DeclareLaunchArgument("planner", default_value="", description="planner (default: the scenario's)"),
            DeclareLaunchArgument("llm", default_value="oracle", description="LLM backend: openai, local, oracle"),
            DeclareLaunchArgument("record", default_value="", description="MCAP rosbag2 folder (empty: none)"),
            OpaqueFunction(function=_nodes),
        ]
    )
