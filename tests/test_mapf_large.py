"""Large lifelong MAPF (issue 17): the seeded map generators and the shipped generated maps, and the fleet's
agents-in-view lookup that replaced the all-pairs comparison."""

from __future__ import annotations

import numpy as np
import pytest
from fleetmind.sim.grid.mapf.fleet import in_view
from fleetmind.tasks.mapf_lifelong import generators
from fleetmind.tasks.mapf_lifelong.maps import map_names, named_map
from hypothesis import given, settings
from hypothesis import strategies as st

SMALL = {
    "warehouse": {"height": 30, "width": 60, "shelf_length": 8, "margin": 4},
    "sortation": {"height": 24, "width": 40},
    "random": {"height": 32, "width": 32, "density": 0.3},
}


def _one_component(blocked: np.ndarray) -> bool:
    from fleetmind.tasks.mapf_lifelong._kernels import components

    label = components(np.ascontiguousarray(blocked))
    return len(np.unique(label[label >= 0])) == 1


@pytest.mark.parametrize("kind", sorted(SMALL))
def test_generators_are_seeded_and_connected(kind):
    make = generators.GENERATORS[kind]
    a, b, c = (make(**SMALL[kind], seed=s, name=kind) for s in (7, 7, 8))
    assert np.array_equal(a.obstacles, b.obstacles) and not np.array_equal(a.obstacles, c.obstacles)
    for grid in (a, c):
        assert grid.shape == (SMALL[kind]["height"], SMALL[kind]["width"])
        assert _one_component(grid.obstacles)
        assert 0.1 < grid.obstacles.mean() < 0.6
        if grid.targets is not None:  # goal cells: free, and every one of them beside a shelf/chute or on the edge
            assert not (grid.targets & grid.obstacles).any() and grid.targets.sum() > 20


def test_random_generator_fills_pockets_it_cut_off():
    from fleetmind.tasks.mapf_lifelong.maps import random_map

    raw = random_map(32, 32, 0.3, seed=7).obstacles  # the same draw as random_connected's, before filling
    kept = generators.random_connected(32, 32, 0.3, seed=7).obstacles
    assert not _one_component(raw) and _one_component(kept)
    assert (kept >= raw).all() and kept.sum() > raw.sum()  # only free cells were blocked


def test_shipped_generated_maps_are_named_with_their_settings():
    settings_ = generators.generated_settings()
    assert {"lorr_warehouse_140x500", "lorr_sortation_140x500", "random_256x256_d20", "Paris_1_256"} <= set(settings_)
    assert set(settings_) <= set(map_names())
    city = named_map("Paris_1_256")
    assert city.shape == (256, 256) and _one_component(city.obstacles)
    tile = generators._city_tiles()["Paris_1_256_05"]  # row 1, column 1 of the 4x4 tiles
    rows = [r for r in tile.splitlines() if r]
    inside = ~city.obstacles[64:128, 64:128]
    assert (np.array([[ch != "#" for ch in r] for r in rows]) >= inside).all()  # only cut-off pockets filled
    with pytest.raises(ValueError, match="generator must be one of"):
        generators.build({"generator": "maze"}, "x")


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 9), st.integers(1, 9), st.integers(1, 30), st.integers(0, 3), st.integers(0, 2**31 - 1))
def test_in_view_matches_all_pairs(h, w, n, radius, seed):
    rng = np.random.default_rng(seed)
    n = min(n, h * w)
    cells = rng.choice(h * w, size=n, replace=False)
    pos = np.stack(np.divmod(cells, w), axis=1).astype(np.int64)
    near = np.abs(pos[:, None, :] - pos[None, :, :]).max(axis=2) <= radius
    np.fill_diagonal(near, False)
    got = in_view(pos, (h, w), radius)
    assert all(np.array_equal(got[i], np.flatnonzero(near[i])) for i in range(n))
