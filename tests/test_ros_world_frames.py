"""The world node's frames, e-stop and parameters on real rclpy, in process: tf ``map -> <robot>/odom ->
<robot>/base_link`` for every robot, odometry in ``<robot>/odom``, PyBullet's physics pose (not the grid cell) at 20 Hz
of simulated time with ``/clock``, ``/fleet/estop`` ending the episode, parameter changes applied or refused."""

from __future__ import annotations

import json
import math

import pytest

from fleetmind.ros import tf
from tests.test_ros_nodes import SCENARIO, _listen, ros  # noqa: F401 - the fixture


def test_tf_tree_is_map_odom_base_link_per_robot_and_refuses_two_parents_or_cycles():
    origins = {"robot_0": (1.0, 2.0, 0.5), "robot_1": (0.0, 0.0, 0.0)}
    poses = {"robot_0": (0.5, 0.0, 0.0), "robot_1": (3.0, 1.0, -1.0)}
    transforms = tf.static_transforms(origins) + tf.robot_transforms(poses)
    parents = tf.tree(transforms)
    assert tf.chain(parents, "robot_0/base_link") == ["robot_0/base_link", "robot_0/odom", "map"]
    assert tf.chain(parents, "robot_1/base_link") == ["robot_1/base_link", "robot_1/odom", "map"]
    assert set(parents) == {"robot_0/odom", "robot_0/base_link", "robot_1/odom", "robot_1/base_link"}
    x, y, yaw = tf.compose(origins["robot_0"], poses["robot_0"])  # base_link in map: 0.5 m along yaw 0.5
    assert (round(x, 4), round(y, 4), yaw) == (round(1.0 + 0.5 * 0.8775826, 4), round(2.0 + 0.5 * 0.4794255, 4), 0.5)
    assert transforms[0].quaternion() == pytest.approx((0.0, 0.0, 0.2474040, 0.9689124))
    with pytest.raises(ValueError, match="frame 'robot_0/odom' has two parents: 'map' and 'world'"):
        tf.tree([*transforms, tf.Transform("world", "robot_0/odom")])
    with pytest.raises(ValueError, match="tf cycle"):
        tf.tree([tf.Transform("a", "b"), tf.Transform("b", "a")])


def test_grid_world_publishes_odometry_and_tf_for_every_robot(ros):  # noqa: F811
    from nav_msgs.msg import Odometry

    from fleetmind.ros.world_node import WorldNode

    world = ros["make"](WorldNode, scenario=SCENARIO, autostart=False)
    odom = _listen(ros, Odometry, "/robot_1/odom")
    world.start_episode()
    assert ros["spin_until"](lambda: len(odom) >= 3, 10.0)  # the 20 Hz timer
    parents = tf.tree(world.out.tf.current())
    for r in world.robots:
        assert tf.chain(parents, f"{r}/base_link") == [f"{r}/base_link", f"{r}/odom", "map"]
    x, y = world.obs.robots["robot_1"].data["cell"][1] + 0.5, world.obs.robots["robot_1"].data["cell"][0] + 0.5
    last = odom[-1]
    assert (last.header.frame_id, last.child_frame_id) == ("robot_1/odom", "robot_1/base_link")
    assert (last.pose.pose.position.x, last.pose.pose.position.y) == (x, y)
    dynamic = {t.child: t for t in world.out.tf.last}
    assert (dynamic["robot_1/base_link"].x, dynamic["robot_1/base_link"].y) == (x, y)
    assert all(t.parent == "map" and (t.x, t.y, t.yaw) == (0, 0, 0) for t in world.out.tf.static_sent)


def test_estop_service_ends_the_episode_and_latches_until_the_next_one(ros):  # noqa: F811
    from std_msgs.msg import String
    from std_srvs.srv import Trigger

    from fleetmind.ros import common as rc
    from fleetmind.ros.world_node import WorldNode

    world = ros["make"](WorldNode, scenario=SCENARIO, autostart=False)
    states = _listen(ros, String, rc.ESTOP_STATE_TOPIC, rc.latched_qos())
    world.start_episode()
    client = world.create_client(Trigger, rc.ESTOP_SERVICE)
    assert client.wait_for_service(timeout_sec=5.0)
    future = client.call_async(Trigger.Request())
    assert ros["spin_until"](future.done, 5.0) and future.result().success
    assert ros["spin_until"](lambda: bool(states), 5.0)
    latched = json.loads(states[-1].data)
    assert isinstance(latched.pop("stamp"), float)  # wall-clock publish time: a bridge logs how late it got it
    assert latched == {"schema": "fleetmind/estop/1", "active": True, "reason": "/fleet/estop"}
    doc = world.state_doc()
    assert (doc["done"], doc["success"], doc["failure_reason"], doc["estop"]) == (True, False, "estop", True)
    world.on_command("robot_0", json.dumps({"episode": 1, "step": 0, "action": "move up"}))
    assert world.pending == {}  # a stopped episode takes no commands
    world.start_episode()  # the operator starts the next one: e-stop cleared
    assert ros["spin_until"](lambda: not json.loads(states[-1].data)["active"], 5.0)
    assert not world.done and not world.estopped


