"""In-process tests of the ROS 2 nodes on real rclpy: world, planner and agents in one executor, spun for a
bounded time. Step counts are checked against the plain (ROS-free) runner on the same seed."""

from __future__ import annotations

import itertools
import json
import os
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import rclpy
from rclpy.context import Context
from rclpy.executors import SingleThreadedExecutor
from rclpy.parameter import Parameter

SCENARIO = "scenarios/boxnet1_2x2.yaml"
_domains = itertools.count()


@pytest.fixture
def ros(ros_env, monkeypatch) -> Iterator[dict[str, Any]]:
    """A private rclpy context and executor; every node made with ``make`` is destroyed afterwards."""
    monkeypatch.setenv("ROS_DOMAIN_ID", str(101 + (os.getpid() * 7 + next(_domains)) % 120))
    context = Context()
    rclpy.init(context=context)
    executor = SingleThreadedExecutor(context=context)
    nodes: list[Any] = []

    def make(cls: type, namespace: str | None = None, **params: Any) -> Any:
        kwargs: dict[str, Any] = {
            "context": context,
            "parameter_overrides": [Parameter(k, value=v) for k, v in params.items()],
        }
        if namespace:
            kwargs["namespace"] = namespace
        node = cls(**kwargs)
        nodes.append(node)
        executor.add_node(node)
        return node

    def spin_until(cond: Callable[[], bool], timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while not cond() and time.monotonic() < deadline:
            executor.spin_once(timeout_sec=0.05)
        return cond()

    try:
        yield {"context": context, "executor": executor, "make": make, "spin_until": spin_until, "nodes": nodes}
    finally:
        executor.shutdown()
        for n in nodes:
            n.destroy_node()
        rclpy.shutdown(context=context)


def _baseline_steps(planner: str) -> int:
    from fleetmind.planners.llm.config import LLMSettings

    from fleetmind.app.runner import RunConfig, run
    from fleetmind.app.scenario import load_scenario

    result = run(RunConfig(scenario=load_scenario(SCENARIO), planner=planner, seed=0, episodes=1, llm=LLMSettings()))
    assert result.episodes[0].success
    return result.episodes[0].steps


def _listen(ros: dict[str, Any], msg_type: type, topic: str, qos: Any = 10) -> list[Any]:
    got: list[Any] = []
    probe = rclpy.create_node(f"probe_{len(ros['nodes'])}", context=ros["context"])
    probe.create_subscription(msg_type, topic, got.append, qos)
    ros["nodes"].append(probe)
    ros["executor"].add_node(probe)
    return got


def test_world_and_oracle_planner_run_an_episode_over_topics(ros):
    from nav_msgs.msg import Odometry
    from std_msgs.msg import String
    from visualization_msgs.msg import MarkerArray

    from fleetmind.ros import common as rc
    from fleetmind.ros.planner_node import PlannerNode
    from fleetmind.ros.world_node import WorldNode

    odom = _listen(ros, Odometry, "/robot_3/odom")
    markers = _listen(ros, MarkerArray, rc.MARKERS_TOPIC)
    task = _listen(ros, String, "/robot_0/task_state", rc.latched_qos())
    world = ros["make"](WorldNode, scenario=SCENARIO, state_period_s=0.5)
    ros["make"](PlannerNode, scenario=SCENARIO, planner="oracle")
    assert ros["spin_until"](lambda: world.done, 30.0), "episode did not end within 30 s"
    assert world.last is not None and world.last.success
    assert world.last.metrics["steps"] == _baseline_steps("oracle") == 7
    assert ros["spin_until"](lambda: odom and markers and task and json.loads(task[-1].data)["done"], 5.0)
    # robot_3 stands in cell (1, 1) of the 2x2 grid: x = col + 0.5, y = row + 0.5
    assert (odom[-1].pose.pose.position.x, odom[-1].pose.pose.position.y) == (1.5, 1.5)
    assert odom[-1].header.frame_id == "robot_3/odom" and odom[-1].child_frame_id == "robot_3/base_link"
    labels = [m.text for m in markers[-1].markers if m.ns == "labels"]
    assert labels == ["robot_0", "robot_1", "robot_2", "robot_3"]
    doc = json.loads(task[-1].data)
    assert doc["schema"] == "fleetmind/task_state/1" and doc["robot"] == "robot_0" and doc["done"] is True
    state = world.state_doc()
    assert state["schema"] == "fleetmind/state/1" and state["success"] and state["metrics"]["boxes_left"] == 0


def test_reset_service_starts_the_next_episode(ros):
    from std_srvs.srv import Trigger

    from fleetmind.ros.world_node import WorldNode

    world = ros["make"](WorldNode, scenario=SCENARIO, autostart=False)
    assert world.obs is None
    client = world.create_client(Trigger, "/fleet/reset")
    assert client.wait_for_service(timeout_sec=5.0)
    future = client.call_async(Trigger.Request())
    assert ros["spin_until"](future.done, 10.0)
    assert future.result().success and json.loads(future.result().message) == {"episode": 1, "seed": 0}
    assert world.obs is not None and world.obs.step == 0 and not world.done


def test_world_steps_through_the_shield_and_ends_a_refused_step_with_shield(ros):
    """The robots' commands of one step go through the runner's shield stage: a colliding joint plan never runs."""
    from itertools import combinations, product

    from fleetmind.planners.shield import check_plan
    from fleetmind.robots.commands import Wait

    from fleetmind.ros.world_node import WorldNode

    world = ros["make"](WorldNode, scenario="scenarios/boxnet2_2x2.yaml", autostart=False)
    world.start_episode()
    robots = world.obs.robots
    plan = next(
        {a: ca, b: cb}
        for a, b in combinations(robots, 2)
        for ca, cb in product(robots[a].legal, robots[b].legal)
        if check_plan(world.obs, {a: ca, b: cb})
    )
    world.pending = {r: plan.get(r, Wait()) for r in robots}
    world.try_step()
    assert world.done and world.failure == "shield" and world.obs.step == 0 and world.last is None
    state = world.state_doc()
    assert state["failure_reason"] == "shield" and state["metrics"]["shield_rejections"] == 1
    assert state["rejected"] == [f"shield: {v}" for v in check_plan(world.obs, plan)]


@pytest.mark.parametrize("framework", ["dmas", "hmas1", "hmas2"])
def test_agents_reason_in_their_own_nodes(ros, framework):
    from fleetmind.ros.agent_node import AgentNode
    from fleetmind.ros.planner_node import PlannerNode
    from fleetmind.ros.world_node import WorldNode

    world = ros["make"](WorldNode, scenario=SCENARIO, state_period_s=0.5)
    planner = ros["make"](PlannerNode, scenario=SCENARIO, planner=framework)
    agents = [ros["make"](AgentNode, r, scenario=SCENARIO, framework=framework) for r in world.robots]
    assert ros["spin_until"](lambda: world.done, 60.0), f"{framework} episode did not end within 60 s"
    assert world.last is not None and world.last.success
    assert world.last.metrics["steps"] == _baseline_steps(framework)
    session = planner.planner.session
    planner_roles = {c.role for c in session.calls} if session else set()
    agent_roles = {c.role for a in agents for c in a.llm.session.calls}
    if framework == "dmas":  # no central reasoning at all: every model call is a robot's own turn
        assert session is None and agent_roles == {"turn"}  # the planner never even connects to a model
    elif framework == "hmas1":  # the central plan opens the robots' own dialogue
        assert planner_roles == {"central"} and agent_roles == {"turn"}
    else:  # HMAS-2: the planner proposes, each robot checks its own part in its own node
        assert planner_roles == {"central"} and agent_roles == {"check"}
    assert all({c.robot for c in a.llm.session.calls} <= {a.robot} for a in agents)


def test_planner_drops_a_silent_agent_and_the_rest_carry_on(ros):
    from fleetmind.ros.agent_node import AgentNode
    from fleetmind.ros.planner_node import PlannerNode
    from fleetmind.ros.world_node import WorldNode

    world = ros["make"](WorldNode, scenario=SCENARIO, state_period_s=0.5)
    planner = ros["make"](PlannerNode, scenario=SCENARIO, planner="dmas", heartbeat_timeout_s=1.0)
    agents = {r: ros["make"](AgentNode, r, scenario=SCENARIO, framework="dmas") for r in world.robots}
    assert ros["spin_until"](lambda: world.obs is not None and world.obs.step >= 2, 30.0)
    victim = agents["robot_2"]
    ros["executor"].remove_node(victim)  # silent from now on: no heartbeats, no turns
    # when exactly is HeartbeatWatch's business (test_heartbeat_watch_*): here only that it happens, to robot_2
    assert ros["spin_until"](lambda: "robot_2" in planner.dropped, 20.0)
    assert "heartbeat" in planner.dropped["robot_2"]
    step_at_drop = world.obs.step
    assert ros["spin_until"](lambda: world.roster == {"robot_0", "robot_1", "robot_3"}, 5.0)
    assert ros["spin_until"](lambda: world.done, 60.0)
    assert world.last is not None and world.last.metrics["steps"] > step_at_drop  # the others kept working
    assert world.last.success or world.failure == "step_limit"


def test_heartbeat_watch_waits_for_first_beats_then_drops_the_missing_at_the_startup_timeout():
    from fleetmind.ros.common import HeartbeatWatch

    watch = HeartbeatWatch(["robot_0", "robot_1"], timeout_s=1.0, startup_timeout_s=5.0, started=100.0)
    watch.beat("robot_0", 101.0)
    watch.beat("robot_9", 101.0)  # not in the roster: ignored
    assert watch.startup(104.999) is None  # still waiting for robot_1
    assert watch.startup(105.0) == [("robot_1", "no heartbeat within startup_timeout_s=5.0")]
    watch.beat("robot_1", 102.0)
    assert watch.startup(102.0) == []  # everyone beat: ready at once, nobody to drop
    assert "robot_9" not in watch.last_beat


def test_heartbeat_watch_drops_a_robot_whose_last_beat_is_older_than_the_timeout():
    from fleetmind.ros.common import HeartbeatWatch

    watch = HeartbeatWatch(["robot_0", "robot_1", "robot_2"], timeout_s=1.0, startup_timeout_s=5.0, started=0.0)
    for r in ("robot_0", "robot_1", "robot_2"):
        watch.beat(r, 2.0)
    watch.beat("robot_1", 2.5)
    live = {"robot_0", "robot_1", "robot_2"}
    assert watch.stale(live, 2.999) == []
    assert watch.stale(live, 3.0) == []  # exactly timeout_s old: still fresh
    assert watch.stale(live, 3.001) == [
        ("robot_0", "heartbeat 1.00s old (heartbeat_timeout_s=1.0)"),
        ("robot_2", "heartbeat 1.00s old (heartbeat_timeout_s=1.0)"),
    ]
    assert watch.stale({"robot_1"}, 3.499) == [] and [r for r, _ in watch.stale({"robot_1"}, 3.501)] == ["robot_1"]
    never = HeartbeatWatch(["robot_0"], timeout_s=1.0, startup_timeout_s=5.0, started=10.0)
    assert [r for r, _ in never.stale({"robot_0"}, 11.001)] == ["robot_0"]  # no beat at all: counted from start


def test_bad_parameters_are_rejected_with_a_reason(ros):
    from rclpy.parameter import Parameter as P

    from fleetmind.ros.common import ParameterError
    from fleetmind.ros.planner_node import PlannerNode
    from fleetmind.ros.world_node import WorldNode

    with pytest.raises(ParameterError, match="unknown planner 'nope'"):
        PlannerNode(
            context=ros["context"], parameter_overrides=[P("scenario", value=SCENARIO), P("planner", value="nope")]
        )
    with pytest.raises(ParameterError, match=r"parameter llm.backend: 'gpt' is not allowed; allowed values: 'openai'"):
        PlannerNode(
            context=ros["context"], parameter_overrides=[P("scenario", value=SCENARIO), P("llm.backend", value="gpt")]
        )
    with pytest.raises(ParameterError, match="scenario file not found: nowhere.yaml"):
        WorldNode(context=ros["context"], parameter_overrides=[P("scenario", value="nowhere.yaml")])
    world = ros["make"](WorldNode, scenario=SCENARIO, autostart=False)
    result = world.set_parameters([P("state_period_s", value=-1.0)])[0]
    assert not result.successful and "state_period_s" in result.reason and "greater than 0" in result.reason
    assert world.get_parameter("state_period_s").value == 1.0
    assert world.set_parameters([P("state_period_s", value=2.0)])[0].successful
    descriptor = world.describe_parameter("seed")
    assert "Seed of the first episode" in descriptor.description


def test_hmas2_objections_go_back_to_the_planner_for_the_framework_s_revision_rounds(ros):
    """robot_0's agent objects to every plan (oracle-faulty): per frameworks.py the planner revises
    ``feedback_rounds`` (3) times, each revision is checked again except the last, and then it runs."""
    from std_msgs.msg import String

    from fleetmind.ros import common as rc
    from fleetmind.ros.agent_node import AgentNode
    from fleetmind.ros.planner_node import PlannerNode
    from fleetmind.ros.world_node import WorldNode

    dialogue = _listen(ros, String, rc.DIALOGUE_TOPIC, rc.latched_qos(50))
    world = ros["make"](WorldNode, scenario=SCENARIO, state_period_s=0.5)
    planner = ros["make"](PlannerNode, scenario=SCENARIO, planner="hmas2", reply_timeout_s=30.0)
    for r in world.robots:
        backend = "oracle-faulty" if r == "robot_0" else "oracle"
        ros["make"](AgentNode, r, scenario=SCENARIO, framework="hmas2", **{"llm.backend": backend})
    assert ros["spin_until"](lambda: world.done, 90.0), "hmas2 episode did not end within 90 s"
    assert world.last is not None and world.last.success and world.last.metrics["steps"] == 7
    docs = [json.loads(m.data) for m in dialogue]
    proposals: dict[int, list[dict]] = {}
    for d in docs:
        if d["kind"] == "proposal":
            proposals.setdefault(d["step"], []).append(d)
    checks = {(d["proposal"], d["robot"]): d["objection"] for d in docs if d["kind"] == "check"}
    centrals = [c for c in planner.planner.session.calls if c.role == "central"]
    assert sorted(proposals) == list(range(7))
    for step, rounds in proposals.items():
        objecting = "robot_0" in rounds[0]["checkers"]
        assert len(rounds) == (3 if objecting else 1), step  # checked rounds; the 3rd revision runs unchecked
        for p in rounds:
            for r in p["checkers"]:
                assert (checks[(p["proposal"], r)] is not None) == (r == "robot_0"), (step, r)
        assert sum(c.step == step for c in centrals) == (4 if objecting else 1), step


def test_world_waits_for_its_listeners_before_the_first_step_but_not_forever(ros):
    from fleetmind.ros.world_node import WorldNode

    started = time.monotonic()
    world = ros["make"](WorldNode, scenario=SCENARIO, min_subscribers=3, min_subscribers_wait_s=1.0)
    assert ros["spin_until"](lambda: world.obs is not None, 20.0)  # nobody listens: it starts anyway, but not early
    assert time.monotonic() - started >= 1.0 and world.obs.step == 0


def test_a_namespace_pushed_over_the_graph_moves_the_per_robot_topics(ros):
    """World and planner in ``/fleet_a``, each agent in ``/fleet_a/<robot>`` (what ``PushRosNamespace`` over the
    graph gives): every per-robot topic moves under ``/fleet_a``; the fleet-wide names stay where they are. DMAS
    agents send their commands on ``command``, so the episode ends only if the world hears them there."""
    from fleetmind.ros.agent_node import AgentNode
    from fleetmind.ros.planner_node import PlannerNode
    from fleetmind.ros.world_node import WorldNode

    world = ros["make"](WorldNode, "fleet_a", scenario=SCENARIO, state_period_s=0.5)
    planner = ros["make"](PlannerNode, "fleet_a", scenario=SCENARIO, planner="dmas")
    agents = [ros["make"](AgentNode, f"fleet_a/{r}", scenario=SCENARIO, framework="dmas") for r in world.robots]
    r0 = world.robots[0]
    assert {f"/fleet_a/{r0}/task_state", f"/fleet_a/{r0}/odom", "/fleet/state"} <= {
        p.topic_name for p in world.publishers
    }
    assert f"/fleet_a/{r0}/command" in {s.topic_name for s in world.subscriptions}
    assert f"/fleet_a/{r0}/command" in {p.topic_name for p in planner.publishers}
    assert f"/fleet_a/{r0}/command" in {p.topic_name for p in agents[0].publishers}
    assert "/diagnostics" in {p.topic_name for p in agents[0].publishers}
    assert ros["spin_until"](lambda: world.done, 60.0), "episode did not end within 60 s"
    assert world.last is not None and world.last.success
