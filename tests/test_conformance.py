"""One parametrized conformance test over every Fleet backend: the contract's checks plus sampled LEGAL commands
stepped for 50 steps, which fails a fleet whose robots never move (``fleetmind.testing.conformance``)."""

from __future__ import annotations

from pathlib import Path

import pytest
from fleetmind.robots.conformance import check_fleet

from fleetmind.testing.conformance import LEGAL_STEPS, Backend, backends, grid_plugins, velocity_sampler

BACKENDS = backends()


@pytest.mark.parametrize("backend", BACKENDS, ids=[b.id for b in BACKENDS])
def test_backend_conforms(backend: Backend, tmp_path: Path) -> None:
    assert LEGAL_STEPS >= 50
    backend.check(tmp_path)


def test_the_fixture_covers_every_backend() -> None:
    """Every grid task of the registry at two sizes (one size only where the paper has one), both MAPF modes,
    PyBullet on every grid task and MAPF, the SITL-backed real-robot fleet, the executor, the MAVLink drones, the
    recording wrapper and the swarm's unicycles (alone, in PyBullet and on SITL robots)."""
    ids = [b.id for b in BACKENDS]
    assert len(ids) == len(set(ids)), "duplicate backend ids"
    for plugin in grid_plugins():
        assert (
            f"grid-{plugin.name}-{plugin.paper_sizes[0]}" in ids
            and f"grid-{plugin.name}-{plugin.paper_sizes[-1]}" in ids
        )
        assert f"pybullet-kinematic-{plugin.name}" in ids
    assert len(grid_plugins()) == 4
    kinds = {i.split("-")[0] for i in ids}
    assert kinds == {"grid", "mapf", "pybullet", "firmware", "recording", "swarm", "executor", "mavlink"}
    assert {"swarm-unicycle", "pybullet-kinematic-swarm", "swarm-firmware-sitl"} <= set(ids)
    assert {"mapf-restart", "mapf-nothing", "pybullet-kinematic-mapf_lifelong"} <= set(ids)
    assert sum(i.startswith("firmware-") for i in ids) == 2 and sum(i.startswith("recording-") for i in ids) == 2


def test_the_firmware_fleet_needs_its_velocity_sampler(tmp_path: Path) -> None:
    """The FirmwareFleet lists only the stop command (SetVelocity(0, 0)) as legal: stepped with what it lists, its
    robots never move and the suite says so; with velocities sampled within its limits they do (the case above)."""
    (udp,) = [b for b in BACKENDS if b.id == "firmware-udp-keyed"]
    with pytest.raises(AssertionError, match="robots never move"):
        check_fleet(udp.build(tmp_path), illegal=udp.illegal, max_steps=udp.max_steps, legal_steps=10)


def test_velocity_sampler_stays_within_half_the_limits() -> None:
    import random

    from fleetmind.robots.commands import SetVelocity, Wait
    from fleetmind.robots.fleet import Observation, RobotObservation
    from fleetmind.robots.ids import robot_ids

    ids = robot_ids(3)
    obs = Observation(
        step=0,
        robots={
            ids[0]: RobotObservation(ids[0], {}, "usable", (SetVelocity(0.0, 0.0),)),
            ids[1]: RobotObservation(ids[1], {}, "usable", (SetVelocity(0.0, 0.0),)),
            ids[2]: RobotObservation(ids[2], {}, "e-stopped", ()),
        },
        world={},
        text="",
    )
    sample = velocity_sampler(0.8, 1.5)
    rng = random.Random(0)
    drawn = [sample(obs, rng) for _ in range(200)]
    assert all(d[ids[2]] == Wait() for d in drawn)  # no legal command: it only waits
    moves = [c for d in drawn for c in (d[ids[0]], d[ids[1]]) if isinstance(c, SetVelocity)]
    assert 250 < len(moves) < 350  # 3 in 4 of 400
    assert all(abs(c.linear) <= 0.4 and abs(c.angular) <= 0.75 for c in moves)
    assert max(abs(c.linear) for c in moves) > 0.3 and max(abs(c.angular) for c in moves) > 0.6
