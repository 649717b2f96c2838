"""Kernel mean-field observations (RBF embedding, field of view, noise), the Hungarian assignment and the formation
world: kernels against their plain-Python twins (also without the JIT: ``test_swarm_kernels.py`` re-runs this file with
``NUMBA_DISABLE_JIT=1``), hand-worked cases, permutation invariance."""

from __future__ import annotations

import math
import os

import numpy as np
import pytest
from fleetmind.sim.swarm import AggregationWorld, FormationWorld, KuramotoWorld, VicsekWorld, shape_distance
from fleetmind.sim.swarm import _embed_kernels as E
from fleetmind.sim.swarm import _kernels as K
from hypothesis import given
from hypothesis import strategies as st
from naive import swarm as naive
from naive import twin_settings
from test_swarm_kernels import swarms

TOL = 1e-9
jit_only = pytest.mark.skipif(os.environ.get("NUMBA_DISABLE_JIT") == "1", reason="world runs need the JIT")


@twin_settings(60)
@given(swarms(max_agents=20), st.sampled_from([E.EMBED_ANGLE, E.EMBED_POSITION]), st.sampled_from([1, 4, 9]))
def test_neighbour_embedding_matches_the_twin(inst, mode, nb):
    pos, angle, box, r, periodic, cells, rng = inst
    values = rng.uniform(-10, 10, len(pos))
    shift = rng.normal(0, 0.1, (len(pos), 2))
    fov = float(rng.choice([2 * math.pi, math.pi, 1.0]))
    centres = rng.uniform(-math.pi, math.pi, (nb, 1)) if mode == E.EMBED_ANGLE else rng.uniform(-1, 1, (nb, 2))
    width = float(rng.uniform(0.2, 1.5))
    got = E.neighbour_embedding(pos, values, angle, shift, fov, centres, width, mode, box, r, periodic, *cells)
    want = naive.neighbour_embedding(pos, values, angle, shift, fov, centres, width, mode, box, r, periodic)
    assert np.array_equal(got[1], want[1])
    np.testing.assert_allclose(got[0], want[0], rtol=0, atol=TOL)
    assert ((got[0] >= 0) & (got[0] <= 1 + TOL)).all()
    assert (got[0][got[1] == 0] == 0).all()


@twin_settings(40)
@given(st.integers(1, 6), st.integers(0, 2**31 - 1), st.booleans())
def test_assignment_is_optimal_against_every_permutation(n, seed, ties):
    rng = np.random.default_rng(seed)
    cost = rng.integers(0, 3, (n, n)).astype(float) if ties else rng.random((n, n)) * 10 - 3
    col = E.assignment(cost)
    assert sorted(col) == list(range(n))
    assert cost[np.arange(n), col].sum() == pytest.approx(naive.assignment_cost(cost), abs=1e-9)


def _cells(pos, box, r):
    ncx = K.cell_count(box, r)
    return (*K.build_cells(pos, box, ncx), ncx)


def test_embedding_by_hand():
    # agent 0 at the centre facing east; agent 1 straight ahead 0.5 away (relative heading +pi/2), agent 2 far away
    pos = np.array([[5.0, 5.0], [5.5, 5.0], [9.0, 9.0]])
    heading = np.array([0.0, math.pi / 2, 0.0])
    centres = np.array([[0.0], [math.pi / 2]])
    emb, count = E.neighbour_embedding(pos, heading, heading, np.zeros((3, 2)), 2 * math.pi, centres, 1.0,
                                       E.EMBED_ANGLE, 10.0, 1.0, True, *_cells(pos, 10.0, 1.0))  # fmt: skip
    assert list(count) == [1, 1, 0]
    assert emb[0] == pytest.approx([math.exp(-1.0), 1.0])  # cos(pi/2 - 0) - 1 = -1; on the second centre
    assert emb[1] == pytest.approx([math.exp(-1.0), math.exp(-2.0)])  # it sees agent 0 at -pi/2
    assert list(emb[2]) == [0.0, 0.0]
    # positions in the agent's frame (x ahead, y to the left): agent 1 faces north, so agent 0, west of it, is on
    # its left at (0, 0.5)
    points = np.array([[0.5, 0.0], [0.0, 0.5], [0.0, -0.5]])
    emb, _ = E.neighbour_embedding(pos, heading, heading, np.zeros((3, 2)), 2 * math.pi, points, 0.5,
                                   E.EMBED_POSITION, 10.0, 1.0, True, *_cells(pos, 10.0, 1.0))  # fmt: skip
    assert emb[0][0] == pytest.approx(1.0)  # agent 0 sees agent 1 ahead at (0.5, 0)
    assert emb[1] == pytest.approx([math.exp(-1.0), 1.0, math.exp(-2.0)])


