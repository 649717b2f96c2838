"""The repository is one ament_python ROS 2 package with pinned dependencies and complete registries."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from importlib.metadata import entry_points
from pathlib import Path

from planners.oracle import ORACLES
from sim.grid import TASKS

ROOT = Path(__file__).resolve().parents[1]


def test_package_xml_is_format_3_ament_python_with_ros_deps():
    root = ET.parse(ROOT / "package.xml").getroot()
    assert root.tag == "package" and root.get("format") == "3"
    assert root.findtext("name") == "fleetmind"
    assert root.find("export/build_type").text == "ament_python"
    execs = {e.text for e in root.findall("exec_depend")}
    assert {"rclpy", "std_msgs", "geometry_msgs", "nav_msgs", "sensor_msgs", "diagnostic_msgs"} <= execs
    assert "python3-pytest" in {e.text for e in root.findall("test_depend")}
    assert (ROOT / "resource" / "fleetmind").exists()
    for pkg in ("robots", "planners", "sim", "firmware_bridge"):
        assert (ROOT / pkg / "py.typed").exists(), f"{pkg}/py.typed missing"


def test_console_script_and_data_files_are_declared():
    scripts = {e.name: e.value for e in entry_points(group="console_scripts")}
    assert scripts.get("fleetmind") == "sim.cli:main"
    setup = (ROOT / "setup.py").read_text()
    for folder in ("launch", "scenarios", "config"):
        assert f'_share("{folder}")' in setup
    assert "share/ament_index/resource_index/packages" in setup


def test_requirements_are_exact_pins_and_never_pypi_launch():
    lines = [ln.split("#")[0].strip() for ln in (ROOT / "requirements.txt").read_text().splitlines()]
    reqs = [ln for ln in lines if ln]
    assert reqs, "requirements.txt is empty"
    for req in reqs:
        assert re.fullmatch(r"[A-Za-z0-9_.\-]+(\[[a-z,]+\])?==[0-9][0-9A-Za-z.]*", req), f"not an exact pin: {req}"
    names = {re.split(r"[\[=]", r)[0].lower() for r in reqs}
    assert "launch" not in names and "launch-ros" not in names
    for needed in (
        "numpy",
        "numba",
        "pybullet",
        "openai",
        "langgraph",
        "pydantic",
        "pyyaml",
        "tqdm",
        "pytest",
        "hypothesis",
        "ruff",
        "ros-jazzy-rclpy",
        "ros-jazzy-std-msgs",
        "ros-jazzy-geometry-msgs",
        "ros-jazzy-nav-msgs",
        "ros-jazzy-sensor-msgs",
        "ros-jazzy-diagnostic-msgs",
    ):
        assert needed in names, f"{needed} is not pinned"


def test_every_task_module_is_registered_and_has_an_oracle():
    modules = {p.stem for p in (ROOT / "sim" / "grid").glob("*.py") if not p.stem.startswith("_")} - {"fleet"}
    assert set(TASKS) == modules, "sim/grid modules and the task registry differ"
    assert set(ORACLES) == set(TASKS), "every grid task needs an oracle planner"
