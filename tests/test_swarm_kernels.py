"""Swarm kernels against their plain-Python twins (also without the JIT), hand-worked golden cases, and the worlds'
physics sanity, determinism, permutation invariance and refusals."""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import pytest
from fleetmind.sim.swarm import AggregationWorld, KuramotoWorld, VicsekWorld
from fleetmind.sim.swarm import _kernels as K
from fleetmind.sim.swarm import _measure_kernels as M
from fleetmind.sim.swarm import _pair_kernels as P
from fleetmind.sim.swarm import _vicsek_kernels as V
from hypothesis import given
from hypothesis import strategies as st
from naive import assert_twins_hold_without_jit, twin_settings
from naive import swarm as naive

TOL = 1e-9
# The worlds' runs are hundreds of steps: with the JIT off (the twin re-run) they would take minutes.
jit_only = pytest.mark.skipif(os.environ.get("NUMBA_DISABLE_JIT") == "1", reason="world runs need the JIT")


@st.composite
def swarms(draw, max_agents: int = 30):
    """A box (1, 2, 3 or more cells a side), periodic or walled, agents (some piled onto a few spots so that
    neighbourhoods are crowded), headings, and the cell lists."""
    rng = np.random.default_rng(draw(st.integers(0, 2**31 - 1)))
    n = draw(st.integers(1, max_agents))
    box = draw(st.sampled_from([1.0, 2.5, 4.0, 7.3]))
    r = box / draw(st.sampled_from([1.0, 1.5, 2.0, 2.5, 3.2, 5.0]))
    periodic = draw(st.booleans())
    pos = rng.random((n, 2)) * box
    if draw(st.booleans()):  # clumps: most agents near a few spots
        spots = rng.random((3, 2)) * box
        pos = np.clip(spots[rng.integers(0, 3, n)] + rng.normal(0, 0.05 * box, (n, 2)), 0, np.nextafter(box, 0))
    angle = rng.uniform(-math.pi, math.pi, n)
    ncx = K.cell_count(box, r)
    return pos, angle, box, r, periodic, (*K.build_cells(pos, box, ncx), ncx), rng


def unit(theta) -> np.ndarray:
    """Headings (radians) as the kernels' unit vectors ``(N, 2)``."""
    theta = np.asarray(theta, dtype=float)
    return np.stack([np.cos(theta), np.sin(theta)], axis=1)


def heading(head: np.ndarray) -> np.ndarray:
    return np.arctan2(head[:, 1], head[:, 0])


def angle_gap(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs((np.asarray(a) - np.asarray(b) + math.pi) % (2 * math.pi) - math.pi).max(initial=0.0))


@twin_settings(80)
@given(swarms())
def test_cells_hold_every_agent_once_in_its_cell(inst):
    pos, _, box, _, _, (order, start, ncx), _ = inst
    assert sorted(order) == list(range(len(pos)))
    assert start[0] == 0 and start[-1] == len(pos) and (np.diff(start) >= 0).all()
    side = box / ncx
    for c in range(ncx * ncx):
        for i in order[start[c] : start[c + 1]]:
            assert min(int(pos[i, 0] / side), ncx - 1) == c % ncx and min(int(pos[i, 1] / side), ncx - 1) == c // ncx
        assert list(order[start[c] : start[c + 1]]) == sorted(order[start[c] : start[c + 1]]), "not stable"


@twin_settings(80)
@given(swarms())
def test_neighbour_sums_match_the_twin(inst):
    pos, angle, box, r, periodic, cells, _ = inst
    got = K.circular_neighbour_sums(pos, angle, box, r, periodic, *cells)
    want = naive.circular_neighbour_sums(pos, angle, box, r, periodic)
    assert np.array_equal(got[2], want[2])
    np.testing.assert_allclose(got[0], want[0], rtol=0, atol=TOL)
    np.testing.assert_allclose(got[1], want[1], rtol=0, atol=TOL)


