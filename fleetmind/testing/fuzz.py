"""Bad-frame generator and judge, shared by the fuzz tests and ``benchmarks/fuzz_link.py``.

A stream interleaves legitimate SetVelocity frames (each sequence number used once, increasing) with bad
frames: bit flips, byte bursts, truncations, oversized runs, garbage, reordered/replayed legitimate frames,
and (with a key) forged frames: no tag, wrong key, tampered payload with a recomputed CRC, other robot, and
frames rightly tagged but of another session (captured before a re-sync or a reboot).
Every frame names session ``session`` (the SITL's ``--fuzz`` mode runs session 0 unless told otherwise).
Bad frames that carry a fresh sequence number take numbers never used by a legitimate frame, so the judge
can tell from the firmware's ``ACT seq v w`` lines whether anything but a legitimate frame actuated.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field

from cobs import cobs

from fleetmind.firmware_bridge.codec import HEADER_LEN, FrameDecoder, build_frame, crc16, encode_frame
from fleetmind.firmware_bridge.messages import SetVelocityMsg

CORRUPT_KINDS = ("bitflip", "burst", "truncated", "oversized", "garbage", "reordered")
FORGED_KINDS = ("untagged", "wrong_key", "tampered", "other_robot", "other_session")
REPLAY_KIND = "replayed"


@dataclass
class FuzzStream:
    data: bytes
    legit: dict[int, tuple[int, int]]  # seq -> (v mm/s, omega mrad/s) of legitimate frames
    bad_seq_kind: dict[int, str]  # fresh seq of a bad frame -> its kind
    counts: Counter[str] = field(default_factory=Counter)
    session: int = 0


def _vel(rng: random.Random) -> tuple[int, int]:
    return rng.randint(-900, 900), rng.randint(-1500, 1500)


def make_stream(
    n_frames: int, seed: int, robot_id: int, key: bytes | None, legit_share: float = 0.1, session: int = 0
) -> FuzzStream:
    """``n_frames`` frames in all; forged kinds only when ``key`` is set (without a key they are valid frames)."""
    rng = random.Random(seed)
    kinds = CORRUPT_KINDS + ((*FORGED_KINDS, REPLAY_KIND) if key else ())
    out: list[bytes] = []
    legit: dict[int, tuple[int, int]] = {}
    bad: dict[int, str] = {}
    counts: Counter[str] = Counter()
    sent: list[bytes] = []
    seq = 0
    for _ in range(n_frames):
        seq += 1
        v, w = _vel(rng)
        msg = SetVelocityMsg(v / 1000, w / 1000)
        if rng.random() < legit_share or not sent:
            frame = encode_frame(msg, robot_id, seq, seq, key, session)
            legit[seq] = (v, w)
            sent.append(frame)
            out.append(frame)
            counts["legit"] += 1
            continue
        kind = rng.choice(kinds)
        counts[kind] += 1
        good = encode_frame(msg, robot_id, seq, seq, key, session)
        if kind in ("reordered", REPLAY_KIND):
            out.append(rng.choice(sent[-80:]) if kind == "reordered" else rng.choice(sent))
            continue
        bad[seq] = kind
        body = bytearray(good[:-1])
        if kind == "bitflip":  # 1..3 distinct bits
            for bit in rng.sample(range(8 * len(body)), rng.randint(1, 3)):
                body[bit // 8] ^= 1 << (bit % 8)
            out.append(bytes(body) + b"\x00")
        elif kind == "burst":  # 1..8 consecutive bytes replaced, the first one always changed
            start = rng.randrange(len(body))
            for i in range(start, min(len(body), start + rng.randint(1, 8))):
                body[i] = rng.randrange(256)
            body[start] = good[start] ^ rng.randint(1, 255)
            out.append(bytes(body) + b"\x00")
        elif kind == "truncated":
            out.append(bytes(body[: rng.randrange(1, len(body))]) + b"\x00")
        elif kind == "oversized":
            out.append(bytes(rng.randint(1, 255) for _ in range(rng.randint(60, 300))) + b"\x00")
        elif kind == "garbage":
            out.append(rng.randbytes(rng.randint(1, 80)) + b"\x00")
        elif kind == "untagged":
            out.append(encode_frame(msg, robot_id, seq, seq, None, session))
        elif kind == "wrong_key":
            out.append(encode_frame(msg, robot_id, seq, seq, rng.randbytes(32), session))
        elif kind == "tampered":
            raw = bytearray(build_frame(msg, robot_id, seq, seq, key, session))
            raw[HEADER_LEN] ^= 0x40  # change v, keep the old tag, recompute the CRC like an attacker would
            raw[-2:] = crc16(bytes(raw[:-2])).to_bytes(2, "little")
            out.append(cobs.encode(bytes(raw)) + b"\x00")
        elif kind == "other_robot":
            out.append(encode_frame(msg, (robot_id + 1) & 0xFFFF, seq, seq, key, session))
        elif kind == "other_session":
            out.append(encode_frame(msg, robot_id, seq, seq, key, (session + rng.randint(1, 0xFFFFFFFF)) & 0xFFFFFFFF))
    return FuzzStream(b"".join(out), legit, bad, counts, session)


@dataclass
class Verdict:
    actuations: int
    bad_frames_actuated: int
    forged_accepted: int
    replayed_accepted: int


def judge(stream: FuzzStream, act_lines: list[str], firmware_max_v: int = 1000, firmware_max_w: int = 2000) -> Verdict:
    """Check the firmware's ``ACT seq v w`` lines: only legitimate frames, each once, in increasing order."""
    bad = forged = replayed = 0
    seen: set[int] = set()
    last = 0
    for line in act_lines:
        _, s, v, w = line.split()
        seq, v_mm, w_mrad = int(s), int(v), int(w)
        expected = stream.legit.get(seq)
        if expected is None:
            bad += 1
            forged += stream.bad_seq_kind.get(seq) in FORGED_KINDS
            continue
        if seq in seen or seq <= last:
            bad += 1
            replayed += 1
            continue
        seen.add(seq)
        last = seq
        ev, ew = expected
        ev, ew = max(-firmware_max_v, min(firmware_max_v, ev)), max(-firmware_max_w, min(firmware_max_w, ew))
        if (v_mm, w_mrad) != (ev, ew):
            bad += 1
    return Verdict(len(act_lines), bad, forged, replayed)


def host_decode(stream: FuzzStream, robot_id: int, key: bytes | None, chunk: int = 61) -> tuple[int, int]:
    """Feed the stream to the Python decoder in chunks; returns (frames accepted, accepted that are not legit)."""
    dec = FrameDecoder(key, robot_id, stream.session)
    ok = not_legit = 0
    for i in range(0, len(stream.data), chunk):
        for frame in dec.feed(stream.data[i : i + chunk]):
            ok += 1
            msg = frame.message
            expected = stream.legit.get(frame.header.seq)
            if (
                not isinstance(msg, SetVelocityMsg)
                or expected is None
                or (round(msg.v * 1000), round(msg.omega * 1000)) != expected
            ):
                not_legit += 1
    return ok, not_legit
