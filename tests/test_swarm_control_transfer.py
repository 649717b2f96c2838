"""benchmarks/swarm_control.py's transfer settings (issue 15): the observation radius reaches every transfer run,
a bad radius is refused with one line, and the neighbour-graph figures (components, the locked-components bound on
the phase order) on hand-worked cases."""

from __future__ import annotations

import math
import sys

import benchmark_script
import numpy as np
import pytest
from fleetmind.tasks.swarm import get_swarm_task

bench = benchmark_script.load("swarm_control")


@pytest.mark.parametrize("mode", ["density", "box"])
def test_the_transfer_radius_reaches_the_config(mode):
    task = get_swarm_task("kuramoto")
    c = bench.transfer_config(task, mode, 1000, 300, 3000, 2.0, 2.0)
    assert c.radius == 2.0 and c.agents == 1000
    if mode == "density":
        assert c.density == 1.0 and c.steps == 3000 and c.box == pytest.approx(math.sqrt(1000))
    else:
        assert c.density == pytest.approx(10.0) and c.steps == 300 and c.box == pytest.approx(10.0)
    assert bench.transfer_config(task, mode, 1000, 300, 3000).radius == 1.0  # the default: the shipped figures


def test_transfer_rows_run_at_the_given_radius():
    task = get_swarm_task("kuramoto")
    acts = {c: (lambda obs: np.zeros(obs.agents)) for c in ("dec-pomfc", "classic")}
    rows = bench.transfer_rows(task, acts, "density", [2000], 4, 4, (100, 25), 1.0, 2.0)
    assert [(r["agents"], r["radius"], r["steps"]) for r in rows] == [(100, 2.0, 4), (25, 2.0, 4)]
    assert rows[0]["dec-pomfc"]["kept"] == 1.0


@pytest.mark.parametrize("radius", ["0", "-1", "3", "nan"])
def test_a_bad_transfer_radius_is_refused_with_one_line(radius, monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["swarm_control.py", "--transfer-only", "--transfer-radius", radius])
    with pytest.raises(SystemExit) as exc:
        bench.main()
    assert exc.value.code == 2
    err = capsys.readouterr().err.splitlines()
    assert err[-1].startswith("swarm_control.py: error: --transfer-radius: give a radius in (0, 2.5]")


def test_locked_level_by_hand():
    rng = np.random.default_rng(0)
    assert bench.locked_level(np.array([7]), rng) == pytest.approx(1.0)
    # two single agents: E|exp(ia) + exp(ib)| / 2 = E|cos((a - b) / 2)| = 2 / pi
    assert bench.locked_level(np.array([1, 1]), rng, 200_000) == pytest.approx(2 / math.pi, abs=0.005)
    # many equal components: sqrt(pi / (4 C)) (the mean of a Rayleigh modulus)
    assert bench.locked_level(np.full(400, 3), rng, 20_000) == pytest.approx(math.sqrt(math.pi / 1600), rel=0.02)
    # one dominant component holds the level near its share
    assert bench.locked_level(np.array([90, 1, 1, 1]), rng) > 0.9


def test_the_graph_percolates_at_r2_and_splits_at_r1():
    task, rng = get_swarm_task("kuramoto"), np.random.default_rng(7)
    one = bench.graph_row(task, bench.transfer_config(task, "density", 100, 1, 1, 1.0, 1.0), [2000, 2001, 2002], rng)
    two = bench.graph_row(task, bench.transfer_config(task, "density", 100, 1, 1, 1.0, 2.0), [2000, 2001, 2002], rng)
    assert one["mean_degree"] == pytest.approx(math.pi, rel=0.1) and two["mean_degree"] == pytest.approx(
        4 * math.pi, rel=0.1
    )
    assert one["components"] > 5 and one["largest_share"] < 0.7 and one["locked_level"] < 0.7
    assert two["components"] == 1 and two["largest_share"] == 1.0 and two["locked_level"] == pytest.approx(1.0)
