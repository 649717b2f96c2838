"""The swarm's Fleet view on firmware robots (issue 15): :class:`FirmwareSwarmFleet` on robot doubles and a manual
clock (the streamed commands, the measured poses in the model, a lost robot stopped and dropped, ``on_lost: fail``,
e-stop, what it refuses), then ``fleetmind swarm run --backend firmware`` over four SITL robots it starts and stops.
No wall-clock windows: the doubles' numbers are simulated time; the SITL run asserts motion and order, not timing."""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fleetmind.firmware_bridge.config import FirmwareFleetConfig, Limits, RobotLinkConfig
from fleetmind.firmware_bridge.fleet import FirmwareFleet
from fleetmind.firmware_bridge.swarm import FirmwareSwarmFleet, SwarmFirmwareSettings, time_scale_for
from fleetmind.robots.clock import ManualClock
from fleetmind.robots.commands import GridStep, SetVelocity
from fleetmind.robots.errors import BadInputError, IllegalCommandError
from fleetmind.robots.ids import RobotId
from fleetmind.sim.swarm.fleet import SwarmFleet, UnicycleLimits

from fleetmind.testing.robot_double import RobotDouble

pytestmark = pytest.mark.skipif(os.environ.get("NUMBA_DISABLE_JIT") == "1", reason="fleet runs need the JIT")

R0, R1, R2 = RobotId("robot_0"), RobotId("robot_1"), RobotId("robot_2")
LINK = Limits()  # 0.8 m/s, 1.5 rad/s
HALF = UnicycleLimits(LINK.max_linear / 2, LINK.max_angular / 2)  # played at time scale 2


def swarm_on_doubles(
    n: int = 3, steps: int = 20, **settings: Any
) -> tuple[FirmwareSwarmFleet, list[RobotDouble], ManualClock]:
    """``n`` unicycles in a 2 m torus, dt 0.2 played in 0.1 s steps (time scale 2) on doubles, heartbeat 0.3 s."""
    clock = ManualClock()
    doubles = [RobotDouble(clock, 10 + i) for i in range(n)]
    by_name = {f"robot_{i}": d for i, d in enumerate(doubles)}
    links = [
        RobotLinkConfig(name=f"robot_{i}", wire_id=10 + i, udp_host="127.0.0.1", udp_port=9, allow_unauthenticated=True)
        for i in range(n)
    ]
    config = FirmwareFleetConfig(robots=links, step_period=0.1, step_limit=1000, heartbeat_timeout=0.3)
    robots = FirmwareFleet(config, clock=clock, open_transport=lambda rc: by_name[rc.name])
    model = SwarmFleet(n, box=2.0, dt=0.2, step_limit=steps, limits=HALF)
    return FirmwareSwarmFleet(model, robots, SwarmFirmwareSettings(**settings)), doubles, clock


def order_of(poses: list[list[float]]) -> float:
    yaw = np.array([p[2] for p in poses])
    return float(np.hypot(np.cos(yaw).mean(), np.sin(yaw).mean()))


def test_a_step_streams_the_scaled_velocity_and_the_model_takes_the_measured_poses() -> None:
    fleet, doubles, clock = swarm_on_doubles()
    obs = fleet.reset(0)
    start = fleet.inner.pose.copy()
    assert obs.robots[R0].data["pose"] == pytest.approx(start[0], abs=1e-4)  # each robot stands at its start pose
    assert obs.robots[R0].measured["localization"] == "odometry" and obs.world["time_scale"] == 2.0
    assert obs.robots[R0].legal and obs.robots[R0].data["lost"] is False
    t0, sent0 = clock.now(), len(doubles[0].velocities())
    result = fleet.step({R0: SetVelocity(0.2, 0.0), R1: SetVelocity(0.0, 0.5)})  # robot_2 gets nothing: it waits
    assert 0.1 <= clock.now() - t0 <= 0.1 + 0.02  # one step period (plus the last read)
    sent = doubles[0].velocities()[sent0:]
    assert len(sent) >= 2 and {(v, w) for _, v, w in sent} == {(0.4, 0.0)}  # x2: the same arc in half the time
    assert max(b - a for (a, _, _), (b, _, _) in zip(sent, sent[1:], strict=False)) <= 0.05 + 1e-9  # >= 20 Hz
    poses = {rid: ro.data["pose"] for rid, ro in result.observation.robots.items()}
    moved = math.dist(poses[R0][:2], start[0, :2])
    assert 0.02 <= moved <= 0.045  # the exact arc is 0.2 m/s x 0.2 = 0.04 m; the double ran 0.4 m/s for <= 0.1 s
    assert moved == pytest.approx(math.hypot(doubles[0].x, doubles[0].y), abs=0.009)  # its odometry, one tick late
    heading = math.atan2(poses[R0][1] - start[0, 1], poses[R0][0] - start[0, 0])
    assert math.cos(heading - start[0, 2]) > 0.999  # straight ahead along its start heading
    turned = (poses[R1][2] - start[1, 2] + math.pi) % (2 * math.pi) - math.pi
    assert 0.05 <= turned <= 0.11 and math.dist(poses[R1][:2], start[1, :2]) < 1e-3  # turned on the spot
    assert poses[R2] == pytest.approx(start[2], abs=1e-4) and doubles[2].v == 0.0  # the waiting robot never moved
    assert result.observation.world["order"] == pytest.approx(order_of(list(poses.values())), abs=1e-3)
    m = result.metrics
    assert not result.done and m["time_scale"] == 2.0 and m["lost_robots"] == 0 and m["max_step_error"] < 0.01


