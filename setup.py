"""fleetmind: one ROS 2 ament_python package; also pip-installable into a plain venv."""

from glob import glob

from setuptools import find_packages, setup

PACKAGE = "fleetmind"
# The repository keeps the top-level folders its users asked for; all of them install under ONE package, fleetmind.
FOLDERS = ("robots", "tasks", "sim", "planners", "firmware_bridge")


def _packages() -> tuple[list[str], dict[str, str]]:
    """Every package under fleetmind/ and under each folder of FOLDERS (as fleetmind.<folder>.*), and where each
    lives."""
    packages = [PACKAGE] + [f"{PACKAGE}.{p}" for p in find_packages(PACKAGE)]
    package_dir = {PACKAGE: PACKAGE}
    for folder in FOLDERS:
        packages.append(f"{PACKAGE}.{folder}")
        packages += [f"{PACKAGE}.{folder}.{p}" for p in find_packages(folder)]
        package_dir[f"{PACKAGE}.{folder}"] = folder
    return packages, package_dir


PACKAGES, PACKAGE_DIR = _packages()


def _share(folder: str) -> tuple[str, list[str]]:
    """Install every file of a top-level folder into share/fleetmind/<folder>."""
    return (f"share/{PACKAGE}/{folder}", sorted(f for f in glob(f"{folder}/*") if not f.endswith("__pycache__")))


setup(
    name=PACKAGE,
    version="0.1.0",
    description="Multi-robot LLM planning and hardware control stack",
    license="Apache-2.0",
    license_files=[
        "LICENSE",  # ours
        "tasks/mapf_lifelong/maps/LICENSE",  # the shipped MAPF maps' (MIT, learn-to-follow)
        "tasks/mapf_lifelong/maps/LICENSE-movingai-city-tiles",  # the Paris_1 city tiles (MIT, MAPF-GPT)
    ],
    python_requires=">=3.10,<3.13",  # 3.12: ROS 2 Jazzy; pybullet (no 3.12 wheel) is the optional extra
    packages=PACKAGES,
    package_dir=PACKAGE_DIR,
    package_data={
        "": ["py.typed", "*.md"],
        "fleetmind.tasks.mapf_lifelong": ["maps/*"],  # MAPF maps (MIT, learn-to-follow)
        "fleetmind.tasks.swarm": ["gains.json", "policies/*.npz"],  # tuned swarm gains, Dec-POMFC policies
        "fleetmind.planners.mapf": ["weights/*.npz"],  # follower_il policy weights (trained here)
        "fleetmind.firmware_bridge": ["firmware/*.c", "firmware/*.h", "firmware/*.ld", "firmware/Makefile"],
        "fleetmind.robots": ["urdf/*.urdf"],  # PyBullet robots: diff drive, lifter, quadrotor
    },
    data_files=[
        ("share/ament_index/resource_index/packages", [f"resource/{PACKAGE}"]),
        (f"share/{PACKAGE}", ["package.xml"]),
        _share("launch"),
        _share("scenarios"),
        _share("config"),
        (f"share/{PACKAGE}/urdf", sorted(glob("robots/urdf/*.urdf"))),  # robot_description; found via ament_index
        (f"share/{PACKAGE}/maps", sorted(glob("tasks/mapf_lifelong/maps/*"))),
    ],
    # Loose ranges for ROS / pip users; requirements.txt holds the exact pins that CI uses.
    install_requires=[
        "setuptools",
        "numpy>=1.26",
        "pydantic>=2.6,<3",
        "PyYAML>=6",
        "tqdm>=4.66",
    ],
    extras_require={
        "test": ["pytest>=8", "hypothesis>=6.100"],
        "gym": ["gymnasium>=1.0,<2", "pettingzoo>=1.24,<2"],  # fleetmind.sim.swarm.envs
        "pybullet": ["pybullet>=3.2.6"],  # Python <= 3.11 wheels only: optional, so the rest installs on 3.12
        "llm": ["openai>=1.40", "langgraph>=0.2"],
        "hardware": ["pyserial>=3.5", "pymavlink>=2.4.40", "cobs>=1.2", "crc>=7"],
        "record": ["mcap>=1.1", "mcap-ros2-support>=0.5", "rosbags>=0.10"],
        "kernels": ["numba>=0.60"],
    },
    zip_safe=True,
    entry_points={
        "console_scripts": [
            "fleetmind = fleetmind.cli:main",
            "fleetmind_world = fleetmind.ros.world_node:main",
            "fleetmind_planner = fleetmind.ros.planner_node:main",
            "fleetmind_agent = fleetmind.ros.agent_node:main",
            "fleetmind_recorder = fleetmind.ros.recorder_node:main",
            "fleetmind_bridge = fleetmind.ros.bridge_node:main",
        ],
    },
)
