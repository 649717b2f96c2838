"""Every Fleet backend, small, for the one parametrized conformance test (``tests/test_conformance.py``).

:func:`backends` lists named :class:`Backend` cases: the grid tasks (every :class:`GridTaskPlugin` in the registry,
at its smallest and largest paper size), MAPF (lifelong and one-shot), PyBullet in kinematic mode (each grid task and
MAPF), the SITL-backed :class:`FirmwareFleet` (UDP keyed, pty unkeyed; the SITL is built with make + gcc), the
real-robot executor over MAPF (links to robot doubles on a manual clock: SITL robots would take seconds a step) and the
:class:`RecordingFleet` wrapper (over a grid and a PyBullet fleet), and the swarm's unicycle :class:`SwarmFleet`
(alone and in PyBullet). Each case's ``build(tmp_dir)`` gives the factory
:func:`fleetmind.robots.conformance.check_fleet` calls; nothing heavy (pybullet, SITL) starts before that.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from fleetmind.robots.commands import (
    Command,
    EnterTrack,
    Lift,
    MoveBoxToCell,
    MoveBoxToCorner,
    SetVelocity,
    Wait,
)
from fleetmind.robots.conformance import Sampler, check_fleet, sample_legal
from fleetmind.robots.fleet import Fleet, Observation
from fleetmind.robots.ids import GridCell, GridCorner, RobotId
from fleetmind.tasks import GridTaskPlugin, Task, get_task, task_names
from fleetmind.tasks.boxlift.rules import BoxLift
from fleetmind.tasks.boxnet1.rules import BoxNet1
from fleetmind.tasks.boxnet2.rules import BoxNet2
from fleetmind.tasks.grid import GridTask
from fleetmind.tasks.mapf_lifelong import TASK as MAPF
from fleetmind.tasks.warehouse.rules import Warehouse

LEGAL_STEPS = 50
"""Sampled legal steps every backend takes (across episodes)."""

NEVER_LEGAL: dict[type[GridTask], Command] = {
    BoxNet1: MoveBoxToCell("red", GridCell(-1, 0)),
    BoxNet2: MoveBoxToCorner("red", GridCorner(-1, 0)),
    Warehouse: EnterTrack(99),
    BoxLift: Lift(999),
}
"""Per grid rules type, a task command never legal for the first robot right after reset: a neighbour outside the
grid, a corner outside the lattice, a track that does not exist, a box number that was never drawn."""

Factory = Callable[[], Fleet]

PYBULLET_FAST: dict[str, object] = {"mode": "kinematic", "physics_hz": 30, "contact_every": 8}
"""PyBullet settings of the fixture: kinematic at the lowest interpolation rate (the contract does not depend on it;
at the default 240 Hz, 50 random BoxLift steps alone take ~17 s of CPU)."""


@dataclass(frozen=True)
class Backend:
    """One backend of the conformance fixture. ``build(tmp_dir)`` returns the fleet factory; ``illegal`` (for the
    first robot, right after reset) and ``sample`` (the legal command strategy) go to :func:`check_fleet`."""

    id: str
    build: Callable[[Path], Factory]
    illegal: Mapping[RobotId, Command] | None = None
    sample: Sampler = sample_legal
    seeds: tuple[int, int] = (0, 1)
    max_steps: int = 200

    def check(self, tmp_dir: Path, legal_steps: int = LEGAL_STEPS) -> None:
        """The full suite on this backend; raises ``AssertionError`` naming the broken rule."""
        check_fleet(
            self.build(tmp_dir),
            seeds=self.seeds,
            max_steps=self.max_steps,
            illegal=self.illegal,
            sample=self.sample,
            legal_steps=legal_steps,
        )


def velocity_sampler(max_linear: float, max_angular: float) -> Sampler:
    """Legal commands of a continuous space: a robot that lists any legal command (it is usable) gets a random
    :class:`SetVelocity` within half the limits 3 times in 4, else waits."""

    def sample(observation: Observation, rng: random.Random) -> dict[RobotId, Command]:
        commands: dict[RobotId, Command] = {}
        for rid, ro in observation.robots.items():
            if ro.legal and rng.random() < 0.75:
                v = round(rng.uniform(-max_linear, max_linear) / 2, 2)
                w = round(rng.uniform(-max_angular, max_angular) / 2, 2)
                commands[rid] = SetVelocity(v, w)
            else:
                commands[rid] = Wait()
        return commands

    return sample


def grid_plugins() -> list[GridTaskPlugin]:
    """The registry's grid tasks, in registry order."""
    return [t for t in map(get_task, task_names()) if isinstance(t, GridTaskPlugin)]


