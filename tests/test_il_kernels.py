"""``follower_il``'s feature kernel against its plain-Python twin (tests/naive/il_planners.py), a hand-worked
corridor, and the same comparisons without the JIT."""

from __future__ import annotations

import os

import numpy as np
import pytest
from fleetmind.planners.mapf import _il_kernels as ik
from fleetmind.planners.mapf._kernels import neighbour_table
from fleetmind.tasks.mapf_lifelong import _kernels as world_k
from hypothesis import given
from hypothesis import strategies as st
from naive import assert_twins_hold_without_jit, random_grid, twin_settings
from naive import il_planners as naive_il


@st.composite
def views(draw, max_side: int = 9, max_agents: int = 10):
    """A small random map, agents on distinct free cells, random cost-to-go rows, views and memories."""
    blocked, free, rng = random_grid(draw, max_side)
    h, w = blocked.shape
    n = draw(st.integers(1, min(max_agents, len(free))))
    pos = rng.choice(free, size=n, replace=False).astype(np.int64)
    vis, nvis = world_k.visible_agents(pos // w, pos % w, h, w, draw(st.integers(1, 5)))
    hpool = (rng.random((n + 1, h * w)) * 12).round(1).astype(np.float32)
    hrow = rng.integers(0, n + 1, n).astype(np.int64)
    last = np.where(rng.random(n) < 0.5, rng.integers(-1, h * w, n), -1).astype(np.int64)
    stuck = rng.integers(0, 12, n).astype(np.int64)
    age = rng.integers(0, 100, n).astype(np.int64)
    last_action = rng.integers(0, 5, n).astype(np.int64)
    before = rng.choice(free, size=n, replace=False).astype(np.int64)
    last_vis, last_nvis = world_k.visible_agents(before // w, before % w, h, w, draw(st.integers(1, 5)))
    guide = rng.integers(0, 5, n).astype(np.int64)
    return blocked, pos, hpool, hrow, vis, nvis, last_vis, last_nvis, last, last_action, stuck, age, guide


@twin_settings(50)
@given(views())
def test_il_features_match_the_twin(inst):
    blocked, pos, hpool, hrow, vis, nvis, last_vis, last_nvis, last, last_action, stuck, age, guide = inst
    n = len(pos)
    memory = (last_vis, last_nvis, last, last_action, stuck, age, guide)
    moves = np.full((n, 5, ik.NUM_MOVE_FEATURES), 7.0)  # stale values must be overwritten
    state = np.zeros((n, ik.NUM_STATE_FEATURES))
    ik.il_features(pos, hpool, hrow, neighbour_table(blocked), vis, nvis, *memory, blocked.shape[1], moves, state)
    want_moves, want_state = naive_il.il_features(blocked, pos, hpool, hrow, vis, nvis, *memory)
    np.testing.assert_allclose(moves, want_moves, atol=1e-9)
    np.testing.assert_allclose(state, want_state, atol=1e-9)


def test_il_features_golden_corridor():
    """Hand-worked: a 1x4 corridor, agent A at col 1 heading right (goal col 3), agent B at col 2 in front of it,
    standing there since last step; A's last move (right) did not get through."""
    blocked = np.zeros((1, 4), dtype=bool)
    pos = np.array([1, 2], dtype=np.int64)
    hpool = np.array([[3, 2, 1, 0]], dtype=np.float32)
    vis, nvis = world_k.visible_agents(pos // 4, pos % 4, 1, 4, 5)
    moves = np.zeros((2, 5, ik.NUM_MOVE_FEATURES))
    state = np.zeros((2, ik.NUM_STATE_FEATURES))
    zero = np.zeros(2, dtype=np.int64)
    last = np.array([0, -1], dtype=np.int64)
    stuck = np.array([4, 0], dtype=np.int64)
    acts = np.array([4, 0], dtype=np.int64)
    memory = (vis, nvis, last, acts, stuck, zero, np.array([3, 0], dtype=np.int64))  # A's Follower says: left
    ik.il_features(pos, hpool, zero, neighbour_table(blocked), vis, nvis, *memory, 4, moves, state)
    right, left = moves[0, 4], moves[0, 3]
    assert right[1] == -1 and right[2] == 1 and right[3] == 1  # nearer, the best move, occupied by B
    assert right[5] == pytest.approx(1 / 3)  # B has one free exit (col 3) besides A's cell
    assert right[10] == pytest.approx(1 / 8) and right[11] == pytest.approx(-0.5) and right[13] == -1
    assert right[14] == 1 and right[15] == 1 and left[14] == 0 and left[15] == 0
    assert moves[0, :, 16] == pytest.approx([0, 0, 0, 1, 0]) and moves[1, :, 16] == pytest.approx([1, 0, 0, 0, 0])
    assert left[1] == 1 and left[3] == 0 and left[6] == 1  # back to where it came from
    assert not moves[0, 1].any() and not moves[0, 2].any()  # up and down are walls
    assert moves[0, 0, [0, 8, 9, 10]] == pytest.approx([1, 0.5, 0.25, 1 / 16])
    assert state[0] == pytest.approx([1 / 16, 0.5, 0.25, 0.5, 0])


@pytest.mark.skipif(os.environ.get("NUMBA_DISABLE_JIT") == "1", reason="already running without the JIT")
def test_il_kernel_twins_also_hold_without_jit():
    """The same comparisons with numba's JIT off (coverage of the kernel's Python source)."""
    assert_twins_hold_without_jit(__file__)
