"""Bad keys are refused with one line, never loaded silently: on the host (``load_key`` raises BadInputError) and
in the SITL (``--key-hex`` exits 2 with the reason)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from fleetmind.firmware_bridge.auth import load_key
from fleetmind.firmware_bridge.config import FirmwareFleetConfig, RobotLinkConfig
from fleetmind.firmware_bridge.fleet import FirmwareFleet
from fleetmind.robots.clock import ManualClock
from fleetmind.robots.errors import BadInputError

from fleetmind.testing.robot_double import RobotDouble
from fleetmind.testing.sitl import Sitl, build_sitl

KEY = bytes(range(1, 33))


@pytest.fixture(scope="session")
def sitl_binary() -> Path:
    return build_sitl()


def _key_file(tmp_path: Path, text: str, mode: int = 0o600) -> Path:
    path = tmp_path / "robot.key"
    path.write_text(text)
    path.chmod(mode)
    return path


def test_a_good_key_file_loads(tmp_path: Path) -> None:
    assert load_key(_key_file(tmp_path, KEY.hex()[:32] + "\n " + KEY.hex()[32:] + "\n")) == KEY


@pytest.mark.parametrize(
    ("text", "mode", "message"),
    [
        (KEY.hex(), 0o666, r"world-writable \(mode 666\).*chmod 600"),
        ("00" * 32, 0o600, "all-zero key means 'authentication off'"),
        ("ab" * 65, 0o600, "key must be 16..64 bytes, got 65"),
        ("ab" * 15, 0o600, "key must be 16..64 bytes, got 15"),
        ("zz" * 32, 0o600, "not hex"),
    ],
)
def test_bad_key_files_are_refused_with_one_line(tmp_path: Path, text: str, mode: int, message: str) -> None:
    with pytest.raises(BadInputError, match=message) as err:
        load_key(_key_file(tmp_path, text, mode))
    assert "\n" not in str(err.value) and "key_file" in str(err.value)


def test_a_missing_key_file_is_bad_input_not_a_raw_os_error(tmp_path: Path) -> None:
    clock = ManualClock()
    robot = RobotLinkConfig(name="robot_0", wire_id=1, udp_host="127.0.0.1", udp_port=9, key_file=tmp_path / "nope")
    with pytest.raises(BadInputError, match=r"key_file .*nope: no such file") as err:
        FirmwareFleet(FirmwareFleetConfig(robots=[robot]), clock=clock, open_transport=lambda rc: RobotDouble(clock, 1))
    assert not isinstance(err.value, OSError)


@pytest.mark.parametrize(
    ("key_hex", "message"),
    [
        ("zz" * 16, "not hex"),
        ("abc" * 11, "odd number of hex digits"),
        ("00" * 32, "all-zero key"),
        ("ab" * 65, "16..64 bytes"),
        ("ab" * 8, "16..64 bytes"),
    ],
)
def test_sitl_refuses_a_bad_key_instead_of_running_without_auth(sitl_binary: Path, key_hex: str, message: str) -> None:
    proc = subprocess.run(
        [str(sitl_binary), "--udp", "127.0.0.1:0", "--key-hex", key_hex], capture_output=True, text=True, timeout=10
    )
    assert proc.returncode == 2 and proc.stdout == ""  # never READY
    assert proc.stderr.count("\n") == 1 and message in proc.stderr


def test_sitl_wrapper_reports_why_the_sitl_refused(sitl_binary: Path) -> None:
    with pytest.raises(RuntimeError, match="SITL did not start: sitl: --key-hex: an all-zero key"):
        Sitl("udp", key=bytes(32), binary=sitl_binary)