def grid_rules(plugin: GridTaskPlugin, size: str) -> GridTask:
    """Fresh rules of ``plugin`` at a paper size text (``"2x2"``, ``"4"``)."""
    return plugin.make_rules(plugin.config.model_validate(plugin.world_for_size(size)))


def _illegal(rules: GridTask) -> dict[RobotId, Command] | None:
    command = NEVER_LEGAL.get(type(rules))
    return {rules.robot_ids[0]: command} if command is not None else None


def _grid(plugin: GridTaskPlugin, size: str) -> Backend:
    def build(tmp_dir: Path) -> Factory:
        from fleetmind.sim.grid.fleet import GridFleet

        return lambda: GridFleet(grid_rules(plugin, size))

    return Backend(f"grid-{plugin.name}-{size}", build, _illegal(grid_rules(plugin, size)), seeds=(3, 4))


def _mapf_fleet(side: int, agents: int, steps: int, on_target: str = "restart") -> Fleet:
    from fleetmind.sim.grid.mapf import MapfFleet
    from fleetmind.tasks.mapf_lifelong.maps import random_map

    return MapfFleet(random_map(side, side, 0.1, 0), agents, episode_steps=steps, on_target=on_target)  # type: ignore[arg-type]


def _mapf(on_target: str) -> Backend:
    def build(tmp_dir: Path) -> Factory:
        return lambda: _mapf_fleet(10, 8, 20, on_target)

    return Backend(f"mapf-{on_target}", build)


def _has(mission: str) -> Backend:
    """The HAS exploration world (issue 16), small: 4 robots on a 24x24 rooms map (M5 also brings one online)."""

    def build(tmp_dir: Path) -> Factory:
        from fleetmind.sim.explore import ExploreFleet
        from fleetmind.tasks.has import HasConfig

        config = HasConfig(task="has", mission=mission, size=24, robots=4, step_limit=30, targets=2)  # type: ignore[arg-type]
        return lambda: ExploreFleet(config)

    return Backend(f"grid-has-{mission}", build)


def _pybullet(task: Task, inner: Callable[[], Fleet], illegal: Mapping[RobotId, Command] | None) -> Backend:
    def build(tmp_dir: Path) -> Factory:
        from fleetmind.sim.pybullet import PyBulletSettings, make_pybullet_fleet

        return lambda: make_pybullet_fleet(inner(), task, PyBulletSettings(**PYBULLET_FAST))

    return Backend(f"pybullet-kinematic-{task.name}", build, illegal)


def _pybullet_grid(plugin: GridTaskPlugin) -> Backend:
    from fleetmind.sim.grid.fleet import GridFleet

    size = plugin.paper_sizes[0]
    return _pybullet(plugin, lambda: GridFleet(grid_rules(plugin, size)), _illegal(grid_rules(plugin, size)))


def _firmware(mode: str, keyed: bool, illegal: Mapping[RobotId, Command] | None = None) -> Backend:
    from fleetmind.firmware_bridge.config import Limits

    limits = Limits()

    def build(tmp_dir: Path) -> Factory:
        from fleetmind.testing.sitl import build_sitl, sitl_fleet_factory

        return sitl_fleet_factory(tmp_dir, build_sitl(), mode, n=2, step_limit=10, keyed=keyed)

    name = f"firmware-{mode}-{'keyed' if keyed else 'unkeyed'}"
    return Backend(name, build, illegal, velocity_sampler(limits.max_linear, limits.max_angular), max_steps=20)


def sparse_sampler(rate: float) -> Sampler:
    """Each robot takes one of its listed legal commands with probability ``rate``, else waits: for backends whose
    moves take seconds of (simulated) motion, so 50 steps stay short."""

    def sample(observation: Observation, rng: random.Random) -> dict[RobotId, Command]:
        return {r: rng.choice(o.legal) for r, o in observation.robots.items() if o.legal and rng.random() < rate}

    return sample


