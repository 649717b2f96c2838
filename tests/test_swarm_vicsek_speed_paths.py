"""The Vicsek step's faster paths (issue 15): the order parameter summed per block inside the update, the pair test
as a select instead of a branch. Correctness only; the timings are in benchmarks/swarm_scaling.py."""

from __future__ import annotations

import math

import numpy as np
import pytest
from fleetmind.sim.swarm import _kernels as K
from fleetmind.sim.swarm import _pair_kernels as P


def _swarm(n: int, seed: int, box: float):
    rng = np.random.default_rng(seed)
    pos = rng.random((n, 2)) * box
    theta = rng.uniform(-math.pi, math.pi, n)
    ncx = K.cell_count(box, 1.0)
    return rng, pos, np.stack([np.cos(theta), np.sin(theta)], axis=1), (*K.build_cells(pos, box, ncx), ncx)


@pytest.mark.parametrize("n", [1, 5, K.CHUNKS + 3, 3000])  # fewer agents than blocks (empty blocks), and many more
@pytest.mark.parametrize("coupling", [1.0, 0.4])
def test_the_order_parameter_from_block_sums_is_the_mean_heading_length(n, coupling):
    box = math.sqrt(n / 2.0) + 3.0
    rng, pos, head, cells = _swarm(n, n, box)
    turn, noise = rng.normal(0, 0.3, n), rng.uniform(-0.5, 0.5, n)
    new_pos, new_head, order = K.vicsek_step(pos, head, turn, noise, box, 1.0, 0.05, 1.0, coupling, True, *cells)
    assert order == pytest.approx(float(np.hypot(*new_head.mean(axis=0))), abs=1e-13)
    assert order == pytest.approx(K.vector_order(new_head), abs=1e-13)
    assert np.allclose(np.hypot(new_head[:, 0], new_head[:, 1]), 1.0, rtol=0, atol=1e-14)
    assert np.isfinite(new_pos).all()


def test_an_empty_swarm_steps_to_nothing_with_order_zero():
    empty = np.empty((0, 2))
    cells = (*K.build_cells(empty, 5.0, 5), 5)
    new_pos, new_head, order = K.vicsek_step(empty, empty, np.empty(0), np.empty(0), 5.0, 1.0, 0.1, 1.0, 1.0, True,
                                             *cells)  # fmt: skip
    assert new_pos.shape == (0, 2) and new_head.shape == (0, 2) and order == 0.0


@pytest.mark.parametrize("periodic", [True, False])
def test_the_select_pair_test_counts_and_sums_exactly_the_pairs_within_r(periodic):
    """A pair outside the radius adds ``0.0 * value`` and 0 to the count: the counts equal an all-pairs count
    exactly, the sums an all-pairs numpy sum."""
    n, box = 400, 12.0
    _, pos, head, (order, start, ncx) = _swarm(n, 7, box)
    xs, ys = pos[order, 0].copy(), pos[order, 1].copy()
    cs, ss = head[order, 0].copy(), head[order, 1].copy()
    acc = np.empty((3, n))
    P.neighbour_sums_into(xs, ys, cs, ss, start, ncx, box, 1.0, periodic, False, acc)
    dx = xs[None, :] - xs[:, None]
    dy = ys[None, :] - ys[:, None]
    if periodic:
        dx -= box * np.round(dx / box)
        dy -= box * np.round(dy / box)
    near = (dx * dx + dy * dy <= 1.0) & ~np.eye(n, dtype=bool)
    assert np.array_equal(acc[2], near.sum(axis=1).astype(float)) and acc[2].mean() > 2
    np.testing.assert_allclose(acc[0], near @ cs, rtol=0, atol=1e-12)
    np.testing.assert_allclose(acc[1], near @ ss, rtol=0, atol=1e-12)
