"""One line switches a scenario to PyBullet; bad robot settings fail with one clear line (exit 2);
importing and connecting PyBullet prints nothing."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from fleetmind.app.scenario import ScenarioError, load_scenario, parse_scenario
from fleetmind.cli import main

ROOT = Path(__file__).resolve().parents[1]


def _doc(**pybullet) -> dict:
    world = {"backend": "pybullet", "task": "boxnet1", "rows": 2, "cols": 2}
    if pybullet:
        world["pybullet"] = pybullet
    return {"name": "pb", "world": world}


def test_backend_line_switches_to_pybullet():
    sc = parse_scenario(_doc(mode="kinematic", cell_size=2.0, physics_hz=120, robot="quadrotor"))
    fleet = sc.make_fleet()
    try:
        obs = fleet.reset(0)
        assert type(fleet).__name__ == "PyBulletFleet" and fleet.world.body.flying
        assert obs.robots["robot_3"].data["odometry"][:2] == pytest.approx([3.0, 3.0])  # cell (1, 1), 2 m cells
        assert fleet.world.dt == pytest.approx(1 / 120)
    finally:
        fleet.close()
    grid = load_scenario("boxnet1_2x2")
    assert grid.world.backend == "grid" and type(grid.make_fleet()).__name__ == "GridFleet"
    assert grid.with_backend("pybullet").world.backend == "pybullet"


@pytest.mark.parametrize(
    ("pybullet", "expected"),
    [
        ({"robot": "tank"}, "world.pybullet.robot: Value error, unknown robot kind 'tank'; known kinds: diff_drive"),
        ({"urdf": "no/such/robot.urdf"}, "world.pybullet.urdf: Value error, URDF file not found: no/such/robot.urdf"),
        ({"mode": "fast"}, "world.pybullet.mode: 'fast' is not allowed; allowed values: 'kinematic' or 'dynamic'"),
        ({"hz": 10}, "unknown key 'world.pybullet.hz'; allowed keys here: camera, cell_size, contact_every, mode"),
    ],
)
def test_bad_pybullet_settings_fail_with_one_line(pybullet, expected):
    with pytest.raises(ScenarioError) as info:
        parse_scenario(_doc(**pybullet), "pb.yaml")
    message = str(info.value)
    assert message.startswith("pb.yaml: ") and expected in message and "\n" not in message


def test_cli_backend_option_and_unknown_kind_exit_2(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["run", "boxnet2_2x2", "--backend", "pybullet", "--out", str(out), "-q"]) == 0
    assert json.loads((out / "metrics.json").read_text())["success_rate"] == 1.0
    bad = tmp_path / "tank.yaml"
    bad.write_text(yaml.safe_dump(_doc(robot="tank")))
    capsys.readouterr()
    assert main(["run", str(bad)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "unknown robot kind 'tank'" in err[0] and str(bad) in err[0]


def test_broken_urdf_fails_with_one_line_and_pybullet_stays_quiet(tmp_path):
    """In a subprocess, so that output written by PyBullet's C code to fd 1/2 would be seen."""
    urdf = tmp_path / "broken.urdf"
    urdf.write_text("<robot name='x'><link name='a'>")  # not valid URDF
    scenario = tmp_path / "broken.yaml"
    scenario.write_text(yaml.safe_dump(_doc(urdf=str(urdf))))
    exe = Path(sys.executable).with_name("fleetmind")
    done = subprocess.run(
        [str(exe), "run", str(scenario), "--out", str(tmp_path / "o"), "-q"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1 and f"cannot load robot URDF {urdf}" in done.stderr
    for noise in ("pybullet build time", "b3Warning", "b3Error", "URDF"):
        assert noise not in done.stdout
    assert "b3" not in done.stderr and "pybullet build time" not in done.stderr
