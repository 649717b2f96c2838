"""``fleetmind_bridge`` lifecycle, parameters, e-stop and diagnostics on a manual clock against the in-process robot
double (no SITL, no wall-clock windows): configure opens the link, activate enables motion, deactivate stops and
disarms, cleanup closes; a lost link ends in on_error (stopped, closed, unconfigured); every parameter change is
applied at once or refused with the reason; diagnostics levels follow link, e-stop, battery and watchdog."""

from __future__ import annotations

import pytest
from fleetmind.firmware_bridge import messages as wire
from fleetmind.robots.clock import ManualClock

from tests.test_ros_nodes import ros  # noqa: F401 - the fixture

OK, WARN, ERROR = 0, 1, 2


def _telemetry(battery: float = 12.0, status: wire.Status = wire.Status.ARMED) -> wire.Telemetry:
    return wire.Telemetry(0.0, 0.0, 0.0, 0.0, 0.0, battery, status, 0)


def _bridge(ros_fixture, **overrides):
    from rclpy.parameter import Parameter

    from fleetmind.ros.bridge_node import BridgeNode
    from fleetmind.testing.robot_double import RobotDouble

    clock = ManualClock()
    robot = RobotDouble(clock, 7)
    opened: list[object] = []

    def open_transport(cfg):
        opened.append(cfg)
        return robot

    params = {"wire_id": 7, "udp_host": "127.0.0.1", "udp_port": 9, "heartbeat_timeout_s": 0.2}
    params |= {"command_timeout_s": 0.3, "period_s": 0.04} | overrides
    bridge = BridgeNode(
        clock=clock,
        open_transport=open_transport,
        context=ros_fixture["context"],
        namespace="robot_0",
        parameter_overrides=[Parameter(k, value=v) for k, v in params.items()],
    )
    ros_fixture["nodes"].append(bridge)  # not spun: the test calls tick() itself, in simulated time
    return bridge, robot, clock, opened


def _drive(bridge, clock, v: float, ticks: int = 3) -> None:
    from geometry_msgs.msg import TwistStamped

    cmd = TwistStamped()
    cmd.twist.linear.x = v
    for _ in range(ticks):
        bridge.on_cmd_vel(cmd)
        clock.advance(0.04)
        bridge.tick()


def test_lifecycle_configure_opens_activate_enables_deactivate_stops_cleanup_closes(ros):  # noqa: F811
    from rclpy.lifecycle import TransitionCallbackReturn as R

    bridge, robot, clock, opened = _bridge(ros)
    assert bridge.link is None and not opened
    assert bridge.health().level == ERROR and bridge.health().message == "link closed"

    assert bridge.trigger_configure() == R.SUCCESS
    assert len(opened) == 1 and bridge.link is not None  # the link is open ...
    assert not robot.armed and bridge.timer is None  # ... but nothing moves yet
    bridge.link.poll(0.05)
    assert bridge.health().level == ERROR and bridge.health().message == "inactive: not driving"

    assert bridge.trigger_activate() == R.SUCCESS
    assert robot.armed and bridge.timer is not None
    _drive(bridge, clock, 0.5)
    assert robot.v == 0.5 and bridge.health().level == OK and bridge.health().message == "driving"

    assert bridge.trigger_deactivate() == R.SUCCESS
    assert [r.message for r in robot.received[-2:]] == [wire.SetVelocityMsg(0.0, 0.0), wire.Disarm()]
    assert robot.v == 0.0 and not robot.armed and bridge.timer is None and bridge.link is not None

    assert bridge.trigger_cleanup() == R.SUCCESS
    assert bridge.link is None and bridge.transport is None

    assert bridge.trigger_configure() == R.SUCCESS and bridge.trigger_activate() == R.SUCCESS  # again, cleanly
    assert len(opened) == 2 and robot.armed


def test_a_lost_link_stops_the_robot_and_ends_in_on_error_unconfigured(ros):  # noqa: F811
    from rclpy.lifecycle import TransitionCallbackReturn as R

    bridge, robot, clock, _ = _bridge(ros)
    assert bridge.trigger_configure() == R.SUCCESS and bridge.trigger_activate() == R.SUCCESS
    _drive(bridge, clock, 0.4)
    robot.to_host = False
    for _ in range(10):
        clock.advance(0.04)
        if bridge.timer is not None:
            bridge.tick()
    assert bridge.last_error == "link lost: no telemetry for 0.2s"
    assert robot.v == 0.0 and not robot.armed  # stopped and disarmed before the link closed
    assert bridge.link is None and bridge.odom_pub is None  # on_error closed it
    assert bridge._state_machine.current_state[1] == "unconfigured"
    assert bridge.health().level == ERROR
    robot.to_host = True
    assert bridge.trigger_configure() == R.SUCCESS and bridge.trigger_activate() == R.SUCCESS  # recovers


