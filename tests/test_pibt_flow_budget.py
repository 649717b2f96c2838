"""``pibt_flow``'s re-plan budget: at most ``flow_budget`` flow paths re-planned per step, requests served oldest
first, agents still waiting for a path follow plain PIBT, and small fleets (the POGEMA sets) never hit the budget."""

from __future__ import annotations

import math

import numpy as np
import pytest
from fleetmind.planners.mapf import PibtCore
from fleetmind.planners.mapf import pibt as pibt_mod
from fleetmind.planners.mapf.pibt import default_flow_budget
from fleetmind.tasks.mapf_lifelong.maps import named_map
from fleetmind.tasks.mapf_lifelong.world import MapfWorld


def test_default_budget_leaves_small_fleets_unbounded():
    assert [default_flow_budget(n) for n in (1, 192, 256, 320)] == [1, 192, 256, 320]  # POGEMA: at most 256
    assert [default_flow_budget(n) for n in (321, 1000, 4000, 4096)] == [320] * 4  # the first window's wave, spread
    assert default_flow_budget(10_000) == 160


@pytest.mark.parametrize("budget", [3, 1000])
def test_budget_caps_replans_and_serves_the_oldest_requests_first(monkeypatch, budget):
    world = MapfWorld(named_map("wfi_warehouse"), 40)
    world.reset(0)
    core = PibtCore(world.blocked, 40, seed=0, w_flow=1.0, flow_budget=budget)
    calls: list[np.ndarray] = []
    real = pibt_mod.flow_replan

    def spy(agents: np.ndarray, *args: object) -> np.ndarray:
        calls.append(agents.copy())
        return real(agents, *args)

    monkeypatch.setattr(pibt_mod, "flow_replan", spy)
    reached = 0
    for step in range(40):
        before = len(calls)
        pos, goal = world.cells(world.pos), world.cells(world.goal)
        acts = core.actions(pos, goal)
        info = world.step(acts)
        assert np.array_equal(info.executed, acts)  # still conflict-free: the world reverts nothing
        reached += int(info.on_goal.sum())
        done = calls[before:]
        assert len(done) <= 1 and all(len(a) <= budget for a in done)
        if step == 0:  # everybody asks at once; the rest wait with no flow path and move by plain PIBT
            assert len(done[0]) == min(budget, 40)
            assert np.count_nonzero(core.intended == -1) == 40 - min(budget, 40)
        # oldest first: nobody waits longer than the queue takes to drain at ``budget`` per step
        assert core.pending.max() <= math.ceil(40 / budget)
    planned = np.unique(np.concatenate(calls))
    assert len(planned) == 40  # every agent got its flow path in the end
    assert reached >= 10