@jit_only
@pytest.mark.parametrize(
    "make",
    [
        lambda: VicsekWorld(120, box=5.0, fov=2.0, observation="rbf"),
        lambda: KuramotoWorld(120, box=5.0, observation="rbf", bins=5),
        lambda: AggregationWorld(120, box=5.0, observation="rbf", bins=16),
    ],
)
def test_rbf_observation_is_permutation_equivariant_and_sized(make):
    world = make()
    obs = world.reset(5).observation
    assert obs.shape == (120, world.obs_dim) and obs.max() <= 1.0 and obs.max() > 0.2
    perm = np.random.default_rng(0).permutation(120)
    world.pos, world._cells = world.pos[perm], None
    if isinstance(world, VicsekWorld):
        world.theta = world.theta[perm]
    elif isinstance(world, KuramotoWorld):
        world.phase = world.phase[perm]
    np.testing.assert_allclose(world.observe(), obs[perm], rtol=0, atol=1e-12)  # neighbours summed in another order


@jit_only
def test_observation_noise_perturbs_reading_only_and_is_seeded():
    clean = VicsekWorld(200, box=6.0, eta=0.5, observation="rbf")
    noisy = VicsekWorld(200, box=6.0, eta=0.5, observation="rbf", obs_noise=0.5)
    a, b = clean.reset(3), noisy.reset(3)
    assert a.order == b.order and not np.allclose(a.observation, b.observation)
    assert np.abs(a.observation - b.observation).mean() > 0.01
    for _ in range(3):
        a, b = clean.step(), noisy.step()
    assert a.order == b.order  # observing with noise never changes the dynamics
    again = VicsekWorld(200, box=6.0, eta=0.5, observation="rbf", obs_noise=0.5)
    again.reset(3)
    for _ in range(3):
        c = again.step()
    assert np.array_equal(b.observation, c.observation)


def test_shape_distance_ignores_translation_and_order():
    shape = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 2.0]])
    moved = shape[[2, 0, 1]] + [3.0, -1.0]
    dist, col = shape_distance(moved, shape)
    assert dist == pytest.approx(0.0, abs=1e-12) and list(col) == [2, 0, 1]
    # one point off by 0.3 (the centroid moves by 0.1): by hand, sqrt((0.2^2 + 0.1^2 + 0.1^2) / 3) for x
    off = shape + [[0.3, 0.0], [0.0, 0.0], [0.0, 0.0]]
    assert shape_distance(off, shape)[0] == pytest.approx(math.sqrt((0.2**2 + 0.1**2 + 0.1**2) / 3))


@jit_only
def test_formation_world_reaches_its_shape_under_a_centralised_law():
    world = FormationWorld(12, shape="circle", box=8.0, vmax=0.2)
    first = world.reset(2).order
    for _ in range(80):  # each agent heads for its assigned point around the current centroid
        goal = world.pos.mean(axis=0) + world.shape[world.assigned]
        last = world.step(goal - world.pos, observe=False).order
    assert first > 1.0 and last < 0.02
    periodic = FormationWorld(4, shape=np.array([[0.0, 0.0], [0.4, 0.0], [0.0, 0.4], [0.4, 0.4]]), box=8.0,
                              periodic=True)  # fmt: skip
    periodic.reset(0)
    periodic.pos = np.array([[7.9, 7.9], [0.3, 7.9], [7.9, 0.3], [0.3, 0.3]])  # the square across the corner seam
    assert periodic.order() == pytest.approx(0.0, abs=1e-9)


@pytest.mark.parametrize(
    ("make", "needle"),
    [
        (lambda: VicsekWorld(10, observation="kde"), "observation='kde'"),
        (lambda: VicsekWorld(10, obs_noise=-1.0), "obs_noise=-1.0"),
        (lambda: FormationWorld(5, shape="star"), "shape='star'"),
        (lambda: FormationWorld(5, shape=np.zeros((4, 2))), "shape has shape (4, 2)"),
        (lambda: FormationWorld(5, spacing=0.0), "spacing=0.0"),
    ],
)
def test_bad_observation_and_formation_parameters_are_refused_with_one_line(make, needle):
    with pytest.raises(ValueError) as err:
        make()
    assert needle in str(err.value) and "\n" not in str(err.value)
