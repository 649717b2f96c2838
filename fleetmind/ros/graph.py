"""The ROS 2 node graph of a scenario, computed once as data.

``launch/*.launch.py`` turn it into launch_ros actions and ``fleetmind up`` into processes with
``--ros-args``: both start exactly the nodes listed here, with these namespaces and parameters.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fleetmind.app.scenario import find_scenario, load_scenario
from fleetmind.planners.llm.config import LLMSettings
from fleetmind.planners.llm.ros_dialogue import AGENT_FRAMEWORKS
from fleetmind.planners.registry import check_plays
from fleetmind.robots.errors import BadInputError
from fleetmind.ros.common import model_parameters

MODULES = {
    "fleetmind_world": "fleetmind.ros.world_node",
    "fleetmind_planner": "fleetmind.ros.planner_node",
    "fleetmind_agent": "fleetmind.ros.agent_node",
    "fleetmind_recorder": "fleetmind.ros.recorder_node",
    "fleetmind_bridge": "fleetmind.ros.bridge_node",
}


@dataclass(frozen=True)
class NodeSpec:
    """One node of the graph: ``role`` is world, planner, agent, recorder or bridge."""

    role: str
    name: str
    executable: str
    namespace: str = ""
    parameters: dict[str, Any] = field(default_factory=dict)
    robot: str | None = None

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
) -> list[NodeSpec]:
    """The nodes that run ``scenario``: the world (or, with ``real``, one ``fleetmind_bridge`` per robot),
    the planner, one ``fleetmind_agent`` per robot for DMAS / HMAS-1 / HMAS-2, and with ``record`` a
    recorder writing an MCAP rosbag2 there. ``robots`` restricts the per-robot nodes (default: all). The world
    starts the episode once every node of the graph (plus ``watchers`` others) subscribes to its state."""
    path = find_scenario(scenario)
    sc = load_scenario(path)
    framework = planner or sc.run.planner
    check_plays(framework, sc.world.task, "--planner" if planner else "")
    settings = llm or sc.run.llm
    fleet = sc.make_fleet()
    ids = list(fleet.robot_ids)
    fleet.close()
    if robots is not None:
        unknown = sorted(set(robots) - set(ids))
        if unknown:
            raise BadInputError(f"robots {unknown} are not in scenario {sc.name} (robots: {', '.join(ids)})")
        ids = [r for r in ids if r in robots]
    where = str(path.resolve())
    llm_params = {f"llm.{k}": v for k, v in model_parameters(settings).items()}
    nodes: list[NodeSpec] = []
    if real:
        nodes += [NodeSpec("bridge", "bridge", "fleetmind_bridge", f"/{r}", {"robot": r}, robot=r) for r in ids]
    else:
        world = {"scenario": where} | ({"seed": seed} if seed is not None else {})
        nodes.append(NodeSpec("world", "world", "fleetmind_world", "", world))
    plan_params = {"scenario": where, "planner": framework, "heartbeat_timeout_s": heartbeat_timeout_s}
    nodes.append(NodeSpec("planner", "planner", "fleetmind_planner", "", plan_params | llm_params))
    if framework in AGENT_FRAMEWORKS:
        for r in ids:
            params = {"scenario": where, "framework": framework, "robot": r} | llm_params
            nodes.append(NodeSpec("agent", "agent", "fleetmind_agent", f"/{r}", params, robot=r))
    if record is not None:
        others = [n.fqn for n in nodes]  # the recorder joins the world's start gate once it has heard them all
        params = {"path": str(record), "robots": ids, "expect_nodes": others}
        nodes.append(NodeSpec("recorder", "recorder", "fleetmind_recorder", "", params))
    if not real:
        listeners = sum(n.role in ("planner", "agent", "recorder") for n in nodes) + watchers
        nodes[0].parameters["min_subscribers"] = listeners
    return nodes


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
            package="fleetmind",
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