def test_activate_without_telemetry_fails_and_moves_nothing(ros):  # noqa: F811
    from rclpy.lifecycle import TransitionCallbackReturn as R

    bridge, robot, clock, _ = _bridge(ros, connect_timeout_s=0.3)
    robot.powered = False
    assert bridge.trigger_configure() == R.SUCCESS
    assert bridge.trigger_activate() == R.FAILURE
    assert bridge.last_error == "activate: no telemetry within 0.3s" and bridge.timer is None and not robot.armed


def test_parameter_changes_apply_at_once_or_are_refused_with_the_reason(ros):  # noqa: F811
    from rclpy.lifecycle import TransitionCallbackReturn as R
    from rclpy.parameter import Parameter as P

    bridge, robot, clock, _ = _bridge(ros)
    assert bridge.trigger_configure() == R.SUCCESS and bridge.trigger_activate() == R.SUCCESS
    _drive(bridge, clock, 0.7)
    assert robot.v == 0.7

    assert bridge.set_parameters([P("max_linear", value=0.3)])[0].successful
    clock.advance(0.04)
    bridge.tick()  # the command already streaming is clamped at the next tick, not at the next cmd_vel
    assert robot.received[-1].message == wire.SetVelocityMsg(0.3, 0.0) and robot.v == 0.3
    _drive(bridge, clock, 0.9, ticks=1)
    assert robot.v == 0.3 and bridge.params.max_linear == 0.3

    assert bridge.set_parameters([P("command_timeout_s", value=0.1)])[0].successful
    assert bridge.watchdog.timeout == 0.1
    assert bridge.set_parameters([P("heartbeat_timeout_s", value=0.9)])[0].successful
    assert bridge.link.monitor.timeout == 0.9
    assert bridge.set_parameters([P("period_s", value=0.05)])[0].successful
    assert bridge.timer.timer_period_ns == 50_000_000  # the timer was made again at the new period

    refused = bridge.set_parameters([P("udp_port", value=4242)])[0]
    assert not refused.successful
    assert (
        refused.reason == "parameter udp_port: the link is open; deactivate and clean up the bridge first, then set it"
    )
    assert bridge.get_parameter("udp_port").value == 9 and bridge.params.udp_port == 9
    refused = bridge.set_parameters([P("robot", value="robot_9")])[0]
    assert not refused.successful and "read at start only" in refused.reason
    refused = bridge.set_parameters([P("max_linear", value=-1.0)])[0]
    assert not refused.successful and "max_linear" in refused.reason and bridge.params.max_linear == 0.3
    refused = bridge.set_parameters([P("battery_error_v", value=11.5)])[0]
    assert refused.reason == "parameter battery_error_v: 11.5 must be below battery_warn_v (11.1)"

    assert bridge.trigger_deactivate() == R.SUCCESS and bridge.trigger_cleanup() == R.SUCCESS
    assert bridge.set_parameters([P("udp_port", value=4242)])[0].successful  # link closed: it applies
    assert bridge.params.link_config("robot_0").udp_port == 4242


def test_estop_state_latches_the_firmware_estop_and_holds_zero_velocity(ros):  # noqa: F811
    from rclpy.lifecycle import TransitionCallbackReturn as R

    bridge, robot, clock, _ = _bridge(ros)
    assert bridge.trigger_configure() == R.SUCCESS and bridge.trigger_activate() == R.SUCCESS
    _drive(bridge, clock, 0.5)

    def slow_logger() -> None:  # rclpy's logger inspects its caller (~0.1-0.2 s): never on the e-stop path
        raise AssertionError("rclpy logger called on the e-stop path")

    bridge.get_logger = slow_logger
    bridge.on_estop('{"schema": "fleetmind/estop/1", "active": true, "reason": "test", "stamp": 1.0}')
    assert robot.estop  # sent from the subscription callback itself, before the next tick
    del bridge.get_logger
    _drive(bridge, clock, 0.5)  # fresh commands keep coming: still zero
    assert robot.estop and robot.v == 0.0
    assert all(v == 0.0 for t, v, _ in robot.velocities() if t > clock.now() - 0.1)
    health = bridge.health()
    assert health.level == ERROR and "e-stop latched" in health.message
    bridge.on_estop("not json")  # malformed: dropped, still latched
    assert bridge.estop