def test_world_parameters_apply_or_are_refused(ros):  # noqa: F811
    from rclpy.parameter import Parameter as P

    from fleetmind.ros.world_node import WorldNode

    world = ros["make"](WorldNode, scenario=SCENARIO, autostart=False)
    assert world.set_parameters([P("odom_period_s", value=0.02)])[0].successful
    assert world.pose_timer.timer_period_ns == 20_000_000 and world.params.odom_period_s == 0.02
    slow = world.set_parameters([P("odom_period_s", value=0.1)])[0]
    assert not slow.successful and "odom_period_s" in slow.reason and "0.05" in slow.reason
    fixed = world.set_parameters([P("scenario", value="scenarios/warehouse_4.yaml")])[0]
    assert fixed.reason == "parameter scenario: read at start only; restart the node with the new value"
    assert world.set_parameters([P("frame_id", value="world")])[0].successful and world.out.map_frame == "world"
    from fleetmind.ros.common import ParameterError

    with pytest.raises(ParameterError, match="parameter links: 'bridges' drives a backend: firmware scenario"):
        WorldNode(
            context=ros["context"], parameter_overrides=[P("scenario", value=SCENARIO), P("links", value="bridges")]
        )


def test_pybullet_odometry_is_the_physics_pose_at_20_hz_of_sim_time_with_clock(ros):  # noqa: F811
    pytest.importorskip("pybullet")
    from fleetmind.robots.commands import Wait
    from nav_msgs.msg import Odometry
    from rosgraph_msgs.msg import Clock

    from fleetmind.ros.world_node import WorldNode

    world = ros["make"](WorldNode, scenario="scenarios/warehouse_4_pybullet.yaml", autostart=False)
    received = _listen(ros, Clock, "/clock", 100)
    world.start_episode()
    assert ros["spin_until"](lambda: bool(received), 10.0)  # /clock reaches other nodes
    # what the node publishes, taken at the publisher: a subscriber in this same thread cannot drain its queue while
    # the step runs, so in-process delivery would drop messages that another process gets
    odom: list[Odometry] = []
    clock: list[Clock] = []
    for pub, into in ((world.out.odom_pubs["robot_0"], odom), (world.out.clock_pub, clock)):
        pub.publish = lambda m, send=pub.publish, into=into: (into.append(m), send(m))
    moves = {r: next(c for c in o.legal if not isinstance(c, Wait)).text for r, o in world.obs.robots.items()}
    t0 = world.obs.world["sim_time"]
    for r, action in moves.items():  # the last command steps the world (physics runs inside this call)
        world.on_command(r, json.dumps({"episode": 1, "step": 0, "action": action}))
    assert world.obs.step == 1
    elapsed = world.obs.world["sim_time"] - t0
    assert elapsed > 1.0
    stamps = [m.clock.sec + m.clock.nanosec * 1e-9 for m in clock]
    during = [s for s in stamps if t0 < s <= t0 + elapsed + 1e-6]
    assert len(during) >= 20 * elapsed - 1  # 20 Hz of simulated time while physics ran
    assert stamps == sorted(stamps)
    odom_stamps = [m.header.stamp.sec + m.header.stamp.nanosec * 1e-9 for m in odom]
    assert odom_stamps == stamps  # odometry stamped with simulated time, one per /clock tick
    x, y, yaw = world.fleet.poses()["robot_0"]
    last = odom[-1]
    assert (last.pose.pose.position.x, last.pose.pose.position.y) == pytest.approx((x, y), abs=1e-6)
    from fleetmind.ros.common import grid_xy

    assert (x, y) != grid_xy(world.obs, "robot_0", 1.0)  # physics, not the grid cell's centre
    assert last.pose.pose.orientation.z == pytest.approx(math.sin(yaw / 2), abs=1e-6)


def test_the_recorder_writes_the_world_s_tf_to_the_bag_as_tf2_messages(ros, tmp_path):  # noqa: F811
    from rosbags.highlevel import AnyReader

    from fleetmind.ros.recorder_node import RecorderNode
    from fleetmind.ros.world_node import WorldNode

    bag = tmp_path / "bag"
    recorder = ros["make"](RecorderNode, path=str(bag), robots=["robot_0"])
    world = ros["make"](WorldNode, scenario=SCENARIO, autostart=False)
    world.start_episode()
    assert ros["spin_until"](lambda: recorder.counts.get("/tf", 0) >= 3 and "/tf_static" in recorder.counts, 10.0)
    ros["nodes"].remove(recorder)
    ros["executor"].remove_node(recorder)
    recorder.destroy_node()  # closes the bag
    with AnyReader([bag]) as reader:
        conns = {c.topic: c for c in reader.connections}
        assert conns["/tf"].msgtype == conns["/tf_static"].msgtype == "tf2_msgs/msg/TFMessage"
        static = [reader.deserialize(raw, c.msgtype) for c, _, raw in reader.messages([conns["/tf_static"]])]
        dynamic = [reader.deserialize(raw, c.msgtype) for c, _, raw in reader.messages([conns["/tf"]])]
    pairs = {(t.header.frame_id, t.child_frame_id) for m in static for t in m.transforms}
    assert pairs == {("map", f"robot_{k}/odom") for k in range(4)}
    last = {t.child_frame_id: t for t in dynamic[-1].transforms}
    x, y = (v + 0.5 for v in world.obs.robots["robot_2"].data["cell"][::-1])
    tr = last["robot_2/base_link"]
    assert (tr.header.frame_id, tr.transform.translation.x, tr.transform.translation.y) == ("robot_2/odom", x, y)
    assert tr.transform.rotation.w == 1.0
