"""The repository is one ament_python ROS 2 package with pinned dependencies and complete registries."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from importlib.metadata import entry_points
from pathlib import Path

import pytest
from fleetmind.tasks import TASKS, GridTaskPlugin, get_task

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
    for pkg in ("fleetmind", "robots", "tasks", "planners", "sim", "firmware_bridge"):
        assert (ROOT / pkg / "py.typed").exists(), f"{pkg}/py.typed missing"


def test_console_script_and_data_files_are_declared():
    scripts = {e.name: e.value for e in entry_points(group="console_scripts")}
    assert scripts.get("fleetmind") == "fleetmind.cli:main"
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


def test_the_task_registry_matches_the_task_folders():
    folders = {p.parent.name for p in (ROOT / "tasks").glob("*/__init__.py")}
    folders.discard("swarm")  # the swarm tasks: their own registry (fleetmind.tasks.swarm), checked below
    assert set(TASKS) == folders, "tasks/ folders and the task registry differ"
    from fleetmind.tasks.swarm import SWARM_TASKS

    assert sorted(SWARM_TASKS) == ["aggregation", "kuramoto", "vicsek"]
    assert all(t.name == n and t.make_config().agents >= 1 for n, t in SWARM_TASKS.items())
    for name in TASKS:
        task = get_task(name)
        assert task.name == name and task.config.model_fields["task"].annotation.__args__ == (name,)
        if isinstance(task, GridTaskPlugin):
            assert task.make_oracle().plan, f"{name}: every grid task has an oracle planner"
            assert task.rules_text and task.paper_sizes, f"{name}: prompt text and paper sizes"


def test_the_wheel_installs_one_top_level_package_fleetmind(tmp_path):
    """Generic names like ``sim`` or ``robots`` never land in a user's site-packages."""
    import shutil
    import subprocess
    import sys
    import zipfile

    # Build from a copy: setuptools keeps build/ in the source tree, and stale files there would leak into wheels.
    src = tmp_path / "src"
    skip = shutil.ignore_patterns(".*", "build", "dist", "runs", "*.egg-info", "__pycache__")
    shutil.copytree(ROOT, src, ignore=skip)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(tmp_path),
            str(src),
        ],
        check=True,
        timeout=300,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("fleetmind-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/")[0] for n in names if not n.split("/")[0].endswith((".dist-info", ".data"))}
    assert tops == {"fleetmind"}
    for module in (
        "robots/fleet.py",
        "tasks/boxnet1/rules.py",
        "sim/grid/fleet.py",
        "planners/registry.py",
        "firmware_bridge/link.py",
        "app/runner.py",
        "ros/world_node.py",
        "testing/llm_server.py",
    ):
        assert f"fleetmind/{module}" in names, module
    assert "fleetmind/tasks/mapf_lifelong/maps/test-maps.yaml" in names
    assert "fleetmind/firmware_bridge/firmware/fw_core.c" in names
    data = {n.split(".data/data/", 1)[1] for n in names if ".data/data/" in n}  # data_files: share/fleetmind/...
    for shared in ("urdf/diff_drive.urdf", "maps/test-maps.yaml", "scenarios/warehouse_4.yaml", "config/world.yaml"):
        assert f"share/fleetmind/{shared}" in data, shared


def test_data_is_found_through_the_ament_index_after_a_plain_install(tmp_path, monkeypatch):
    """A colcon / pip install puts data under <prefix>/share/fleetmind; ament_index_python finds the prefix."""
    from fleetmind.robots import data

    prefix = tmp_path / "install"
    share = prefix / "share" / "fleetmind"
    (prefix / "share" / "ament_index" / "resource_index" / "packages").mkdir(parents=True)
    (prefix / "share" / "ament_index" / "resource_index" / "packages" / "fleetmind").write_text("")
    for kind, name in (("urdf", "only_installed.urdf"), ("scenarios", "only_installed.yaml")):
        (share / kind).mkdir(parents=True)
        (share / kind / name).write_text("<robot/>")
    monkeypatch.setenv("AMENT_PREFIX_PATH", str(prefix))
    assert data.ament_share() == share
    assert data.data_dirs("urdf")[0] == ROOT / "robots" / "urdf"  # a source checkout comes first
    assert share / "urdf" in data.data_dirs("urdf")
    assert data.data_file("urdf", "only_installed.urdf") == share / "urdf" / "only_installed.urdf"
    assert data.data_file("urdf", "diff_drive.urdf") == ROOT / "robots" / "urdf" / "diff_drive.urdf"
    from fleetmind.app.scenario import find_scenario

    assert find_scenario("only_installed") == share / "scenarios" / "only_installed.yaml"
    with pytest.raises(FileNotFoundError, match="urdf file 'nope.urdf' not found in .*robots/urdf"):
        data.data_file("urdf", "nope.urdf")
    with pytest.raises(ValueError, match="unknown data kind 'meshes'"):
        data.data_dirs("meshes")
    monkeypatch.delenv("AMENT_PREFIX_PATH")
    assert data.ament_share() is None  # no ROS environment: the source checkout / sys.prefix fallbacks