def test_commands_beyond_the_limits_and_bad_settings_are_refused() -> None:
    fleet, _, _ = swarm_on_doubles()
    fleet.reset(1)
    with pytest.raises(IllegalCommandError, match="beyond the limits"):
        fleet.step({R0: SetVelocity(0.5, 0.0)})  # 0.4 m/s x 2 is the link's 0.8
    with pytest.raises(IllegalCommandError, match="not a unicycle command"):
        fleet.step({R0: GridStep("up")})
    fleet.close()
    clock = ManualClock()
    link = RobotLinkConfig(name="robot_0", wire_id=10, udp_host="127.0.0.1", udp_port=9, allow_unauthenticated=True)
    robots = FirmwareFleet(FirmwareFleetConfig(robots=[link], step_period=0.1, step_limit=99), clock=clock,
                           open_transport=lambda rc: RobotDouble(clock, 10))  # fmt: skip
    for model, needle in [
        (SwarmFleet(1, box=2.0, dt=0.2, step_limit=5), r"played 2x faster exceed the link's \(0.8 m/s, 1.5 rad/s\)"),
        (SwarmFleet(1, box=2.0, dt=0.2, step_limit=5, limits=HALF, periodic=False), "only the periodic box"),
    ]:
        with pytest.raises(BadInputError, match=needle) as err:
            FirmwareSwarmFleet(model, robots)
        assert "\n" not in str(err.value)
    assert time_scale_for(0.1, 1.0, LINK) == 1.5 and time_scale_for(0.1, 0.1, LINK) == 2.0  # at most 2 unless told
    with pytest.raises(BadInputError, match=r"^time_scale 3.0: .* give time_scale <= 1.5$"):
        time_scale_for(0.1, 1.0, LINK, 3.0)


def test_a_lost_robot_is_stopped_and_dropped_and_the_others_go_on() -> None:
    fleet, doubles, clock = swarm_on_doubles()
    fleet.reset(2)
    go = {rid: SetVelocity(0.2, 0.1) for rid in (R0, R1, R2)}
    fleet.step(go)
    doubles[1].to_host = doubles[1].to_robot = False  # its link is cut both ways
    cut = clock.now()
    for _ in range(6):
        result = fleet.step(go)
        if any(e.kind == "lost" for e in result.events):
            break
    assert [(e.robot, e.kind) for e in result.events] == [(R1, "lost")]
    assert 0.3 <= fleet.lost_at[R1] - cut <= 0.3 + 0.12  # the heartbeat timeout, within the step that saw it
    assert not result.done and result.metrics["lost_robots"] == 1
    lost = result.observation.robots[R1]
    assert lost.data["lost"] is True and lost.legal == () and "lost: waits" in lost.text
    assert doubles[1].v == 0.0 and doubles[1].watchdog_trips  # its firmware's watchdog stopped it
    stopped_at = doubles[1].x, doubles[1].y
    where, x0 = lost.data["pose"], doubles[0].x
    result = fleet.step(go)
    assert [(e.robot, e.kind) for e in result.events] == [(R1, "dropped")]  # its command became a wait
    assert result.observation.robots[R1].data["pose"] == where  # it stays in the world where it stopped
    assert (doubles[1].x, doubles[1].y) == stopped_at and doubles[0].x > x0 + 0.02  # the others go on
    assert result.observation.robots[R0].legal


def test_on_lost_fail_ends_the_episode_and_stops_every_robot() -> None:
    fleet, doubles, _ = swarm_on_doubles(on_lost="fail")
    fleet.reset(3)
    go = {rid: SetVelocity(0.2, 0.0) for rid in (R0, R1, R2)}
    doubles[2].powered = False
    for _ in range(6):
        result = fleet.step(go)
        if result.done:
            break
    assert result.failure_reason == "robot_lost" and result.metrics["success"] is False
    assert all(d.v == 0.0 for d in doubles[:2])
    assert fleet.step(go) is result  # done is sticky


