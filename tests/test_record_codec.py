"""The recording's fast CDR codec writes the bytes mcap_ros2's generic encoder writes and reads them back; a lifelong
MAPF recording round-trips through the standard decoder (what Foxglove and ros2 bag use) and through replay."""

from __future__ import annotations

import math

import numpy as np
import pytest
from fleetmind.robots.scene import Item
from fleetmind.sim.record import _cdr
from fleetmind.sim.record.schemas import msgdef, schema_name
from fleetmind.sim.record.writer import _header, _quat, markers_message
from mcap_ros2._dynamic import serialize_dynamic


def _generic(kind: str):
    return serialize_dynamic(schema_name(kind), msgdef(kind))[schema_name(kind)]


def test_fast_encoders_write_the_generic_encoders_bytes_and_decoders_read_them_back():
    pose = {
        "header": _header(12.3456789),
        "pose": {"position": {"x": 1.5, "y": -2.25, "z": 0.1}, "orientation": _quat(0.7)},
    }
    data = _cdr.encode_pose_stamped(pose)
    assert data == _generic("geometry_msgs/PoseStamped")(pose)
    assert data == _cdr.pose_in_world(12, 345678900, 1.5, -2.25, 0.1, math.sin(0.35), math.cos(0.35))
    x, y, z, qx, qy, qz, qw = _cdr.decode_pose(data)
    assert (x, y, z) == (1.5, -2.25, 0.1) and math.atan2(2 * qw * qz, 1 - 2 * qz * qz) == pytest.approx(0.7)
    text = {"data": 'héllo {"a": [1, 2]}'}
    assert _cdr.encode_string(text) == _generic("std_msgs/String")(text)
    assert _cdr.decode_string(_cdr.encode_string(text)) == text["data"]
    items = [Item("g" + "x" * k, (0.5 * k, 1.0 + k, 0.0), (0.3, 0.4, 0.1), (0.1, 0.2, 0.3, 1.0)) for k in range(5)]
    for some in (items, items[:1], []):
        markers = markers_message(some, "targets", 3.5)
        data = _cdr.encode_marker_array(markers)
        assert data == _generic("visualization_msgs/MarkerArray")(markers)
        assert _cdr.cube_markers(3, 500_000_000, "targets", some) == data  # the writer's direct form
        got = _cdr.decode_marker_items(data)  # DELETEALL first, then one ADD per item
        assert [g[:4] for g in got] == [(0.5 * k, 1.0 + k, 0.3, 0.4) for k in range(len(some))]
        assert all(g[4] == pytest.approx((0.1, 0.2, 0.3, 1.0)) for g in got)
    image = {"header": _header(1.0), "height": 2, "width": 3, "encoding": "rgb8", "is_bigendian": 0, "step": 9}
    image["data"] = np.arange(18, dtype=np.uint8).tobytes()
    assert _cdr.encode_image(image) == _generic("sensor_msgs/Image")(image)


def test_lifelong_mapf_recording_round_trips_through_the_standard_decoder_and_replay(tmp_path):
    from fleetmind.planners.mapf import make_pibt
    from fleetmind.sim.grid.mapf import MapfFleet
    from fleetmind.sim.record import RecordingFleet
    from fleetmind.sim.record.replay import read_recording, write_gif
    from fleetmind.tasks.mapf_lifelong.generators import warehouse
    from mcap.reader import make_reader
    from mcap_ros2.decoder import DecoderFactory

    from fleetmind.app.runner import run_episode

    fleet = RecordingFleet(MapfFleet(warehouse(12, 24, seed=1, shelf_length=4, margin=2), 6, 8), tmp_path, "wh")
    run_episode(fleet, make_pibt("mapf_lifelong"), 0)
    fleet.close()
    path = fleet.paths[0]
    with path.open("rb") as f:  # the standard decoder reads every message
        decoded = list(make_reader(f, decoder_factories=[DecoderFactory()]).iter_decoded_messages())
    poses = {}
    for _, channel, record, msg in decoded:
        if channel.topic.endswith("/pose"):
            poses[(record.log_time, channel.topic.split("/")[1])] = (msg.pose.position.x, msg.pose.position.y)
    assert len(poses) == 6 * 9  # six robots, the reset frame and eight steps
    rec = read_recording(path)
    assert len(rec.frames) == 9 and len(rec.plans) == 8 and rec.metrics[-1]["steps"] == 8
    for frame in rec.frames:
        for name, (x, y, _) in frame.robots.items():
            assert poses[(round(frame.t * 1e9), name)] == (x, y)
    assert len(rec.frames[0].targets) == 6  # one goal pad per robot
    gif = write_gif(rec, tmp_path / "wh.gif", max_frames=3)
    assert gif.stat().st_size > 1000