def test_health_levels_from_link_battery_estop_and_watchdog():
    from fleetmind.ros.health import HealthMonitor, Level

    h = HealthMonitor(battery_warn_v=11.1, battery_error_v=10.5)
    assert h.health("up", True, _telemetry()).level == Level.OK
    low = h.health("up", True, _telemetry(battery=11.0))
    assert (low.level, low.message) == (Level.WARN, "battery low (11.00 V)")
    flagged = h.health("up", True, _telemetry(status=wire.Status.ARMED | wire.Status.LOW_BATTERY))
    assert flagged.level == Level.WARN
    empty = h.health("up", True, _telemetry(battery=10.4))
    assert (empty.level, empty.message) == (Level.ERROR, "battery 10.40 V < 10.5 V")
    assert h.health("lost", True, _telemetry()).level == Level.ERROR
    assert h.health("up", True, _telemetry(status=wire.Status.ESTOP)).message == "e-stop latched"
    assert h.health("up", True, _telemetry(), estop=True).level == Level.ERROR
    assert h.health("up", True, None).message == "no telemetry yet"
    assert h.health("up", True, _telemetry(status=wire.Status(0))).message == "disarmed"

    tripped = h.health("up", True, _telemetry(status=wire.Status.ARMED | wire.Status.WATCHDOG))
    assert (tripped.level, tripped.message, tripped.values["watchdog_trips"]) == (
        Level.WARN,
        "command watchdog tripped",
        "1",
    )
    h.observe(_telemetry())  # cleared, then tripped and cleared again between two reports
    h.observe(_telemetry(status=wire.Status.ARMED | wire.Status.WATCHDOG))
    again = h.health("up", True, _telemetry())
    assert (again.level, again.message) == (Level.WARN, "command watchdog tripped 2x")
    assert h.health("up", True, _telemetry()).level == Level.OK  # reported once, then OK
    worst = h.health("lost", False, _telemetry(battery=11.0))
    assert worst.level == Level.ERROR and worst.message == "link lost; battery low (11.00 V)"


@pytest.mark.parametrize("level", [0, 1])
def test_the_planner_counts_ok_and_warn_heartbeats_but_not_errors(ros, level):  # noqa: F811
    from fleetmind.ros import common as rc
    from fleetmind.ros.planner_node import PlannerNode

    planner = ros["make"](PlannerNode, scenario="scenarios/boxnet1_2x2.yaml", planner="dmas")
    for lvl in (2, level):
        beat = rc.heartbeat(planner, "robot_0", "fleetmind_bridge", {}, lvl, "x")
        planner.on_diagnostics(beat)
        assert ("robot_0" in planner.heartbeats.last_beat) == (lvl < 2)


def test_use_sim_time_stamps_follow_clock_while_deadline_timers_run_on_steady_time(ros):  # noqa: F811
    from diagnostic_msgs.msg import DiagnosticArray
    from rosgraph_msgs.msg import Clock

    from fleetmind.ros.bridge_node import BridgeNode
    from fleetmind.ros.graph import node_graph
    from tests.test_ros_nodes import _listen

    ros["make"](BridgeNode, "robot_0", wire_id=7, diagnostics_period_s=0.1, use_sim_time=True)
    beats = _listen(ros, DiagnosticArray, "/diagnostics", 50)
    clock_pub = ros["nodes"][-1].create_publisher(Clock, "/clock", 10)
    simulated = Clock()
    simulated.clock.sec = 42  # simulated time stands still at 42 s

    def stamped_42() -> bool:
        clock_pub.publish(simulated)
        return sum(b.header.stamp.sec == 42 for b in beats) >= 3

    assert ros["spin_until"](stamped_42, 10.0)  # stamps in simulated time; the timer kept firing on steady time
    graph = {n.role: n.parameters for n in node_graph("scenarios/warehouse_4_pybullet.yaml")}
    assert graph["planner"]["use_sim_time"] is True and "use_sim_time" not in graph["world"]  # the world is the clock