@twin_settings(80)
@given(swarms(), st.floats(0, 1), st.floats(0, 0.8), st.floats(0.1, 2))
def test_vicsek_step_matches_the_twin(inst, coupling, speed_frac, dt):
    pos, theta, box, r, periodic, cells, rng = inst
    n = len(pos)
    turn, noise = rng.normal(0, 1, n), rng.uniform(-1, 1, n)
    speed = speed_frac * box / dt  # up to most of the box in one step: walls reflect
    head = unit(theta)
    got = K.vicsek_step(pos, head, turn, noise, box, r, speed, dt, coupling, periodic, *cells)
    want = naive.vicsek_step(pos, head, turn, noise, box, r, speed, dt, coupling, periodic)
    np.testing.assert_allclose(got[0], want[0], rtol=0, atol=TOL)
    np.testing.assert_allclose(got[1], want[1], rtol=0, atol=TOL)
    assert got[2] == pytest.approx(want[2], abs=TOL)
    assert ((got[0] >= 0) & (got[0] <= box)).all() and np.allclose(np.hypot(got[1][:, 0], got[1][:, 1]), 1.0, 0, 1e-14)


@twin_settings(80)
@given(swarms(), st.floats(-3, 3), st.floats(0.01, 1))
def test_kuramoto_step_matches_the_twin(inst, coupling, dt):
    pos, phase, box, r, periodic, cells, rng = inst
    n = len(pos)
    omega, control, noise = rng.normal(0, 1, n), rng.normal(0, 1, n), rng.normal(0, 0.1, n)
    got = K.kuramoto_step(pos, phase, omega, control, noise, box, r, coupling, dt, periodic, *cells)
    want = naive.kuramoto_step(pos, phase, omega, control, noise, box, r, coupling, dt, periodic)
    assert angle_gap(got, want) < TOL


@twin_settings(80)
@given(swarms(), st.floats(0, 2), st.floats(0.1, 2))
def test_aggregation_step_and_order_parameters_match_the_twin(inst, vmax, dt):
    pos, angle, box, r, periodic, cells, rng = inst
    velocity, noise = rng.normal(0, 1, (len(pos), 2)), rng.normal(0, 0.1 * box, (len(pos), 2))
    got = K.aggregation_step(pos, velocity, noise, box, vmax, dt, periodic)
    np.testing.assert_allclose(got, naive.aggregation_step(pos, velocity, noise, box, vmax, dt, periodic), 0, TOL)
    assert M.polar_order(angle) == pytest.approx(naive.polar_order(angle), abs=TOL)
    assert M.centroid_distance(pos, box, periodic) == pytest.approx(
        naive.centroid_distance(pos, box, periodic), abs=TOL
    )
    assert np.array_equal(M.cluster_labels(pos, box, r, periodic, *cells), naive.cluster_labels(pos, box, r, periodic))


@twin_settings(80)
@given(swarms(), st.sampled_from([M.HIST_VALUE, M.HIST_RELATIVE, M.HIST_BEARING]), st.sampled_from([1, 4, 7]))
def test_neighbour_histograms_match_the_twin(inst, mode, bins):
    pos, angle, box, r, periodic, cells, rng = inst
    values = rng.uniform(-10, 10, len(pos))
    fov = float(rng.choice([2 * math.pi, math.pi, 1.0]))
    got = M.neighbour_histograms(pos, values, angle, fov, bins, mode, box, r, periodic, *cells)
    want = naive.neighbour_histograms(pos, values, angle, fov, bins, mode, box, r, periodic)
    assert np.array_equal(got[1], want[1])
    np.testing.assert_allclose(got[0], want[0], rtol=0, atol=TOL)
    rows = got[0].sum(axis=1)
    np.testing.assert_allclose(rows, (got[1] > 0).astype(float), atol=TOL)


@twin_settings(60)
@given(swarms(), st.floats(-3, 3), st.floats(0.01, 1))
def test_kuramoto_over_neighbour_lists_matches_the_twin(inst, coupling, dt):
    pos, phase, box, r, periodic, (order, start, ncx), rng = inst
    n = len(pos)
    first, nbr = P.neighbour_lists(pos[order, 0].copy(), pos[order, 1].copy(), start, ncx, box, r, periodic)
    for k in range(n):  # each list holds exactly the twin's neighbours
        assert sorted(order[nbr[first[k] : first[k + 1]]]) == naive.neighbours(pos, int(order[k]), box, r, periodic)
    omega, control, noise = rng.normal(0, 1, n), rng.normal(0, 1, n), rng.normal(0, 0.1, n)
    out, trig_in, trig_out = np.empty(n), np.empty((2, n)), np.empty((2, n))
    got = P.kuramoto_step_lists(phase, omega, control, noise, coupling, dt, order, first, nbr, trig_in, False, False,
                                out, trig_out)  # fmt: skip
    want = naive.kuramoto_step(pos, phase, omega, control, noise, box, r, coupling, dt, periodic)
    assert angle_gap(out, want) < TOL and got == pytest.approx(naive.polar_order(want), abs=TOL)
    assert np.allclose(trig_out[0], np.cos(out[order]), atol=1e-12)


