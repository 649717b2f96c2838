"""The Vicsek step's own kernels (``_vicsek_kernels.py``): the polynomial sincos against libm, the fused cell sort
and gather against ``build_cells``, the record-array neighbour sums against the twin, and the world's step (cells
built in the step, noise scaled in the kernel) against ``_kernels.vicsek_step`` bit for bit. Also re-run with
``NUMBA_DISABLE_JIT=1`` by ``test_swarm_kernels.py``."""

from __future__ import annotations

import math

import numpy as np
import pytest
from fleetmind.sim.swarm import VicsekWorld
from fleetmind.sim.swarm import _kernels as K
from fleetmind.sim.swarm import _vicsek_kernels as V
from naive import swarm as naive


def test_sincos_is_libm_within_2e_15_and_libm_outside_pi():
    x = np.concatenate([np.linspace(-math.pi, math.pi, 4001), np.random.default_rng(0).uniform(-3.2, 3.2, 2000)])
    x = np.concatenate([x, [0.0, -0.0, 1e-300, -1e-9, math.pi, -math.pi, math.pi / 2, 3 * math.pi / 4]])
    got = np.array([V.sincos(float(a)) for a in x])
    assert np.abs(got[:, 0] - np.sin(x)).max() < 2e-15 and np.abs(got[:, 1] - np.cos(x)).max() < 2e-15
    assert np.abs(np.hypot(got[:, 0], got[:, 1]) - 1.0).max() < 1e-15
    assert V.sincos(0.0) == (0.0, 1.0)
    for a in (4.0, -7.5, 1e6, math.nextafter(math.pi, 4.0)):  # outside [-pi, pi]: libm itself
        assert V.sincos(a) == (math.sin(a), math.cos(a))


@pytest.mark.parametrize(
    ("n", "box", "periodic"), [(1, 3.0, True), (40, 1.5, True), (200, 7.3, False), (300, 9.0, True)]
)
def test_sort_gathers_what_build_cells_orders(n, box, periodic):
    rng = np.random.default_rng(n)
    pos, head = rng.random((n, 2)) * box, rng.normal(size=(n, 2))
    pos[: n // 4] = np.nextafter(box, 0)  # a pile in the last cell
    ncx = K.cell_count(box, 1.0)
    order, start = K.build_cells(pos, box, ncx)
    got = (np.empty(n, np.int64), np.empty(n, np.int64), np.empty(ncx * ncx + 1, np.int64), np.empty((n, 4)))
    V.sort_into(pos, head, box, ncx, *got)
    assert np.array_equal(got[1], order) and np.array_equal(got[2], start)
    assert np.array_equal(got[3], np.concatenate([pos[order], head[order]], axis=1))


SUM_CASES = [
    (30, 2.0, 1.0, True),
    (60, 5.0, 1.0, True),
    (60, 4.0, 1.3, False),
    (25, 1.5, 0.7, False),
    (80, 6.0, 1.0, False),
]


@pytest.mark.parametrize(("n", "box", "r", "periodic"), SUM_CASES)
def test_heading_sums_match_the_twin(n, box, r, periodic):
    rng = np.random.default_rng(7)
    pos, angle = rng.random((n, 2)) * box, rng.uniform(-math.pi, math.pi, n)
    pos[:10] = pos[0] + rng.normal(0, 0.05, (10, 2)).clip(-pos[0], np.nextafter(box, 0) - pos[0])  # a crowd
    ncx = K.cell_count(box, r)
    order, start = K.build_cells(pos, box, ncx)
    rec, sums = np.empty((n, 4)), np.empty((n, 2))
    V.gather_into(pos, np.stack([np.cos(angle), np.sin(angle)], axis=1), order, rec)
    V.heading_sums_into(rec, start, ncx, box, r, periodic, False, sums)
    want_c, want_s, count = naive.circular_neighbour_sums(pos, angle, box, r, periodic)
    assert count.sum() > n  # some agents have neighbours
    np.testing.assert_allclose(sums[:, 0], want_c[order], rtol=0, atol=1e-12)
    np.testing.assert_allclose(sums[:, 1], want_s[order], rtol=0, atol=1e-12)


@pytest.mark.parametrize(("periodic", "eta", "coupling"), [(True, 0.5, 1.0), (False, 2.0, 0.6), (True, 0.0, 1.0)])
def test_the_world_step_is_the_kernel_step_with_its_noise(periodic, eta, coupling):
    world = VicsekWorld(120, box=6.0, radius=1.0, speed=0.2, eta=eta, coupling=coupling, periodic=periodic)
    world.reset(3)
    draws = np.random.default_rng(3)
    draws.bit_generator.state = world.rng.bit_generator.state
    turn = np.linspace(-0.3, 0.3, 120)
    for _ in range(4):
        pos, head = world.pos, world.head
        noise = (draws.random(120) - 0.5) * eta if eta else np.zeros(120)
        want = K.vicsek_step(pos, head, turn, noise, world.box, 1.0, 0.2, 1.0, coupling, periodic,
                             *K.build_cells(pos, world.box, world.ncx), world.ncx)  # fmt: skip
        got = world.step(turn, observe=False)
        assert np.array_equal(world.pos, want[0]) and np.array_equal(world.head, want[1]) and got.order == want[2]
        assert world.pos is not pos and np.array_equal(pos, want[0]) is False  # fresh arrays, the old ones kept