def _executor() -> Backend:
    """The real-robot executor (``backend: firmware``) over MAPF, its links to robot doubles on a manual clock."""

    def build(tmp_dir: Path) -> Factory:
        from fleetmind.firmware_bridge.config import FirmwareFleetConfig, RobotLinkConfig
        from fleetmind.firmware_bridge.executor import ExecutorFleet
        from fleetmind.firmware_bridge.executor_config import ExecutorSettings
        from fleetmind.firmware_bridge.fleet import FirmwareFleet
        from fleetmind.robots.clock import ManualClock
        from fleetmind.testing.robot_double import RobotDouble

        def make() -> Fleet:
            clock = ManualClock()
            doubles = {f"robot_{i}": RobotDouble(clock, 10 + i) for i in range(2)}
            links = [
                RobotLinkConfig(
                    name=n, wire_id=d.robot_id, udp_host="127.0.0.1", udp_port=9, allow_unauthenticated=True
                )
                for n, d in doubles.items()
            ]
            robots = FirmwareFleet(
                FirmwareFleetConfig(robots=links), clock=clock, open_transport=lambda rc: doubles[rc.name]
            )
            return ExecutorFleet(
                _mapf_fleet(5, 2, 8), MAPF, robots, ExecutorSettings(cell_size=0.5, reset_deadline=20.0)
            )

        return make

    return Backend("executor-mapf-doubles", build, sample=sparse_sampler(0.2))


def _mavlink() -> Backend:
    """The MAVLink drone fleet (``backend: mavlink``) over MAPF, against two vehicle doubles (PX4, ArduPilot) on one
    manual clock; measured positions are in ``RobotObservation.measured``, outside the same-seed rule."""

    def build(tmp_dir: Path) -> Factory:
        from fleetmind.firmware_bridge.drone_config import DroneFleetConfig
        from fleetmind.firmware_bridge.drones import MavlinkFleet
        from fleetmind.testing.vehicle_double import MavLoopbackFleet

        def make() -> Fleet:
            autopilots = ["px4", "ardupilot"]
            loop = MavLoopbackFleet(autopilots)
            robots = [
                {"name": f"robot_{i}", "url": "loopback", "autopilot": a, "target_system": i + 1}
                for i, a in enumerate(autopilots)
            ]
            config = DroneFleetConfig.model_validate({"robots": robots, "cell_size": 1.0, "poll_period": 0.02})
            conns = {f"robot_{i}": lp.host for i, lp in enumerate(loop.loops)}
            inner = _mapf_fleet(5, 2, 8)
            return MavlinkFleet(inner, MAPF, config, clock=loop.clock, connections=conns, keepalive=False)

        return make

    return Backend("mavlink-mapf-doubles", build, sample=sparse_sampler(0.3), max_steps=20)


def _recording(inner_id: str, inner: Callable[[], Fleet]) -> Backend:
    def build(tmp_dir: Path) -> Factory:
        from fleetmind.sim.record import RecordingFleet

        count = itertools.count()
        return lambda: RecordingFleet(inner(), tmp_dir / f"fleet{next(count)}", f"conformance_{inner_id}")

    return Backend(f"recording-{inner_id}", build)


def backends() -> list[Backend]:
    """Every backend, small enough that the whole list runs in well under a minute on two cores."""
    from fleetmind.sim.grid.fleet import GridFleet

    plugins = grid_plugins()
    out = [_grid(p, size) for p in plugins for size in dict.fromkeys((p.paper_sizes[0], p.paper_sizes[-1]))]
    out += [_mapf("restart"), _mapf("nothing")]
    out += [_has("explore"), _has("reorg")]
    out += [_pybullet_grid(p) for p in plugins]
    out.append(_pybullet(MAPF, lambda: _mapf_fleet(6, 4, 10), None))
    too_fast = {RobotId("robot_0"): SetVelocity(5.0, 0.0)}
    out += [_firmware("udp", keyed=True, illegal=too_fast), _firmware("pty", keyed=False)]
    out.append(_executor())
    out.append(_mavlink())
    first = plugins[0]
    small = first.paper_sizes[0]
    out.append(_recording(f"grid-{first.name}", lambda: GridFleet(grid_rules(first, small))))

    def physical() -> Fleet:
        from fleetmind.sim.pybullet import PyBulletSettings, make_pybullet_fleet

        return make_pybullet_fleet(GridFleet(grid_rules(first, small)), first, PyBulletSettings(**PYBULLET_FAST))

    out.append(_recording(f"pybullet-{first.name}", physical))
    from fleetmind.testing.swarm_conformance import swarm_backends

    out += swarm_backends()
    return out
