"""A robot on another host is reachable over UDP: the transport binds the interface that routes to the robot (or
0.0.0.0 when asked), not always 127.0.0.1 (which made sending to 10.x fail with Errno 22).

The test builds its own network: it runs a helper under ``unshare --net`` (a private namespace, torn down with
it), adds a veth pair there, moves one end into a second private namespace that runs the SITL at 10.77.0.2, and
drives the SITL from 10.77.0.1. Nothing is sent to any address outside those two namespaces."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from fleetmind.testing.sitl import build_sitl

KEY = bytes(range(1, 33))

HELPER = r"""
import json, os, subprocess, sys, time
from pathlib import Path
from fleetmind.firmware_bridge.link import RobotLink
from fleetmind.firmware_bridge.messages import Ack, Arm, SetVelocityMsg
from fleetmind.firmware_bridge.transport import LinkDown, UdpTransport
from fleetmind.testing.sitl import Sitl

binary, key = Path(sys.argv[1]), bytes.fromhex(sys.argv[2])
HOST_IP, ROBOT_IP = "10.77.0.1", "10.77.0.2"


def sh(*cmd):
    subprocess.run(cmd, check=True, capture_output=True, timeout=10)


sh("ip", "link", "set", "lo", "up")
sh("ip", "link", "add", "fmh0", "type", "veth", "peer", "name", "fmr0")
holder = subprocess.Popen(["unshare", "--net", "--", "sleep", "120"])
own = os.readlink("/proc/self/ns/net")
for _ in range(500):  # until the holder runs in its own namespace
    try:
        if os.readlink(f"/proc/{holder.pid}/ns/net") != own:
            break
    except OSError:
        pass
    time.sleep(0.01)
ns = ["nsenter", "-t", str(holder.pid), "-n", "--"]
result = {}
try:
    sh("ip", "link", "set", "fmr0", "netns", str(holder.pid))
    sh("ip", "addr", "add", HOST_IP + "/24", "dev", "fmh0")
    sh("ip", "link", "set", "fmh0", "up")
    sh(*ns, "ip", "link", "set", "lo", "up")
    sh(*ns, "ip", "addr", "add", ROBOT_IP + "/24", "dev", "fmr0")
    sh(*ns, "ip", "link", "set", "fmr0", "up")
    with Sitl("udp", robot_id=9, key=key, binary=binary, udp_host=ROBOT_IP, wrap=ns) as sitl:
        port = sitl.udp[1]
        loopback = UdpTransport(ROBOT_IP, port, bind=("127.0.0.1", 0))  # what the transport always did
        try:
            loopback.send(b"\x00")
            result["loopback_bind"] = "sent"
        except LinkDown as err:
            result["loopback_bind"] = str(err)
        loopback.close()
        for name, bind in (("default", None), ("any", ("0.0.0.0", 0))):
            transport = UdpTransport(ROBOT_IP, port, bind=bind)
            link = RobotLink(transport, 9, key)
            out = {"local": transport.local_address[0], "synced": link.sync(3.0)}
            out["armed"] = isinstance(link.request(Arm(), timeout=1.0), Ack)
            for _ in range(12):
                link.send(SetVelocityMsg(0.3, 0.0))
                link.poll_for(0.04)
            out["v"] = link.telemetry.v if link.telemetry else None
            transport.close()
            result[name] = out
finally:
    holder.kill()
    holder.wait()
print("RESULT " + json.dumps(result))
"""


def _why_no_namespaces() -> str | None:
    if os.geteuid() != 0:
        return "network namespaces need root"
    missing = [tool for tool in ("ip", "unshare", "nsenter") if shutil.which(tool) is None]
    if missing:
        return f"missing {', '.join(missing)} (iproute2 / util-linux)"
    probe = subprocess.run(
        ["unshare", "--net", "--", "ip", "link", "add", "fmp0", "type", "veth", "peer", "name", "fmp1"],
        capture_output=True,
        text=True,
        timeout=10,
    )
    if probe.returncode != 0:
        return f"cannot create a network namespace with a veth pair: {probe.stderr.strip()}"
    return None


def test_host_reaches_a_robot_on_another_network_through_the_routing_interface(tmp_path: Path) -> None:
    if (why := _why_no_namespaces()) is not None:
        pytest.skip(why)
    binary = build_sitl()
    helper = tmp_path / "helper.py"
    helper.write_text(HELPER)
    proc = subprocess.run(
        ["unshare", "--net", "--", sys.executable, str(helper), str(binary), KEY.hex()],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    line = next(x for x in proc.stdout.splitlines() if x.startswith("RESULT "))
    result = json.loads(line.removeprefix("RESULT "))
    assert "Errno 22" in result["loopback_bind"]  # the old fixed 127.0.0.1 bind cannot reach 10.77.0.2
    assert result["default"]["local"] == "10.77.0.1"  # bound to the interface that routes to the robot
    assert result["any"]["local"] == "0.0.0.0"
    for name in ("default", "any"):
        out = result[name]
        assert out["synced"] and out["armed"], (name, out)
        assert out["v"] == pytest.approx(0.3, abs=0.002), (name, out)
