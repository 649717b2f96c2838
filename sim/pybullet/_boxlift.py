"""BoxLift as motion: the team drives to docking points around the box, attaches, and the box rises
only if the lifters' summed force beats its weight (its mass in PyBullet is the task's hidden weight).

Each lifter pushes up with ``capacity x g x 1.005`` newtons (the 0.5 % margin makes a team whose summed
capacity equals the weight succeed, as in the task, and keeps every lighter team below it for weights up
to 20). ``kinematic``: the force balance is evaluated directly; ``dynamic``: the forces act on the box
for up to 2 s of physics and the box counts as lifted once it has risen 3 cm.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any

from fleetmind.robots.commands import Command, Lift
from fleetmind.robots.fleet import RobotEvent, StepResult
from fleetmind.robots.ids import RobotId
from fleetmind.robots.scene import Item
from fleetmind.sim.pybullet._adapter import TaskAdapter
from fleetmind.sim.pybullet.motion import Drive, Script
from fleetmind.tasks.boxlift.layout import lane_y

G = 9.81
MARGIN = 1.005


class BoxLiftAdapter(TaskAdapter):
    def adjust(self, item: Item, task: Any) -> Item:
        box = int(item.key.split("_")[1])
        return Item(item.key, item.pos, item.size, item.rgba, float(task.weight[box]), item.colour)

    def _dock(self, key: str, j: int, k: int) -> tuple[float, float, float, float]:
        """Docking pose of team member ``j`` of ``k``: on a circle around the box, facing it."""
        bx, by, _, _ = self.world.item_pose(key)
        half = self.meta[key].size[0] / 2
        r = max(half * math.sqrt(2) + self.reach, 0.35 * k / math.pi)
        a = -math.pi + math.pi * (j + 0.5) / max(k, 1)  # on the lifters' side of the box, so no path crosses it
        return bx + r * math.cos(a), by + r * math.sin(a), bx, by

    def before(self, commands: Mapping[RobotId, Command]) -> tuple[set[RobotId], list[RobotEvent]]:
        teams: dict[int, list[RobotId]] = {}
        for rid in self.task.robot_ids:
            cmd = commands.get(rid)
            if isinstance(cmd, Lift):
                teams.setdefault(cmd.box, []).append(rid)
        scripts = []
        for box, team in teams.items():
            for j, rid in enumerate(team):
                x, y, bx, by = self._dock(f"box_{box}", j, len(team))
                hx, hy, _ = self.homes[rid]
                lane = lane_y(self.task.robot_ids.index(rid), self.cell)
                scripts.append(Script(rid, [Drive(hx, lane), Drive(x, lane), Drive(x, y, face=(bx, by))]))
        out = self.run(scripts)
        vetoed: set[RobotId] = set()
        events = self.contact_events(out)
        self.failed_lifts: list[dict[str, Any]] = []
        for box, team in sorted(teams.items()):
            key = f"box_{box}"
            docked = [r for r in team if r not in out.failed]
            lifted = bool(docked) and self._lift(key, docked)
            grid_lifts = round(sum(self.task.capacity[r] for r in team) - self.task.weight[box], 6) >= 0
            if lifted and grid_lifts and len(docked) == len(team):
                self.world.remove_item(key)
                continue
            if grid_lifts:  # physics says no where the rule says yes: veto, and tell the planner
                vetoed.update(team)
                if len(docked) < len(team):
                    late = ", ".join(r for r in team if r not in docked)
                    events += [RobotEvent(r, "blocked", f"box_{box}: {late} did not reach the box") for r in team]
                    continue
                self.failed_lifts.append({"box": box, "lifters": list(team), "lifted": False})
                events += [RobotEvent(r, "too_heavy", f"box_{box} did not rise; it was not lifted") for r in team]
        home = []
        for team in teams.values():
            for rid in team:
                hx, hy, _ = self.homes[rid]
                x, _, _, _ = self.world.pose(self.world.robots[rid])
                lane = lane_y(self.task.robot_ids.index(rid), self.cell)
                home.append(Script(rid, [Drive(x, lane), Drive(hx, lane), *self.home_steps(rid)]))
        events += self.contact_events(self.run(home))
        return vetoed, events

    def _lift(self, key: str, team: list[RobotId]) -> bool:
        force = sum(self.task.capacity[r] for r in team) * G * MARGIN
        mass = self.world.mass(key)
        if self.world.kinematic:
            return force > mass * G
        p, c, body = self.world.p, self.world.cid, self.world.items[key]
        z0 = self.world.item_pose(key)[2]
        rose = False
        for _ in range(int(2.0 / self.world.dt)):
            p.applyExternalForce(body, -1, [0, 0, force], [0, 0, 0], p.LINK_FRAME, physicsClientId=c)
            self.executor._actuate(set())
            self.world.step()
            if self.world.item_pose(key)[2] - z0 > 0.03:
                rose = True
                break
        return rose

    def after(self, result: StepResult, fleet: Any) -> tuple[StepResult, list[RobotEvent]]:
        """A lift that physics vetoed is reported in ``last_lifts`` as failed, as the task reports its own."""
        if getattr(self, "failed_lifts", None):
            fleet.task.last_lifts.extend(self.failed_lifts)
            self.failed_lifts = []
            result = dataclasses.replace(result, observation=fleet.observe())
        return result, []
