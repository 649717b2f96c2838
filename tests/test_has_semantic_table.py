"""The HAS maps' semantic table (issue 16, M2): objects lie in their kind's likely room types at the published rate,
distractors keep their rule, and a HAS leader sends a member into a region of a likely room type before a nearer
frontier elsewhere."""

from __future__ import annotations

import numpy as np
import pytest
from fleetmind.planners.has.frontier import frontiers
from fleetmind.planners.has.goals import LIKELY, cluster_prior, room_weights, semantics_line, unfound
from fleetmind.planners.has.planner import BETA_NEAR, Leader
from fleetmind.planners.has.platform import FREE, UNKNOWN, Group, InfoPlatform, ObjectRecord, RegionRecord
from fleetmind.tasks.has.maps import LIKELY_P, LIKELY_ROOMS, ROOM_KINDS, _place_objects, _regions, room_prior


def test_the_table_is_well_formed_and_its_prior_ranks_likely_rooms_first():
    assert 0.0 < LIKELY_P < 1.0
    for kind, table in LIKELY_ROOMS.items():
        assert abs(sum(table.values()) - 1.0) < 1e-9 and set(table) <= set(ROOM_KINDS), kind
        top = max(table, key=table.__getitem__)
        others = [room_prior(kind, r) for r in ROOM_KINDS if r not in table]
        assert room_prior(kind, top) > max(others)
        assert abs(sum(room_prior(kind, r) for r in ROOM_KINDS) - 1.0) < 1e-9  # one region of each type: sums to 1
    assert room_prior("crate", "storage") == pytest.approx(0.8 + 0.2 / 8)
    assert room_prior("crate", "kitchen") == pytest.approx(0.2 / 8)
    assert "crate: storage 1" in semantics_line() and "probability 0.8" in semantics_line()


def test_objects_lie_in_a_likely_room_type_at_the_stated_rate_and_distractors_keep_their_rule():
    """Over 150 seeded 64x64 room layouts (16 rooms, all free): the share of targets in a likely room type of their
    kind matches ``LIKELY_P`` (when the map has a room of the type) ``+ (1 - LIKELY_P) * share of such rooms``
    (0.68 here: a 16-room map often lacks a type), several times the share of such rooms (what uniform placement
    gives)."""
    blocked = np.zeros((64, 64), dtype=bool)
    hits, expected, uniform, n = 0, 0.0, 0.0, 0
    for seed in range(150):
        rng = np.random.default_rng([seed, 99])
        room_of, rooms = _regions("rooms", 64, rng)
        objects, targets = _place_objects(blocked, room_of, rooms, 3, rng)
        for t in targets:
            o = objects[t]
            likely = LIKELY_ROOMS[o.kind]
            share = sum(r.kind in likely for r in rooms) / len(rooms)
            uniform += share
            expected += LIKELY_P * any(r.kind in likely for r in rooms) + (1 - LIKELY_P) * share
            hits += rooms[o.room].kind in likely
            n += 1
            twins = [x for x in objects if x.id != t and x.kind == o.kind]
            assert any(x.room == o.room and x.size == o.size and x.colour != o.colour for x in twins)  # colour
            assert any(
                (x.room == o.room and x.colour == o.colour and x.size != o.size)
                or (x.room != o.room and x.attrs() == o.attrs())
                for x in twins
            )  # size differs beside it, or the exact look-alike in another region
    assert n == 450
    assert abs(hits / n - expected / n) < 0.05, (hits / n, expected / n)
    assert hits / n > 0.6 and hits / n > 4 * uniform / n, (hits / n, uniform / n)


def _platform() -> InfoPlatform:
    """30x30, known free but two unknown blocks: rows 0-2 in an office (north) and rows 27-29 in a storage room
    (south); one robot at (14, 15), a step nearer the north block."""
    p = InfoPlatform((30, 30), ["a"])
    known = np.full((30, 30), FREE, dtype=np.int8)
    known[0:3, 12:18] = UNKNOWN
    known[27:30, 12:18] = UNKNOWN
    p.known[:] = known.ravel()
    p.regions = {
        0: RegionRecord(0, "office", (0, 0, 14, 29)),
        1: RegionRecord(1, "storage", (15, 0, 29, 29)),
    }
    p.positions[:] = [[14, 15]]
    p.active[:] = True
    return p


GOAL = {"targets": [["small", "red", "crate"]]}


def test_the_prior_marks_clusters_in_likely_rooms_of_unfound_kinds_only():
    p = _platform()
    reps = np.array([3 * 30 + 15, 26 * 30 + 15], dtype=np.int64)
    got = cluster_prior(p, "multi_search", GOAL, (), reps)
    assert got is not None and got.tolist() == [0.0, LIKELY]  # storage: the crate's room type
    two = {"targets": [["small", "red", "crate"], ["large", "blue", "chair"]]}  # a chair: an office
    assert cluster_prior(p, "multi_search", two, (), reps).tolist() == [LIKELY, LIKELY]
    assert room_weights(["crate", "crate", "barrel"]) == {"storage": 2.0, "garage": 1.0}
    p.objects[7] = ObjectRecord(7, "small", "red", "crate", (28, 3), "storage", 5, 5)
    assert unfound("multi_search", GOAL, p, found=[(28, 3)]) == []
    assert cluster_prior(p, "multi_search", GOAL, [(28, 3)], reps) is None  # found: no semantics left
    assert cluster_prior(p, "explore", {}, (), reps) is None


def test_a_leader_sends_its_member_into_the_likely_room_before_a_nearer_frontier():
    p = _platform()
    f = frontiers(p.known, p.h, p.w)
    group = Group("g0", "a", ["a"], (0, 0, 29, 29))
    plain = Leader(group, 5, 0.0, beta=BETA_NEAR).assign(p, f, np.array([0]))
    assert int(plain[0]) // 30 <= 3  # without semantics: the nearer frontier, in the office
    prior = Leader(group, 5, 0.0, lambda q, fr: cluster_prior(q, "multi_search", GOAL, (), fr.reps), BETA_NEAR)
    assert int(prior.assign(p, f, np.array([0]))[0]) // 30 >= 26  # with the table: the storage room (a crate)


def test_the_manager_prompt_carries_the_table_for_search_missions_only():
    from fleetmind.planners.has.manager import LLMManager, heuristic_groups

    p = InfoPlatform((20, 20), ["robot_0", "robot_1"])
    manager = LLMManager(client_factory=lambda: None)
    hint = heuristic_groups(p, "multi_search", {})
    for mission in ("multi_search", "sequential", "described_goal"):
        assert "Where objects lie: " + semantics_line() in manager.prompt(p, mission, {}, hint), mission
    assert "Where objects lie" not in manager.prompt(p, "explore", {}, heuristic_groups(p, "explore", {}))
