"""Launch files checked without ``ros2 launch`` (it has no wheels): ``generate_launch_description()`` runs against
minimal stand-ins for ``launch`` / ``launch_ros``; every node must name a console script of setup.py and every
parameter file must exist; the config files must validate against the nodes' pydantic models."""

from __future__ import annotations

import re
import runpy
import sys
import types
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
LAUNCH_FILES = sorted((ROOT / "launch").glob("*.launch.py"))


class _Entity:
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.args, self.kwargs = args, kwargs


class LaunchDescription(_Entity):
    pass


class DeclareLaunchArgument(_Entity):
    pass


class GroupAction(_Entity):
    pass


class OpaqueFunction(_Entity):
    pass


class Node(_Entity):
    pass


class PushRosNamespace(_Entity):
    pass


class LaunchConfiguration:
    def __init__(self, name: str) -> None:
        self.name = name

    def perform(self, context: Any) -> str:
        return context.launch_configurations[self.name]


@pytest.fixture
def stand_ins(monkeypatch):
    modules = {
        "launch": {"LaunchDescription": LaunchDescription},
        "launch.actions": {
            "DeclareLaunchArgument": DeclareLaunchArgument,
            "GroupAction": GroupAction,
            "OpaqueFunction": OpaqueFunction,
        },
        "launch.substitutions": {"LaunchConfiguration": LaunchConfiguration},
        "launch_ros": {},
        "launch_ros.actions": {"Node": Node, "PushRosNamespace": PushRosNamespace},
    }
    for name, attrs in modules.items():
        module = types.ModuleType(name)
        module.__dict__.update(attrs)
        monkeypatch.setitem(sys.modules, name, module)


def _console_scripts() -> dict[str, str]:
    text = (ROOT / "setup.py").read_text()
    return dict(re.findall(r'"(\w+) = ([\w.]+):main"', text))


def _expand(path: Path, **overrides: str) -> list[tuple[str | None, Node]]:
    """Run the launch file; return ``(namespace pushed, Node)`` for every node it would start."""
    description = runpy.run_path(str(path))["generate_launch_description"]()
    assert isinstance(description, LaunchDescription)
    entities = list(description.args[0])
    defaults = {e.args[0]: e.kwargs["default_value"] for e in entities if isinstance(e, DeclareLaunchArgument)}
    assert all(e.kwargs.get("description") for e in entities if isinstance(e, DeclareLaunchArgument))
    context = types.SimpleNamespace(launch_configurations={**defaults, **overrides})
    out: list[tuple[str | None, Node]] = []

    def walk(items: list[Any], namespace: str | None) -> None:
        for e in items:
            if isinstance(e, OpaqueFunction):
                walk(list(e.kwargs["function"](context)), namespace)
            elif isinstance(e, GroupAction):
                pushed = [a.args[0] for a in e.args[0] if isinstance(a, PushRosNamespace)]
                walk([a for a in e.args[0] if not isinstance(a, PushRosNamespace)], pushed[0] if pushed else namespace)
            elif isinstance(e, Node):
                out.append((namespace, e))

    walk(entities, None)
    return out


def test_every_launch_file_is_checked():
    assert [p.name for p in LAUNCH_FILES] == ["fleet.launch.py", "real.launch.py", "sim.launch.py"]


@pytest.mark.parametrize("path", LAUNCH_FILES, ids=lambda p: p.name)
def test_launch_file_starts_installed_executables_with_existing_parameter_files(stand_ins, path):
    scripts = _console_scripts()
    nodes = _expand(path)
    assert nodes, f"{path.name} starts no node"
    for _, node in nodes:
        exe = node.kwargs["executable"]
        if node.kwargs["package"] == "robot_state_publisher":  # ROS's own (real.launch.py: robot_description)
            assert exe == "robot_state_publisher" and "robot_description" in node.kwargs["parameters"][-1]
            continue
        assert node.kwargs["package"] == "fleetmind"
        assert exe in scripts, f"{path.name}: {exe} is not a console script in setup.py"
        module = ROOT / (scripts[exe].replace(".", "/") + ".py")
        assert module.is_file(), f"{exe} -> {scripts[exe]} has no module file"
        files = [p for p in node.kwargs["parameters"] if isinstance(p, str)]
        assert all(Path(f).is_file() for f in files), files
        assert isinstance(node.kwargs["parameters"][-1], dict)


def test_sim_launch_matches_the_graph_fleetmind_up_starts(stand_ins):
    from fleetmind.ros.graph import node_graph

    nodes = _expand(ROOT / "launch" / "sim.launch.py", planner="hmas2")
    graph = node_graph("boxnet1_2x2", "hmas2")
    got = [(ns, n.kwargs["executable"], n.kwargs["parameters"][-1]) for ns, n in nodes]
    want = [(s.namespace.strip("/") or None, s.executable, s.parameters) for s in graph]
    assert got == want
    assert [exe for _, exe, _ in got] == ["fleetmind_world", "fleetmind_planner"] + ["fleetmind_agent"] * 4
    assert [ns for ns, _, _ in got][2:] == ["robot_0", "robot_1", "robot_2", "robot_3"]
    assert got[0][2]["min_subscribers"] == 5  # planner + four agents


def test_fleet_launch_groups_the_named_robots_in_their_namespaces(stand_ins):
    nodes = _expand(ROOT / "launch" / "fleet.launch.py", robots="robot_0,robot_2")
    assert [(ns, n.kwargs["executable"]) for ns, n in nodes] == [
        ("robot_0", "fleetmind_agent"),
        ("robot_2", "fleetmind_agent"),
    ]
    assert [n.kwargs["parameters"][-1]["robot"] for _, n in nodes] == ["robot_0", "robot_2"]
    with pytest.raises(ValueError, match=r"robots \['robot_9'\] are not in scenario boxnet1_2x2"):
        _expand(ROOT / "launch" / "fleet.launch.py", robots="robot_9")


def test_config_files_validate_against_the_node_models():
    from fleetmind.ros.agent_node import AgentParams
    from fleetmind.ros.bridge_node import BridgeParams
    from fleetmind.ros.planner_node import PlannerParams
    from fleetmind.ros.world_node import WorldParams

    models = (("world", WorldParams), ("planner", PlannerParams), ("agent", AgentParams), ("bridge", BridgeParams))
    for name, model in models:
        params = yaml.safe_load((ROOT / "config" / f"{name}.yaml").read_text())["/**"]["ros__parameters"]
        model.model_validate(({} if name == "bridge" else {"scenario": "boxnet1_2x2"}) | params)
    bad = {"scenario": "boxnet1_2x2", "heartbeat_timeout_s": 0}
    with pytest.raises(ValueError, match="greater than 0"):
        PlannerParams.model_validate(bad)