def test_estop_stops_every_robot_and_ends_the_episode() -> None:
    fleet, doubles, _ = swarm_on_doubles()
    fleet.reset(4)
    go = {rid: SetVelocity(0.2, 0.3) for rid in (R0, R1, R2)}
    fleet.step(go)
    assert fleet.estop_all() == dict.fromkeys((R0, R1, R2), True)
    assert all(d.estop and d.v == 0.0 and d.omega == 0.0 for d in doubles)
    x = [d.x for d in doubles]
    result = fleet.step(go)
    assert result.done and result.failure_reason == "estop" and [d.x for d in doubles] == x
    assert all(not ro.legal for ro in result.observation.robots.values())


def test_four_sitl_robots_align_under_the_classical_law_and_no_process_is_left(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fleetmind.tasks.swarm import get_swarm_task

    import fleetmind.app.firmware as app_firmware
    from fleetmind.app.swarm_run import run_swarm

    started: list[Any] = []
    real = app_firmware.start_sitl_robots

    def spy(names: list[str], sitl: Any) -> Any:
        links, owned = real(names, sitl)
        started.extend(o for o in owned if hasattr(o, "proc"))
        return links, owned

    monkeypatch.setattr(app_firmware, "start_sitl_robots", spy)
    task = get_swarm_task("vicsek")
    config = task.make_config(agents=4, steps=6, dt=0.5)  # 6 steps of 1/3 s on the robots (time scale 1.5)
    m = run_swarm(task, config, "classic", 0, tmp_path, gif_frames=0, backend="firmware")
    assert len(started) == 4 and all(s.proc.poll() is not None for s in started)  # stopped at the end
    fw = m["firmware"]
    assert fw["steps"] == 6 and fw["lost_robots"] == 0 and fw["time_scale"] == 1.5
    assert fw["failure_reason"] in (None, "step_limit")  # no robot lost, no e-stop (step_limit: order below 0.9)
    assert 0.0 < fw["max_step_error"] < 0.2  # an arc is 0.05 m; a stalled host lets a robot stop, never run away
    series = m["order_parameter"]
    assert len(series) == 6 and series[-1] > series[0]  # aligning (slower when a loaded host stalls the stream)
    assert (tmp_path / "metrics.json").exists() and (tmp_path / "order.png").stat().st_size > 1000


def test_too_many_agents_for_the_firmware_backend_are_refused_in_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    from fleetmind.app.cli import build_parser, run_command

    args = build_parser()[0].parse_args(
        ["swarm", "run", "vicsek", "--backend", "firmware", "--agents", "33", "--out", "/tmp/unused"]
    )
    assert run_command(args, {}) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--agents 33: the firmware backend starts one SITL robot per agent, at most 32" in err[0]


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (
            ["--time-scale", "1.5"],
            "--time-scale: applies to --backend firmware only; drop it or give --backend firmware",
        ),
        (["--backend", "firmware", "--time-scale", "0"], "--time-scale"),
        (["--backend", "firmware", "--heartbeat-timeout", "nan"], "--heartbeat-timeout"),
        (["--backend", "firmware", "--time-scale", "20"], "--time-scale"),
    ],
)
def test_bad_firmware_options_are_refused_in_one_line_before_any_robot_starts(
    extra: list[str], expected: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from fleetmind.app.cli import build_parser, run_command

    args = build_parser()[0].parse_args(["swarm", "run", "vicsek", "--agents", "4", "--out", str(tmp_path), *extra])
    assert run_command(args, {}) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and expected in err[0]
    assert not (tmp_path / "metrics.json").exists()


def test_firmware_options_reach_the_firmware_fleet(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import fleetmind.app.swarm_run as swarm_run
    from fleetmind.app.cli import build_parser, run_command

    seen: dict[str, Any] = {}

    def fake(task: Any, config: Any, *args: Any) -> dict[str, Any]:
        seen["backend"], seen["firmware"] = args[-2], args[-1]
        return {"final_order_parameter": 1.0, "steady_order_parameter": 1.0, "seconds": 0.0}

    monkeypatch.setattr(swarm_run, "run_swarm", fake)
    argv = ["swarm", "run", "vicsek", "--agents", "4", "--backend", "firmware", "--out", str(tmp_path), "-q"]
    flags = ["--time-scale", "1.25", "--on-lost", "fail", "--heartbeat-timeout", "2"]
    assert run_command(build_parser()[0].parse_args([*argv, *flags]), {}) == 0
    fw = seen["firmware"]
    assert seen["backend"] == "firmware" and (fw.time_scale, fw.on_lost, fw.heartbeat_timeout) == (1.25, "fail", 2.0)
    assert run_command(build_parser()[0].parse_args(argv), {}) == 0
    assert seen["firmware"] is None  # none given: run_swarm applies the defaults


def test_a_swarm_none_of_whose_robots_answers_ends_as_unreachable() -> None:
    fleet, doubles, _ = swarm_on_doubles()
    for d in doubles:
        d.powered = False
    fleet.reset(0)
    result = fleet.step({rid: SetVelocity(0.2, 0.0) for rid in (R0, R1, R2)})
    assert result.done and result.failure_reason == "robots_unreachable"
