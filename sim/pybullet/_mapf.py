"""Lifelong MAPF as motion: after each logical step every robot drives from its old cell centre to its
new one with the same controllers; every robot-robot contact is logged as a ``contact`` event."""

from __future__ import annotations

from typing import Any

from fleetmind.robots.fleet import RobotEvent, StepResult
from fleetmind.robots.ids import RobotId
from fleetmind.robots.scene import cell_xy
from fleetmind.sim.pybullet._adapter import TaskAdapter
from fleetmind.sim.pybullet.motion import Drive, Script


class MapfAdapter(TaskAdapter):
    def after(self, result: StepResult, fleet: Any) -> tuple[StepResult, list[RobotEvent]]:
        positions = result.observation.world["positions"]
        scripts = []
        for i, rid in enumerate(fleet.robot_ids):
            x, y = cell_xy(positions[i][0], positions[i][1], self.cell)
            px, py, _, _ = self.world.pose(self.world.robots[rid])
            if abs(px - x) + abs(py - y) > 1e-6:
                scripts.append(Script(rid, [Drive(x, y)]))
        out = self.run(scripts)
        late = [
            RobotEvent(RobotId(r), "late", f"did not reach its cell in time: {why}") for r, why in out.failed.items()
        ]
        return result, self.contact_events(out) + late
