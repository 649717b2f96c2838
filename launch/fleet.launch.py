"""Per-robot nodes only, for the robots named in ``robots:=`` (default: all), each in a ``GroupAction`` with
``PushRosNamespace``: run it on a robot's own computer while world and planner run elsewhere.

    ros2 launch fleetmind fleet.launch.py scenario:=boxnet1_2x2 planner:=dmas robots:=robot_0,robot_1
"""

from pathlib import Path  # noqa: I001 - `launch` below is ROS's package, not the launch/ folder

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, OpaqueFunction
from launch.substitutions import LaunchConfiguration

CONFIG = Path(__file__).resolve().parents[1] / "config"


def _nodes(context, *args, **kwargs):
    from fleetmind.planners.llm.config import LLMSettings

    from fleetmind.ros.graph import launch_actions, node_graph, robots_argument

    def arg(name):
        return LaunchConfiguration(name).perform(context)

    robots = robots_argument(arg("robots"))
    real = arg("real").lower() == "true"
    graph = node_graph(arg("scenario"), arg("planner") or None, LLMSettings(backend=arg("llm")), robots, real=real)
    return launch_actions([n for n in graph if n.robot is not None], CONFIG)


def generate_launch_description():
    return LaunchDescription(
        [
            DeclareLaunchArgument("scenario", default_value="boxnet1_2x2", description="scenario file or name"),
            DeclareLaunchArgument("planner", default_value="dmas", description="dmas, hmas1 or hmas2"),
            DeclareLaunchArgument("llm", default_value="oracle", description="LLM backend: openai, local, oracle"),
            DeclareLaunchArgument("robots", default_value="all", description="comma-separated robot ids, or all"),
            DeclareLaunchArgument("real", default_value="false", description="true: also a bridge per robot"),
            OpaqueFunction(function=_nodes),
        ]
    )
