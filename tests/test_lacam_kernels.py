"""One-shot LaCAM*'s own kernels (``_oneshot_kernels.py``) against their twins, also without the JIT: the search's
action preferences rank as the general ``pibt_preferences`` does, with an agent's SUO slot first."""

from __future__ import annotations

import os

import numpy as np
import pytest
from fleetmind.planners.mapf._kernels import neighbour_table, pibt_preferences
from fleetmind.planners.mapf._oneshot_kernels import lacam_preferences
from fleetmind.tasks.mapf_lifelong._kernels import bfs_distances
from hypothesis import given
from hypothesis import strategies as st
from naive import assert_twins_hold_without_jit, random_grid, twin_settings
from naive import oneshot_planners as naive


@twin_settings(50)
@given(st.data(), st.booleans())
def test_preferences_match_their_twin_and_pibt_preferences(data, with_slots):
    blocked, free, rng = random_grid(data.draw, 7)
    h, w = blocked.shape
    n = data.draw(st.integers(1, len(free)))
    cfg = rng.choice(free, size=n, replace=False).astype(np.int64)
    goal = rng.choice(free, size=n, replace=False)
    dist = np.stack([bfs_distances(blocked, g // w, g % w).ravel() for g in goal]).astype(np.int64)
    dist = np.minimum(dist, 10_000)
    nbr = neighbour_table(blocked)
    noise = rng.random((n, 5))
    if data.draw(st.booleans()):
        noise[:, 1:] = noise[:, :1]  # ties between slots: the slot order decides
    slots = np.zeros((0, 0), dtype=np.int8)
    if with_slots:
        slots = rng.integers(-1, 5, size=(n, h * w)).astype(np.int8)
    got = lacam_preferences(cfg, nbr, dist, noise, slots)
    assert np.array_equal(got, naive.lacam_preferences(cfg, nbr, dist, noise, slots))
    assert all(sorted(row) == [0, 1, 2, 3, 4] for row in got.tolist())
    shifted = noise * 0.25
    if with_slots:
        on = slots[np.arange(n), cfg].astype(np.int64)
        shifted[on > 0, on[on > 0]] -= 1e6
        for i in np.flatnonzero(on > 0):
            if nbr[cfg[i], on[i]] >= 0:
                assert got[i, 0] == on[i], "the SUO slot comes first"
    want = pibt_preferences(cfg, nbr, dist, np.arange(n, dtype=np.int64), shifted, 0.5)
    blocked_slots = nbr[cfg] < 0
    for i in range(n):  # the same order wherever float rounding of the SUO shift cannot tell keys apart
        if not with_slots or on[i] <= 0:
            assert np.array_equal(got[i], want[i])
        assert set(got[i, 5 - blocked_slots[i].sum() :].tolist()) == set(np.flatnonzero(blocked_slots[i]).tolist())


def test_preferences_on_a_hand_worked_corridor():
    """1x3 corridor, agent at the middle (1) going to 2, another agent on 2: right (distance 0, held: 0.5), stay
    (1, held by itself: 1.5), left (2); up and down are walls and come last, in slot order."""
    nbr = neighbour_table(np.zeros((1, 3), dtype=bool))
    dist = np.array([[2, 1, 0], [0, 1, 2]], dtype=np.int64)
    got = lacam_preferences(np.array([1, 2]), nbr, dist, np.zeros((2, 5)), np.zeros((0, 0), dtype=np.int8))
    right, left = int(np.flatnonzero(nbr[1] == 2)[0]), int(np.flatnonzero(nbr[1] == 0)[0])
    walls = [s for s in range(5) if nbr[1, s] < 0]
    assert got[0].tolist() == [right, 0, left, *walls]


@pytest.mark.skipif(os.environ.get("NUMBA_DISABLE_JIT") == "1", reason="already running without the JIT")
def test_lacam_kernel_twins_also_hold_without_jit():
    assert_twins_hold_without_jit(__file__)