def _cells(pos: np.ndarray, box: float, r: float):
    ncx = K.cell_count(box, r)
    return (*K.build_cells(pos, box, ncx), ncx)


def test_two_agents_within_r_align_to_their_circular_mean_and_a_far_one_keeps_its_heading():
    pos = np.array([[1.0, 1.0], [1.5, 1.0], [8.0, 8.0]])
    theta = np.array([0.2, 1.0, -2.0])
    z = np.zeros(3)
    _, new, _ = K.vicsek_step(pos, unit(theta), z, z, 10.0, 1.0, 0.0, 1.0, 1.0, True, *_cells(pos, 10.0, 1.0))
    assert heading(new) == pytest.approx([0.6, 0.6, -2.0], abs=1e-12)
    # headings across +-pi: the circular mean of 3 and -3 is pi (wrapped to -pi), not 0
    theta = np.array([3.0, -3.0, 0.0])
    _, new, order = K.vicsek_step(pos, unit(theta), z, z, 10.0, 1.0, 0.0, 1.0, 1.0, True, *_cells(pos, 10.0, 1.0))
    assert new[:2] == pytest.approx(np.array([[-1.0, 0.0], [-1.0, 0.0]]), abs=1e-12)
    assert order == pytest.approx(abs(2 * -1.0 + math.cos(0.0)) / 3, abs=1e-12)  # two point west, one east
    # a turn rate and noise add up; speed moves the agent along its new heading
    new_pos, new, _ = K.vicsek_step(
        pos[2:], unit([0.0]), np.array([0.5]), np.array([0.25]), 10.0, 1.0, 2.0, 2.0, 1.0, True,
        *_cells(pos[2:], 10.0, 1.0),
    )  # fmt: skip
    assert heading(new)[0] == pytest.approx(1.25)
    assert new_pos[0] == pytest.approx([8.0 + 4 * math.cos(1.25), 8.0 + 4 * math.sin(1.25) - 10.0])


def test_agents_across_the_periodic_boundary_are_neighbours_and_walls_are_not():
    pos = np.array([[0.1, 5.0], [9.9, 5.0], [5.0, 0.05], [5.0, 9.95]])
    sums_torus = K.circular_neighbour_sums(pos, np.zeros(4), 10.0, 0.5, True, *_cells(pos, 10.0, 0.5))
    sums_walls = K.circular_neighbour_sums(pos, np.zeros(4), 10.0, 0.5, False, *_cells(pos, 10.0, 0.5))
    assert list(sums_torus[2]) == [1, 1, 1, 1] and list(sums_walls[2]) == [0, 0, 0, 0]
    edge = np.array([[0.5, 0.5], [1.5, 0.5]])  # exactly r apart: neighbours (<= r)
    assert list(K.circular_neighbour_sums(edge, np.zeros(2), 10.0, 1.0, False, *_cells(edge, 10.0, 1.0))[2]) == [1, 1]
    # a wall reflects position and heading
    new_pos, new, _ = K.vicsek_step(
        np.array([[9.9, 5.0]]), unit([0.0]), np.zeros(1), np.zeros(1), 10.0, 1.0, 0.5, 1.0, 1.0, False,
        *_cells(np.array([[9.9, 5.0]]), 10.0, 1.0),
    )  # fmt: skip
    assert new_pos[0] == pytest.approx([9.6, 5.0]) and new[0] == pytest.approx([-1.0, 0.0])


