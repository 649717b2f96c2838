"""Warehouse as motion: drive along tracks, pick a box from the slot beside the track, deliver it at the
target area (each robot has its parking spot there)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fleetmind.robots.commands import Command, EnterTarget, EnterTrack, PickBox, TrackMove
from fleetmind.robots.fleet import RobotEvent
from fleetmind.robots.ids import RobotId
from fleetmind.sim.pybullet._adapter import TaskAdapter, approach
from fleetmind.sim.pybullet.motion import Attach, Deliver, Drive, Script
from fleetmind.tasks.warehouse.layout import parking_xy, track_xy


class WarehouseAdapter(TaskAdapter):
    def _xy(self, rid: RobotId) -> tuple[float, float]:
        p = self.task.pos[rid]
        if p is None:
            return parking_xy(self.task.robot_ids.index(rid), len(self.task.robot_ids), self.task.tracks, self.cell)
        return track_xy(p.track, p.col, self.cell)

    def before(self, commands: Mapping[RobotId, Command]) -> tuple[set[RobotId], list[RobotEvent]]:
        scripts, plans, claimed = [], {}, set()
        for rid in self.task.robot_ids:
            cmd = commands.get(rid)
            if cmd is None:
                continue
            p = self.task.pos[rid]
            here = self._xy(rid)
            steps: list[Any] = []
            key = None
            if isinstance(cmd, TrackMove):
                steps = [Drive(*track_xy(p.track, p.col + (1 if cmd.direction == "right" else -1), self.cell))]
            elif isinstance(cmd, EnterTrack):
                steps = [Drive(*track_xy(cmd.track, 0, self.cell))]
            elif isinstance(cmd, EnterTarget):
                index = self.task.robot_ids.index(rid)
                steps = [Drive(*parking_xy(index, len(self.task.robot_ids), self.task.tracks, self.cell))]
                if rid in self.executor.carrying:
                    steps.append(Deliver())
            elif isinstance(cmd, PickBox):
                key = f"box_{cmd.row:.1f}_{cmd.col}"
                if key in claimed or key not in self.world.items:
                    continue  # the task reports the conflict
                claimed.add(key)
                box = track_xy(cmd.row, cmd.col, self.cell)
                steps = [Drive(*approach(here, box, self.reach), face=box), Attach(key), Drive(*here)]
            scripts.append(Script(rid, steps))
            plans[rid] = (cmd, key)
        out = self.run(scripts)
        vetoed: dict[RobotId, str] = {}
        for rid, (cmd, key) in plans.items():
            if isinstance(cmd, PickBox):
                if self.executor.carrying.get(rid) != key:
                    vetoed[rid] = out.failed.get(rid, "dropped")
            elif rid in out.failed:
                vetoed[rid] = out.failed[rid]
        for rid in vetoed:  # a failed move goes back to where the task still sees the robot
            x, y = self._xy(rid)
            body = self.world.robots[rid]
            _, _, z, yaw = self.world.pose(body)
            self.world.set_pose(body, x, y, z, yaw)
            key = plans[rid][1]
            if key is not None and self.executor.carrying.get(rid) == key:
                self.executor.carrying.pop(rid)
            if key is not None and key in self.meta:
                self.restore(
                    key, (*track_xy(plans[rid][0].row, plans[rid][0].col, self.cell), self.meta[key].size[2] / 2, 0.0)
                )
        events = [RobotEvent(r, "physics_failure", f"{commands[r].text} failed: {why}") for r, why in vetoed.items()]
        return set(vetoed), self.contact_events(out) + events
