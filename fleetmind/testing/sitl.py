"""Build and run the C reference firmware as a host program (SITL) for tests and benchmarks."""

from __future__ import annotations

import logging
import os
import select
import signal
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

import fleetmind.firmware_bridge as firmware_bridge

if TYPE_CHECKING:
    from fleetmind.firmware_bridge.fleet import FirmwareFleet

log = logging.getLogger(__name__)

FIRMWARE_DIR = Path(firmware_bridge.__file__).resolve().parent / "firmware"
SITL_BINARY = FIRMWARE_DIR / "build" / "sitl"
SITL_ASAN_BINARY = FIRMWARE_DIR / "build" / "sitl_asan"


def build_sitl(timeout: float = 120.0, sanitize: bool = False) -> Path:
    """``make -C firmware_bridge/firmware`` (gcc only); returns the SITL binary.

    ``sanitize`` builds ``build/sitl_asan`` instead (AddressSanitizer + UndefinedBehaviorSanitizer).
    """
    target = "sanitize" if sanitize else "all"
    subprocess.run(["make", "-s", "-C", str(FIRMWARE_DIR), target], check=True, timeout=timeout, capture_output=True)
    return SITL_ASAN_BINARY if sanitize else SITL_BINARY


class Sitl:
    """One SITL process: ``mode`` is ``"pty"`` or ``"udp"`` (bound on ``udp_host``, ephemeral port).

    ``wrap`` is a command prefix, e.g. ``["nsenter", "-t", PID, "-n", "--"]`` to run it in another network
    namespace. ``session`` fixes the first session nonce (else the SITL draws it from /dev/urandom) and
    ``tx_seq`` starts the robot's own sequence numbers there (a session that begins near the wrap). The nonce
    the SITL runs is in ``session``. Use as a context manager; the process is terminated (then killed) on exit.

    The motion model (``firmware/motion_model.c``, stepped once per ms of the SITL clock; None keeps the SITL's
    default): ``wheel_base`` and ``wheel_radius`` (m; defaults 0.30 and 0.035, what the firmware assumes, so a
    different value is a miscalibrated robot), ``max_accel`` (m/s^2 at each wheel rim, 0 = none; stops bypass
    it), ``wheel_noise`` (m/s, standard deviation of each turning wheel's speed error, correlated over 0.1 s) and
    ``seed`` (the same seed and commands per tick give the same path).
    """

    def __init__(
        self,
        mode: str = "pty",
        robot_id: int = 1,
        key: bytes | None = None,
        events: Path | None = None,
        binary: Path = SITL_BINARY,
        ready_timeout: float = 5.0,
        udp_host: str = "127.0.0.1",
        wrap: Sequence[str] = (),
        session: int | None = None,
        tx_seq: int = 0,
        wheel_base: float | None = None,
        wheel_radius: float | None = None,
        max_accel: float | None = None,
        wheel_noise: float | None = None,
        seed: int | None = None,
    ) -> None:
        if mode not in ("pty", "udp"):
            raise ValueError(f"mode must be 'pty' or 'udp', got {mode!r}")
        model = {"--wheel-base": wheel_base, "--wheel-radius": wheel_radius, "--max-accel": max_accel}
        model |= {"--wheel-noise": wheel_noise, "--seed": seed}
        for flag, value in model.items():
            if value is not None and value < 0:
                raise ValueError(f"{flag.lstrip('-').replace('-', '_')} must be >= 0, got {value}")
        args = [*wrap, str(binary)] + (["--pty"] if mode == "pty" else ["--udp", f"{udp_host}:0"])
        args += ["--robot-id", str(robot_id)]
        if key:
            args += ["--key-hex", key.hex()]
        if events:
            args += ["--events", str(events)]
        if session is not None:
            args += ["--session", f"{session:08x}"]
        if tx_seq:
            args += ["--tx-seq", str(tx_seq)]
        args += [part for flag, value in model.items() if value is not None for part in (flag, str(value))]
        self.mode = mode
        self.robot_id = robot_id
        self.events_path = events
        self.proc = subprocess.Popen(
            args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, start_new_session=True
        )
        line = self._read_line(ready_timeout)
        if not line.startswith("READY "):
            if self.proc.poll() is None:
                self.proc.kill()
            _, err = self.proc.communicate(timeout=2.0)  # what the SITL said, e.g. why it refused its key
            self.close()
            raise RuntimeError(f"SITL did not start: {err.decode(errors='replace').strip() or repr(line)}")
        fields = dict(part.split("=", 1) for part in line.split()[1:])
        self.pty: str | None = fields.get("pty")
        self.session = int(fields.get("session", "0"), 16)
        self.udp: tuple[str, int] | None = None
        if "udp" in fields:
            host, port = fields["udp"].rsplit(":", 1)
            self.udp = (host, int(port))

    def _read_line(self, timeout: float) -> str:
        assert self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        return self.proc.stdout.readline().decode().strip() if ready else ""

    def events(self) -> list[dict[str, str]]:
        """Parsed ``EV`` lines of the events file: ``{"kind": "cmd", "t": "1234", "seq": "5", ...}``."""
        if self.events_path is None or not self.events_path.exists():
            return []
        out = []
        for line in self.events_path.read_text().splitlines():
            parts = line.split()
            if len(parts) >= 2 and parts[0] == "EV" and line.endswith(tuple("0123456789")):
                out.append({"kind": parts[1], **dict(p.split("=", 1) for p in parts[2:] if "=" in p)})
        return out

    def count(self, kind: str) -> int:
        """How many events of ``kind`` the SITL had: its logged lines plus those its rate limit summarised
        (``reject_suppressed`` / ``estop_suppressed`` lines, written once their second is over or at exit)."""
        events = self.events()
        lines = sum(1 for e in events if e["kind"] == kind)
        return lines + sum(int(e["count"]) for e in events if e["kind"] == f"{kind}_suppressed")

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=2.0)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=2.0)
        for pipe in (self.proc.stdout, self.proc.stderr):
            if pipe:
                pipe.close()

    def __enter__(self) -> Sitl:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def sitl_fleet_factory(
    folder: Path, binary: Path, mode: str = "udp", n: int = 2, step_limit: int = 5, keyed: bool = True
) -> Callable[[], FirmwareFleet]:
    """A factory of FirmwareFleets over ``n`` fresh SITL processes (wire ids 10, 11, ...; ``mode`` ``"udp"`` or
    ``"pty"``); keyed robots get 32-byte keys written to ``folder``, key-less ones ``allow_unauthenticated``. The
    fleet owns its SITLs and stops them on ``close``."""
    from fleetmind.firmware_bridge.config import FirmwareFleetConfig, RobotLinkConfig
    from fleetmind.firmware_bridge.fleet import FirmwareFleet

    def make() -> FirmwareFleet:
        sitls, robots = [], []
        for i in range(n):
            key = bytes([i + 1]) * 32
            key_file = folder / f"robot_{i}.key"
            key_file.write_text(key.hex())
            sitl = Sitl(mode, robot_id=10 + i, key=key if keyed else None, binary=binary)
            sitls.append(sitl)
            link = {"serial_port": sitl.pty} if sitl.pty else {"udp_host": "127.0.0.1", "udp_port": sitl.udp[1]}
            robots.append(
                RobotLinkConfig(
                    name=f"robot_{i}",
                    wire_id=10 + i,
                    key_file=key_file if keyed else None,
                    allow_unauthenticated=not keyed,
                    **link,
                )
            )
        return FirmwareFleet(FirmwareFleetConfig(robots=robots, step_period=0.05, step_limit=step_limit), owned=sitls)

    return make