def test_order_parameters_by_hand():
    assert M.polar_order(np.full(7, 1.3)) == pytest.approx(1.0)
    assert M.polar_order(np.array([0.0, math.pi / 2, math.pi, -math.pi / 2])) == pytest.approx(0.0, abs=1e-12)
    assert M.polar_order(np.array([0.0, math.pi / 2])) == pytest.approx(math.sqrt(2) / 2)
    pair = np.array([[0.5, 5.0], [9.5, 5.0]])
    assert M.centroid_distance(pair, 10.0, True) == pytest.approx(0.5)  # the centroid is on the seam
    assert M.centroid_distance(pair, 10.0, False) == pytest.approx(4.5)
    chain = np.array([[1.0, 1.0], [1.8, 1.0], [2.6, 1.2], [6.0, 6.0]])
    labels = M.cluster_labels(chain, 10.0, 1.0, False, *_cells(chain, 10.0, 1.0))
    assert list(labels) == [0, 0, 0, 3]


def test_kuramoto_and_aggregation_by_hand():
    pos = np.array([[1.0, 1.0], [1.2, 1.0], [5.0, 5.0]])
    phase = np.array([0.0, 0.5, 1.0])
    z = np.zeros(3)
    omega = np.array([0.0, 0.0, 2.0])
    got = K.kuramoto_step(pos, phase, omega, z, z, 10.0, 1.0, 1.0, 0.1, True, *_cells(pos, 10.0, 1.0))
    assert got == pytest.approx([0.1 * math.sin(0.5), 0.5 - 0.1 * math.sin(0.5), 1.2])
    moved = K.aggregation_step(np.array([[5.0, 5.0], [9.9, 0.1]]), np.array([[3.0, 4.0], [0.5, -0.5]]),
                               np.zeros((2, 2)), 10.0, 1.0, 1.0, False)  # fmt: skip
    assert moved == pytest.approx(np.array([[5.6, 5.8], [9.6, 0.4]]))  # speed capped at 1 (0.6, 0.8); walls reflect


def test_histogram_by_hand_with_a_field_of_view():
    # agent 0 faces east; agent 1 is ahead heading north, agent 2 behind heading south
    pos = np.array([[5.0, 5.0], [5.5, 5.0], [4.5, 5.0]])
    heading = np.array([0.0, math.pi / 2, -math.pi / 2])
    cells = _cells(pos, 10.0, 1.0)
    hist, count = M.neighbour_histograms(pos, heading, heading, math.pi, 4, M.HIST_RELATIVE, 10.0, 1.0, True, *cells)
    assert count[0] == 1 and list(hist[0]) == [0, 0, 0, 1]  # sees only agent 1, at +pi/2: bin [pi/2, pi)
    hist, count = M.neighbour_histograms(pos, heading, heading, 2 * math.pi, 4, M.HIST_BEARING, 10.0, 1.0, True,
                                         *cells)  # fmt: skip
    assert count[0] == 2 and list(hist[0]) == [0.5, 0, 0.5, 0]  # bearings 0 (ahead) and -pi (behind)


