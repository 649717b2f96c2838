"""fleetmind: one ROS 2 ament_python package; also pip-installable into a plain venv."""

from glob import glob

from setuptools import find_packages, setup

PACKAGE = "fleetmind"


def _share(folder: str) -> tuple[str, list[str]]:
    """Install every file of a top-level folder into share/fleetmind/<folder>."""
    return (f"share/{PACKAGE}/{folder}", sorted(f for f in glob(f"{folder}/*") if not f.endswith("__pycache__")))


setup(
    name=PACKAGE,
    version="0.1.0",
    description="Multi-robot LLM planning and hardware control stack",
    license="Apache-2.0",
    python_requires=">=3.10,<3.12",
    packages=find_packages(include=["robots*", "planners*", "sim*", "firmware_bridge*"]),
    package_data={
        "": ["py.typed", "*.md"],
        "sim.grid.mapf": ["maps/*"],  # MAPF maps (MIT, learn-to-follow)
        "firmware_bridge": ["firmware/*.c", "firmware/*.h", "firmware/*.ld", "firmware/Makefile"],
        "robots": ["urdf/*.urdf"],  # PyBullet robots: diff drive, lifter, quadrotor
    },
    data_files=[
        ("share/ament_index/resource_index/packages", [f"resource/{PACKAGE}"]),
        (f"share/{PACKAGE}", ["package.xml"]),
        _share("launch"),
        _share("scenarios"),
        _share("config"),
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
    },
    zip_safe=True,
    entry_points={
        "console_scripts": [
            "fleetmind = sim.cli:main",
            "fleetmind_world = sim.ros_node:main",
            "fleetmind_planner = planners.ros_node:main",
            "fleetmind_agent = planners.llm.ros_agent:main",
            "fleetmind_recorder = sim.ros_recorder:main",
            "fleetmind_bridge = firmware_bridge.ros_node:main",
        ],
    },
)