def test_package_xml_names_every_runtime_dependency_as_a_rosdep_key():
    root = ET.parse(ROOT / "package.xml").getroot()
    execs = {e.text: e.get("condition") for e in root.findall("exec_depend")}
    for key in ("python3-numpy", "python3-yaml", "python3-serial", "python3-pydantic-pip", "python3-mcap-pip"):
        assert key in execs, key
    for key in ("python3-rosbags-pip", "python3-pymavlink-pip", "python3-openai-pip", "python3-langgraph-pip"):
        assert key in execs, key
    assert "python3-numba-pip" in execs and {"tf2_msgs", "rosgraph_msgs", "ament_index_python"} <= set(execs)
    assert execs["python3-pybullet-pip"] == "$FLEETMIND_PYBULLET == 1"  # optional: no wheel for Python 3.12
    setup = (ROOT / "setup.py").read_text()
    assert 'python_requires=">=3.10,<3.13"' in setup and '"pybullet": ["pybullet' in setup
    assert "pybullet" not in setup.split("install_requires=[")[1].split("]")[0]


def test_kernel_key_follows_every_kernel_file_s_contents(tmp_path):
    """Numba checks only a cached function's own file; the cache folder's key covers every kernel module, so a change
    to a callee in another file starts a fresh cache instead of loading stale machine code."""
    from fleetmind import kernel_sources_key

    a, b = tmp_path / "a_kernels.py", tmp_path / "b_kernels.py"
    a.write_text("x = 1\n")
    b.write_text("y = 2\n")
    key = kernel_sources_key([a, b])
    assert re.fullmatch(r"[0-9a-f]{16}", key) and kernel_sources_key([b, a]) == key  # order does not matter
    b.write_text("y = 3\n")  # only the callee's file changed
    assert kernel_sources_key([a, b]) != key
    b.write_text("y = 2\n")
    assert kernel_sources_key([a, b]) == key


def test_numba_caches_in_a_folder_keyed_on_the_kernels_unless_the_user_chose_one(tmp_path):
    import os
    import subprocess
    import sys

    from fleetmind import KERNEL_PACKAGES, kernel_sources_key

    code = "import fleetmind.planners.mapf._kernels, numba; print(numba.config.CACHE_DIR)"
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"} | {"XDG_CACHE_HOME": str(tmp_path)}
    got = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    files = [p for name in KERNEL_PACKAGES for p in (ROOT / name).rglob("*_kernels.py")]
    assert len(files) >= 15  # every kernel module of the checkout
    assert got.stdout.strip() == str(tmp_path / "fleetmind" / "numba" / kernel_sources_key(files)), got.stderr
    env["NUMBA_CACHE_DIR"] = str(tmp_path / "mine")
    got = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert got.stdout.strip() == str(tmp_path / "mine"), got.stderr


def test_a_new_keyed_cache_removes_the_ones_unused_for_a_month(tmp_path):
    import os
    import subprocess
    import sys
    import time

    base = tmp_path / "fleetmind" / "numba"
    old, recent = base / "0123456789abcdef", base / "fedcba9876543210"
    for folder in (old, recent):
        (folder / "x").mkdir(parents=True)
    month = time.time() - 31 * 86400
    os.utime(old, (month, month))
    week = time.time() - 7 * 86400
    os.utime(recent, (week, week))
    code = "import fleetmind, os; print(os.environ['NUMBA_CACHE_DIR'])"
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"} | {"XDG_CACHE_HOME": str(tmp_path)}
    got = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    key = Path(got.stdout.strip())
    assert key.parent == base and key.is_dir(), got.stderr
    assert not old.exists() and recent.is_dir()  # a month unused goes; last week's stays
    assert time.time() - key.stat().st_mtime < 60  # marked as used now
    os.utime(key, (month, month))
    subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120, check=True)
    assert key.is_dir() and time.time() - key.stat().st_mtime < 60  # the folder in use is never removed