@pytest.mark.skipif(os.environ.get("NUMBA_DISABLE_JIT") == "1", reason="the threaded path is the same Python")
def test_the_threaded_path_gives_the_serial_results():
    """From PARALLEL_MIN_AGENTS agents on the kernels run blocks of cell rows (pair sums, two phases) and of agents
    (updates) on threads: the same numbers, bit for bit, as the serial path."""
    from fleetmind.sim.swarm._pair_kernels import neighbour_sums_into

    n = K.PARALLEL_MIN_AGENTS + 1234
    rng = np.random.default_rng(4)
    box, r = math.sqrt(n / 2.0), 1.0
    pos, angle = rng.random((n, 2)) * box, rng.uniform(-math.pi, math.pi, n)
    order, start, ncx = _cells(pos, box, r)
    xs, ys = pos[order, 0].copy(), pos[order, 1].copy()
    cs, ss = np.cos(angle[order]), np.sin(angle[order])
    for periodic in (True, False):
        threaded, serial = np.empty((3, n)), np.empty((3, n))
        neighbour_sums_into(xs, ys, cs, ss, start, ncx, box, r, periodic, True, threaded)
        neighbour_sums_into(xs, ys, cs, ss, start, ncx, box, r, periodic, False, serial)
        assert np.array_equal(threaded, serial) and serial[2].mean() > 4
    got = K.circular_neighbour_sums(pos, angle, box, r, True, order, start, ncx)
    acc = np.empty((3, n))
    neighbour_sums_into(xs, ys, cs, ss, start, ncx, box, r, True, False, acc)
    assert np.array_equal(got[0][order], acc[0]) and np.array_equal(got[2][order], acc[2].astype(np.int64))
    turn, noise = rng.normal(0, 1, n), rng.normal(0, 0.1, n)
    head = np.stack([np.cos(angle), np.sin(angle)], axis=1)
    rec = np.empty((n, 4))
    V.gather_into(pos, head, order, rec)
    for periodic, coupling in ((True, 0.7), (False, 1.0)):
        runs = [(np.empty((n, 2)), np.empty((2, n)), np.empty((n, 2)), np.empty((n, 2))) for _ in range(2)]
        got = [V.advance(rec, sums, rot, order, start, ncx, turn, noise, 0.0, 1.0, box, r, 0.1, 1.0, coupling, periodic,
                         threads, np.empty((V.CHUNKS, 2)), new_pos, new_head)
               for threads, (sums, rot, new_pos, new_head) in zip((True, False), runs, strict=True)]  # fmt: skip
        # rot (index 1) holds the turns only when they do not depend on the neighbours (coupling 0 or 1); else it
        # is untouched scratch (np.empty), whose contents differ between the runs
        same = [np.array_equal(a, b) for i, (a, b) in enumerate(zip(*runs, strict=True)) if i != 1 or coupling == 1.0]
        assert got[0] == got[1] and len(same) >= 3 and all(same)
        neighbour_sums_into(xs, ys, rec[:, 2].copy(), rec[:, 3].copy(), start, ncx, box, r, periodic, False, acc)
        np.testing.assert_allclose(runs[0][0], acc[:2].T, rtol=0, atol=1e-12)
    phase = K.kuramoto_step(pos, angle, turn, noise, noise, box, r, 2.0, 0.1, True, order, start, ncx)
    neighbour_sums_into(xs, ys, cs, ss, start, ncx, box, r, True, False, acc)
    serial_phase, trig = np.empty(n), np.empty((2, n))
    K._kuramoto_update(cs, ss, acc, order, angle, turn, noise, noise, 2.0, 0.1, 0, n, serial_phase, trig)
    assert np.array_equal(phase, serial_phase)
    first, nbr = P.neighbour_lists(xs, ys, start, ncx, box, r, True)
    assert first[-1] == acc[2].sum()  # the lists hold every neighbour the pair sums count
    lists = [(np.empty(n), np.empty((2, n)), np.empty((2, n))) for _ in range(2)]
    for threads, (out, trig_in, trig_out) in zip((True, False), lists, strict=True):
        P.kuramoto_step_lists(angle, turn, noise, noise, 2.0, 0.1, order, first, nbr, trig_in, False, threads, out,
                              trig_out)  # fmt: skip
    assert np.array_equal(lists[0][0], lists[1][0]) and np.allclose(lists[0][0], phase, atol=1e-12)
    hist, count = M.neighbour_histograms(pos, angle, angle, 2.0, 6, M.HIST_RELATIVE, box, r, True, order, start, ncx)
    serial_hist = (np.zeros((n, 6)), np.zeros(n, dtype=np.int64))
    M._hist_rows(xs, ys, angle[order], angle, 2.0, 6, M.HIST_RELATIVE, box, r, True, order, start, ncx, 0, ncx,
                 *serial_hist)  # fmt: skip
    assert np.array_equal(hist, serial_hist[0]) and np.array_equal(count, serial_hist[1])


# ---- the worlds ------------------------------------------------------------------------------------------------


@jit_only
def test_no_noise_no_coupling_no_control_keeps_headings():
    world = VicsekWorld(200, box=10.0, coupling=0.0, eta=0.0)
    start = world.reset(3)
    theta = world.theta.copy()
    for _ in range(20):
        out = world.step()
    assert angle_gap(world.theta, theta) < 1e-12 and out.order == pytest.approx(start.order)


