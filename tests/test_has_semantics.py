"""HAS semantics (issue 16, M2/M4): compass words mean what the map's descriptions mean, described-goal frontiers in
a room of the described type and direction outrank nearer ones, look-alikes of a target mark its room as a clue."""

from __future__ import annotations

import numpy as np
from fleetmind.planners.has.frontier import frontiers
from fleetmind.planners.has.goals import (
    CANDIDATE,
    CLUE,
    IN_DIRECTION,
    clue_regions,
    cluster_prior,
    direction_box,
    direction_of,
)
from fleetmind.planners.has.planner import Leader
from fleetmind.planners.has.platform import FREE, UNKNOWN, Group, InfoPlatform, ObjectRecord, RegionRecord
from fleetmind.tasks.has.maps import generate

GOAL = {"text": "the small red barrel in the office in the north-west of the map", "attrs": ["small", "red", "barrel"]}


def test_compass_words_match_the_map_descriptions_and_their_boxes():
    for size in (64, 128):
        emap = generate("rooms", size, 1)
        for room in emap.rooms:
            box = (room.top, room.left, room.bottom, room.right)
            words = emap.direction(room)
            assert direction_of(box, size, size) == words
            r, c = room.centre
            for other in ("north", "south-east", "west", "centre", "north-west"):
                b = direction_box(other, size, size)
                assert (b[0] <= r <= b[2] and b[1] <= c <= b[3]) == (words == other), (room, other)
    assert direction_box("west", 128, 128) == (43, 0, 85, 42)  # the middle third of the rows, not all of them


def _platform() -> InfoPlatform:
    """30x30, all known free but the north-west office's top rows and the south-east office's bottom rows; a
    kitchen beside the north-west office."""
    p = InfoPlatform((30, 30), ["a", "b"])
    known = np.full((30, 30), FREE, dtype=np.int8)
    known[0:3, 0:5] = UNKNOWN
    known[27:30, 20:30] = UNKNOWN
    p.known[:] = known.ravel()
    p.regions = {
        0: RegionRecord(0, "office", (0, 0, 9, 4)),
        1: RegionRecord(1, "kitchen", (0, 5, 9, 9)),
        2: RegionRecord(2, "office", (20, 20, 29, 29)),
    }
    p.positions[:] = [[18, 18], [0, 29]]
    p.active[:] = True
    return p


def test_described_goal_prior_ranks_the_described_room_then_its_direction():
    p = _platform()
    reps = np.array([5 * 30 + 2, 5 * 30 + 7, 25 * 30 + 25, 15 * 30 + 15], dtype=np.int64)
    got = cluster_prior(p, "described_goal", GOAL, (), reps)
    assert got is not None
    assert got[0] == CANDIDATE and got[1] == IN_DIRECTION  # the office, then the kitchen, both north-west
    assert got[2] < got[3] < IN_DIRECTION  # elsewhere: less the farther from the north-west
    assert cluster_prior(p, "described_goal", {"patch": ["....."] * 5, "kind": "barrel"}, (), reps) is None


def test_a_leader_sends_its_member_to_the_described_room_not_the_nearer_frontier():
    p = _platform()
    f = frontiers(p.known, p.h, p.w)
    assert len(f.reps) == 4  # two clusters along each unknown block (its row below and its column beside)
    group = Group("g0", "a", ["a"], (0, 0, 29, 29))
    rows = {i: int(c) // 30 for i, c in Leader(group, 5, 0.0).assign(p, f, np.array([0])).items()}
    assert rows[0] >= 27  # without semantics: the nearer frontier, in the south-east office
    prior = Leader(group, 5, 0.0, lambda q, fr: cluster_prior(q, "described_goal", GOAL, (), fr.reps))
    cells = {i: divmod(int(c), 30) for i, c in prior.assign(p, f, np.array([0])).items()}
    assert cells[0][0] == 3 and cells[0][1] <= 4  # with them: the office in the north-west, ~20 steps farther


def test_clue_regions_are_where_a_one_attribute_look_alike_of_an_unfound_target_was_seen():
    p = _platform()
    goal = {"targets": [["small", "red", "barrel"], ["large", "blue", "lamp"]]}

    def seen(oid: int, size: str, colour: str, kind: str, cell: tuple[int, int]) -> None:
        p.objects[oid] = ObjectRecord(oid, size, colour, kind, cell, "office", 0, 0)

    seen(1, "small", "red", "barrel", (25, 25))  # exact look-alike, not found: another room, no clue
    seen(2, "small", "red", "lamp", (25, 26))  # two attributes differ from the large blue lamp: no clue
    assert clue_regions(p, "multi_search", goal) == []
    seen(3, "small", "blue", "barrel", (5, 2))  # colour differs: the target's room
    seen(4, "small", "blue", "lamp", (5, 7))  # size differs from the large blue lamp: its room
    assert sorted(r.id for r in clue_regions(p, "multi_search", goal)) == [0, 1]
    assert sorted(r.id for r in clue_regions(p, "multi_search", goal, found=[(25, 25)])) == [1]  # barrel found
    reps = np.array([5 * 30 + 2, 25 * 30 + 25], dtype=np.int64)
    assert cluster_prior(p, "multi_search", goal, [(25, 25)], reps).tolist() == [0.0, 0.0]
    assert cluster_prior(p, "multi_search", goal, (), reps).tolist() == [CLUE, 0.0]
    assert clue_regions(p, "explore", {}) == []
