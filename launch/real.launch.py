"""Real robots: a ``backend: firmware`` scenario as the world node over one lifecycle ``fleetmind_bridge`` per robot
(``links: bridges``: grid actions become waypoints driven through each bridge's ``cmd_vel``), the planner and the
agents unchanged, and ``robot_state_publisher`` per robot with the installed URDF (``frame_prefix <robot>/``). Each
bridge's link (serial port or UDP address, key file) comes from the scenario's ``world.firmware.robots``, else from
``config/bridge.yaml`` (per robot under ``/<robot>/bridge``). The same graph as ``fleetmind up`` (which also starts
SITL robots for a scenario that names none).

    ros2 launch fleetmind real.launch.py scenario:=mapf_lifelong_4_sitl
"""

from pathlib import Path  # noqa: I001 - `launch` below is ROS's package, not the launch/ folder

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, OpaqueFunction
from launch.substitutions import LaunchConfiguration

CONFIG = Path(__file__).resolve().parents[1] / "config"  # share/fleetmind/config once installed


def _nodes(context, *args, **kwargs):
    from fleetmind.planners.llm.config import LLMSettings

    from fleetmind.ros.graph import launch_actions, node_graph

    def arg(name):
        return LaunchConfiguration(name).perform(context)

    graph = node_graph(
        arg("scenario"), arg("planner") or None, LLMSettings(backend=arg("llm")), real=True, descriptions=True
    )
    return launch_actions(graph, CONFIG)


def generate_launch_description():
    return LaunchDescription(
        [
            DeclareLaunchArgument(
                "scenario", default_value="mapf_lifelong_4_sitl", description="a backend: firmware scenario"
            ),
            DeclareLaunchArgument("planner", default_value="", description="planner (default: the scenario's)"),
            DeclareLaunchArgument("llm", default_value="oracle", description="LLM backend: openai, local, oracle"),
            OpaqueFunction(function=_nodes),
        ]
    )
