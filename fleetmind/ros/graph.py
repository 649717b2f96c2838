"""The ROS 2 node graph of a scenario, computed once as data.

``launch/*.launch.py`` turn it into launch_ros actions and ``fleetmind up`` into processes with
``--ros-args``: both start exactly the nodes listed here, with these namespaces and parameters.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fleetmind.app.scenario import find_scenario, load_scenario
from fleetmind.planners.llm.config import LLMSettings
from fleetmind.planners.llm.ros_dialogue import AGENT_FRAMEWORKS
from fleetmind.planners.registry import check_plays
from fleetmind.robots.data import data_file
from fleetmind.robots.errors import BadInputError
from fleetmind.ros.common import model_parameters, scenario_robots

MODULES = {
    "fleetmind_world": "fleetmind.ros.world_node",
    "fleetmind_planner": "fleetmind.ros.planner_node",
    "fleetmind_agent": "fleetmind.ros.agent_node",
    "fleetmind_recorder": "fleetmind.ros.recorder_node",
    "fleetmind_bridge": "fleetmind.ros.bridge_node",
}


@dataclass(frozen=True)
class NodeSpec:
    """One node of the graph: ``role`` is world, planner, agent, recorder, bridge or description (ROS's own
    ``robot_state_publisher``, package ``robot_state_publisher``: started by ``ros2 launch`` only)."""

    role: str
    name: str
    executable: str
    namespace: str = ""
    parameters: dict[str, Any] = field(default_factory=dict)
    robot: str | None = None
    package: str = "fleetmind"

    @property
    def fqn(self) -> str:
        return f"{self.namespace}/{self.name}" if self.namespace else f"/{self.name}"

    def ros_args(self) -> list[str]:
        """``--ros-args`` for a plain process: node name, namespace and every parameter (YAML values)."""
        args = ["--ros-args", "-r", f"__node:={self.name}"]
        if self.namespace:
            args += ["-r", f"__ns:={self.namespace}"]
        for key, value in self.parameters.items():
            args += ["-p", f"{key}:={json.dumps(value)}"]
        return args


def node_graph(
    scenario: str | Path,
    planner: str | None = None,
    llm: LLMSettings | None = None,
    robots: Sequence[str] | None = None,
    seed: int | None = None,
    heartbeat_timeout_s: float = 2.0,
    record: str | Path | None = None,
    real: bool = False,
    watchers: int = 0,
    links: Mapping[str, Mapping[str, Any]] | None = None,
    descriptions: bool = False,
) -> list[NodeSpec]:
    """The nodes that run ``scenario``: the world, the planner, one ``fleetmind_agent`` per robot for DMAS / HMAS-1 /
    HMAS-2 and for HAS with LLM leaders (``has_llm_leaders``: each group's leader thinks in its robot's agent), and
    with ``record`` a recorder writing an MCAP rosbag2 there. ``robots`` restricts the per-robot nodes (default:
    all). The world starts the episode once every node of the graph (plus ``watchers`` others) subscribes
    to its state.

    Real robots (``real``, or any ``backend: firmware`` scenario): one lifecycle ``fleetmind_bridge`` per robot in
    its namespace, with its link from ``links[robot]`` (wire_id, udp_host / udp_port or serial_port, key_file), else
    from the scenario's ``world.firmware.robots``, else from ``config/bridge.yaml``; the world drives them
    (``links: bridges``) and the planner watches their heartbeats. ``descriptions`` adds ROS's
    ``robot_state_publisher`` per robot with the installed URDF as ``robot_description`` (launch files only)."""
    path = find_scenario(scenario)
    sc = load_scenario(path)
    framework = planner or sc.run.planner
    check_plays(framework, sc.world.task, "--planner" if planner else "")
    settings = llm or sc.run.llm
    real = real or sc.world.backend == "firmware"
    if real and sc.world.backend != "firmware":
        raise BadInputError(
            f"scenario {sc.name}: real robots run a backend: firmware scenario (e.g. mapf_lifelong_4_sitl); "
            f"this one has backend: {sc.world.backend}"
        )
    ids = list(scenario_robots(sc))  # the logical model: no SITL or physics starts here
    if robots is not None:
        unknown = sorted(set(robots) - set(ids))
        if unknown:
            raise BadInputError(f"robots {unknown} are not in scenario {sc.name} (robots: {', '.join(ids)})")
        ids = [r for r in ids if r in robots]
    where = str(path.resolve())
    llm_params = {f"llm.{k}": v for k, v in model_parameters(settings).items()}
    nodes: list[NodeSpec] = []
    world = {"scenario": where} | ({"seed": seed} if seed is not None else {})
    nodes.append(NodeSpec("world", "world", "fleetmind_world", "", world | ({"links": "bridges"} if real else {})))
    if real:
        nodes += [
            NodeSpec("bridge", "bridge", "fleetmind_bridge", f"/{r}", _bridge(sc, r, links), robot=r) for r in ids
        ]
    plan_params = {"scenario": where, "planner": framework, "heartbeat_timeout_s": heartbeat_timeout_s}
    if real:
        plan_params["monitor_heartbeats"] = "on"  # the bridges' heartbeats: a robot whose link died is dropped
    nodes.append(NodeSpec("planner", "planner", "fleetmind_planner", "", plan_params | llm_params))
    if framework in AGENT_FRAMEWORKS:
        for r in ids:
            params = {"scenario": where, "framework": framework, "robot": r} | llm_params
            nodes.append(NodeSpec("agent", "agent", "fleetmind_agent", f"/{r}", params, robot=r))
    if record is not None:
        others = [n.fqn for n in nodes]  # the recorder joins the world's start gate once it has heard them all
        params = {"path": str(record), "robots": ids, "expect_nodes": others}
        nodes.append(NodeSpec("recorder", "recorder", "fleetmind_recorder", "", params))
    if sc.world.backend == "pybullet":  # the world publishes /clock (physics time): stamps in simulated time
        for n in nodes:
            if n.role in ("planner", "agent"):
                n.parameters["use_sim_time"] = True
    listeners = sum(n.role in ("planner", "agent", "recorder") for n in nodes) + watchers
    nodes[0].parameters["min_subscribers"] = listeners
    if descriptions:
        urdf = data_file("urdf", "diff_drive.urdf").read_text(encoding="utf-8")
        for r in ids:
            params = {"robot_description": urdf, "frame_prefix": f"{r}/"}
            spec = NodeSpec("description", "robot_state_publisher", "robot_state_publisher", f"/{r}", params, r)
            nodes.append(dataclasses.replace(spec, package="robot_state_publisher"))
    return nodes


def _bridge(sc: Any, robot: str, links: Mapping[str, Mapping[str, Any]] | None) -> dict[str, Any]:
    """A bridge's parameters: its robot, autostart, the scenario's link timeout, and its link when known."""
    firmware = sc.world.firmware
    params: dict[str, Any] = {"robot": robot, "autostart": True}
    if firmware is not None:
        params["heartbeat_timeout_s"] = firmware.heartbeat_timeout
        for link in firmware.robots:
            if link.name == robot:
                fields = {"wire_id": link.wire_id, "serial_port": link.serial_port, "baudrate": link.baudrate}
                fields |= {"udp_host": link.udp_host, "udp_port": link.udp_port, "key_file": link.key_file}
                params |= {k: str(v) if k == "key_file" else v for k, v in fields.items() if v is not None}
    return params | dict((links or {}).get(robot, {}))


def launch_actions(nodes: Sequence[NodeSpec], config_dir: Path) -> list[Any]:
    """launch_ros actions for ``nodes`` (used by ``launch/*.launch.py``): a node in a robot's namespace goes in a
    ``GroupAction`` with ``PushRosNamespace``; each gets ``config/<role>.yaml`` (if present) then its own
    parameters."""
    from launch.actions import GroupAction
    from launch_ros.actions import Node, PushRosNamespace

    out: list[Any] = []
    for spec in nodes:
        defaults = config_dir / f"{spec.role}.yaml"
        params: list[Any] = [str(defaults)] if defaults.is_file() else []
        node = Node(
            package=spec.package,
            executable=spec.executable,
            name=spec.name,
            parameters=[*params, dict(spec.parameters)],
            output="screen",
        )
        out.append(GroupAction([PushRosNamespace(spec.namespace.strip("/")), node]) if spec.namespace else node)
    return out


def robots_argument(text: str) -> list[str] | None:
    """``robots:=robot_0,robot_2`` -> the list; empty or ``all`` -> ``None`` (every robot)."""
    names = [r.strip() for r in text.split(",") if r.strip()]
    return None if not names or names == ["all"] else names
