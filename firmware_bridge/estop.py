"""Stop every robot now, and say how each link stands: the executor's e-stop and its deadline diagnostics."""

from __future__ import annotations

from collections.abc import Mapping

from fleetmind.firmware_bridge import messages as wire
from fleetmind.firmware_bridge.link import RobotLink
from fleetmind.robots.clock import Clock
from fleetmind.robots.ids import RobotId


def _stopped(t: wire.Telemetry | None) -> bool:
    return t is not None and bool(t.status & wire.Status.ESTOP) and t.v == 0.0 and t.omega == 0.0


def stop_all(
    links: Mapping[RobotId, RobotLink], clock: Clock, requested: float, timeout: float = 0.5, resend_every: float = 0.05
) -> tuple[dict[RobotId, bool], dict[RobotId, float]]:
    """EStop to every robot (resent until acknowledged) within ``timeout``; returns whether each acknowledged and,
    per robot, the seconds from ``requested`` until its telemetry first showed it stopped with the e-stop latched
    (an upper bound: telemetry comes at 50 Hz)."""
    for link in links.values():
        link.replies.clear()
        link.send(wire.EStop())
    acked = dict.fromkeys(links, False)
    stopped: dict[RobotId, float] = {}
    end = clock.now() + timeout
    resend = clock.now() + resend_every
    while not (all(acked.values()) and len(stopped) == len(links)) and clock.now() < end:
        for rid, link in links.items():
            link.poll(0.001)
            replies = link.replies
            acked[rid] = acked[rid] or any(
                isinstance(r, wire.Ack) and r.msg_type == wire.MsgType.ESTOP for r in replies
            )
            if rid not in stopped and _stopped(link.telemetry):
                stopped[rid] = clock.now() - requested
        if clock.now() >= resend:
            resend = clock.now() + resend_every
            for rid in [r for r, ok in acked.items() if not ok]:
                links[rid].send(wire.EStop())
    return acked, stopped


def describe_link(link: RobotLink, clock: Clock) -> str:
    """The link's last telemetry and counters in a few words (for a missed deadline's log line)."""
    t = link.telemetry
    if t is None or link.telemetry_time is None:
        return "no telemetry"
    nacks = [r.reason.name for r in link.replies if isinstance(r, wire.Nack)][-3:]
    age = clock.now() - link.telemetry_time
    return (
        f"telemetry {age:.2f}s old, v={t.v:.2f}, status {t.status!r}, nacks {nacks}, session {link.session}, "
        f"sessions {link.sessions}, seq {link.seq}, robot's last_seq {t.last_seq}, foreign {link.foreign}, "
        f"replayed {link.replayed}, reconnects {getattr(link.transport, 'reconnects', 0)}"
    )
