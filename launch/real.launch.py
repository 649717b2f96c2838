"""Real robots: one lifecycle ``fleetmind_bridge`` per robot (instead of the simulated world), the planner and
the agents. Bridge link settings (serial port / UDP address, key file) come from ``config/bridge.yaml``.

    ros2 launch fleetmind real.launch.py scenario:=boxnet1_2x2 planner:=hmas2 llm:=openai
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

    graph = node_graph(arg("scenario"), arg("planner") or None, LLMSettings(backend=arg("llm")), real=True)
    return launch_actions(graph, CONFIG)


def generate_launch_description():
    return LaunchDescription(
        [
            DeclareLaunchArgument("scenario", default_value="boxnet1_2x2", description="scenario file or name"),
            DeclareLaunchArgument("planner", default_value="hmas2", description="planner"),
            DeclareLaunchArgument("llm", default_value="openai", description="LLM backend: openai, local, oracle"),
            OpaqueFunction(function=_nodes),
        ]
    )