@jit_only
def test_vicsek_without_noise_orders_and_kuramoto_with_strong_coupling_synchronizes():
    vicsek = VicsekWorld(300, box=5.0, radius=1.0, speed=0.05, eta=0.1)
    first = vicsek.reset(0).order
    for _ in range(150):
        last = vicsek.step(observe=False).order
    assert first < 0.2 and last > 0.9
    kuramoto = KuramotoWorld(300, box=5.0, radius=1.5, coupling=4.0, omega_std=0.05, dt=0.1)
    first = kuramoto.reset(0).order
    for _ in range(300):
        last = kuramoto.step(observe=False).order
    weak = KuramotoWorld(300, box=5.0, radius=1.5, coupling=0.0, omega_std=0.05, dt=0.1)
    weak.reset(0)
    for _ in range(300):
        unsynced = weak.step(observe=False).order
    assert first < 0.2 and last > 0.95 and unsynced < 0.3


@jit_only
def test_aggregation_towards_the_centre_aggregates():
    world = AggregationWorld(200, box=10.0, vmax=0.2, periodic=False)
    first = world.reset(1).order
    cluster0 = world.largest_cluster(0.3)
    for _ in range(60):
        out = world.step(np.array([5.0, 5.0]) - world.pos, observe=False)
    assert out.order < 0.1 * first and world.largest_cluster(0.3) == 1.0 > cluster0


@jit_only
def test_the_same_seed_gives_the_same_run_and_observations_are_distributions():
    runs = []
    for _ in range(2):
        world = VicsekWorld(150, box=6.0, eta=1.0)
        world.reset(7)
        runs.append([world.step(np.full(150, 0.1)) for _ in range(5)])
    assert [s.order for s in runs[0]] == [s.order for s in runs[1]]
    assert np.array_equal(runs[0][-1].observation, runs[1][-1].observation)
    obs = runs[0][-1].observation
    assert obs.shape == (150, 8) and ((obs.sum(1) == 0) | np.isclose(obs.sum(1), 1.0)).all()


@jit_only
def test_observation_is_permutation_equivariant():
    world = VicsekWorld(120, box=5.0, fov=2.0)
    world.reset(5)
    obs = world.observe()
    perm = np.random.default_rng(0).permutation(120)
    world.pos, world.theta, world._cells = world.pos[perm], world.theta[perm], None
    assert np.array_equal(world.observe(), obs[perm])


@pytest.mark.parametrize(
    ("make", "needle"),
    [
        (lambda: VicsekWorld(0), "agents=0"),
        (lambda: VicsekWorld(10, radius=-1.0), "radius=-1.0"),
        (lambda: VicsekWorld(10, radius=float("nan")), "radius=nan"),
        (lambda: VicsekWorld(10, box=4.0, radius=3.0), "radius=3.0 exceeds half"),
        (lambda: VicsekWorld(10, eta=7.0), "eta=7.0"),
        (lambda: KuramotoWorld(10, coupling=float("nan")), "coupling=nan"),
        (lambda: AggregationWorld(10, vmax=-0.1), "vmax=-0.1"),
        (lambda: VicsekWorld(10, fov=0.0), "fov=0.0"),
    ],
)
def test_bad_parameters_are_refused_with_one_line(make, needle):
    with pytest.raises(ValueError) as err:
        make()
    assert needle in str(err.value) and "\n" not in str(err.value)


@jit_only
def test_bad_actions_are_refused_and_large_ones_clipped():
    world = VicsekWorld(4, box=10.0, coupling=0.0, max_turn=0.5)
    world.reset(0)
    with pytest.raises(ValueError, match=r"shape \(3,\)"):
        world.step(np.zeros(3))
    with pytest.raises(ValueError, match="NaN"):
        world.step(np.array([0.0, np.nan, 0.0, 0.0]))
    theta = world.theta.copy()
    world.step(np.full(4, 100.0))
    assert angle_gap(world.theta, theta + 0.5) < 1e-12


@pytest.mark.skipif(os.environ.get("NUMBA_DISABLE_JIT") == "1", reason="already running without the JIT")
def test_swarm_kernel_twins_also_hold_without_jit():
    """The same comparisons with numba's JIT off (coverage of the kernels' Python source), with the observation and
    assignment twins of ``test_swarm_observation.py`` and the Vicsek kernels' checks of ``test_vicsek_kernels.py`` in
    the same subprocess (one interpreter start, not three)."""
    more = [str(Path(__file__).with_name(name)) for name in ("test_swarm_observation.py", "test_vicsek_kernels.py")]
    assert_twins_hold_without_jit(__file__, *more)
