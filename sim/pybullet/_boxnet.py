"""BoxNet1 and BoxNet2 as motion: drive to the box, attach, carry it across the border or to a corner
or into its target pad, come back to the cell centre."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any

from fleetmind.robots.commands import COLOURS, Command, MoveBoxToCell, MoveBoxToCorner, MoveBoxToTarget
from fleetmind.robots.fleet import RobotEvent
from fleetmind.robots.ids import RobotId
from fleetmind.robots.scene import cell_xy
from fleetmind.sim.pybullet._adapter import XY, TaskAdapter, approach
from fleetmind.sim.pybullet.motion import Attach, Deliver, Drive, Release, Script
from fleetmind.tasks.boxnet1.layout import pad_xy
from fleetmind.tasks.boxnet2.layout import corner_xy


def _cell_of(x: float, y: float, cell: float) -> tuple[int, int]:
    return math.floor(y / cell), math.floor(x / cell)


class BoxNet1Adapter(TaskAdapter):
    """Boxes are individual bodies; a box belongs to the cell its centre lies in."""

    def build(self, world_data: Mapping[str, Any], task: Any) -> None:
        super().build(world_data, task)
        self.robot_cell = {r: tuple(rc) for r, rc in world_data["robots"].items()}

    def _box(self, cell: tuple[int, int], colour: str) -> str | None:
        """The box of ``colour`` in ``cell`` that is lowest in key order (deterministic)."""
        for key in sorted(self.world.items):
            m = self.meta[key]
            if m.mass > 0 and m.colour == colour and key not in self.executor.carrying.values():
                x, y, _, _ = self.world.item_pose(key)
                if _cell_of(x, y, self.cell) == cell:
                    return key
        return None

    def _drop_point(self, frm: tuple[int, int], to: tuple[int, int], colour: str) -> tuple[XY, XY]:
        """(drop point just across the border, unit direction): each direction of travel has its own lane."""
        dr, dc = to[0] - frm[0], to[1] - frm[1]
        cx, cy = cell_xy(frm[0], frm[1], self.cell)
        ux, uy = float(dc), float(dr)
        mx, my = cx + ux * self.cell / 2, cy + uy * self.cell / 2
        lane = (0.25 if dr + dc > 0 else -0.25) * self.cell + (COLOURS.index(colour) - 2) * 0.05 * self.cell
        lx, ly = abs(uy) * lane, abs(ux) * lane  # the lane side depends on the direction of travel
        across = 0.12 * self.cell
        return (mx + ux * across + lx, my + uy * across + ly), (ux, uy)

    def before(self, commands: Mapping[RobotId, Command]) -> tuple[set[RobotId], list[RobotEvent]]:
        scripts, plans = [], {}
        for rid, cmd in commands.items():
            cell = self.robot_cell[rid]
            colour = getattr(cmd, "colour", "")
            key = self._box(cell, colour)
            if key is None:
                continue
            home = self.homes[rid][:2]
            bx, by, bz, yaw = self.world.item_pose(key)
            p1 = approach(home, (bx, by), self.reach)
            steps: list[Any] = [Drive(*p1, face=(bx, by)), Attach(key)]
            if isinstance(cmd, MoveBoxToTarget):
                pad = pad_xy(cell[0], cell[1], colour, self.cell)
                steps += [Drive(*approach(p1, pad, self.reach), face=pad), Deliver()]
            elif isinstance(cmd, MoveBoxToCell):
                drop, _ = self._drop_point(cell, (cmd.cell.row, cmd.cell.col), colour)
                steps += [Drive(*approach(p1, drop, self.reach), face=drop), Release(at=drop)]
            steps += self.home_steps(rid)
            scripts.append(Script(rid, steps))
            plans[rid] = (cmd, key, (bx, by, bz, yaw))
        out = self.run(scripts)
        failed = self._check(plans, out.failed)
        events = [RobotEvent(r, "physics_failure", f"{commands[r].text} failed: {why}") for r, why in failed.items()]
        return set(failed), self.contact_events(out) + events

    def _check(self, plans: dict, failed: dict[str, str]) -> dict[RobotId, str]:
        vetoed: dict[RobotId, str] = {}
        for rid, (cmd, key, start) in plans.items():
            held = key in self.executor.carrying.values()
            if isinstance(cmd, MoveBoxToCell) and key in self.world.items and not held:
                x, y, _, _ = self.world.item_pose(key)
                done = _cell_of(x, y, self.cell) == (cmd.cell.row, cmd.cell.col)
            else:
                done = isinstance(cmd, MoveBoxToTarget) and key not in self.world.items
            reason = None if done else failed.get(rid, "dropped")
            if reason is not None:
                vetoed[rid] = reason
                self.restore(key, start)
            elif isinstance(cmd, MoveBoxToTarget):
                self._consume_pad(self.robot_cell[rid], cmd.colour)
        return vetoed

    def _consume_pad(self, cell: tuple[int, int], colour: str) -> None:
        key = f"target_{colour}_{cell[0]}_{cell[1]}"
        m = self.meta.get(key)
        if m is None:
            return
        if m.count <= 1:
            self.world.remove_item(key)
        else:
            self.meta[key] = dataclasses.replace(m, count=m.count - 1)


class BoxNet2Adapter(TaskAdapter):
    """Boxes ``box_<colour>`` sit on cell corners; the first robot in fleet order gets a contested box."""

    def build(self, world_data: Mapping[str, Any], task: Any) -> None:
        super().build(world_data, task)
        self.robot_cell = {r: tuple(rc) for r, rc in world_data["robots"].items()}
        self.order = list(world_data["robots"])

    def before(self, commands: Mapping[RobotId, Command]) -> tuple[set[RobotId], list[RobotEvent]]:
        scripts, plans, claimed = [], {}, set()
        for rid in self.order:
            cmd = commands.get(RobotId(rid))
            if cmd is None or cmd.colour in claimed:  # type: ignore[attr-defined]
                continue  # the task reports the conflict
            key = f"box_{cmd.colour}"  # type: ignore[attr-defined]
            if key not in self.world.items:
                continue
            claimed.add(cmd.colour)  # type: ignore[attr-defined]
            cell = self.robot_cell[rid]
            home = self.homes[rid][:2]
            bx, by, bz, yaw = self.world.item_pose(key)
            p1 = approach(home, (bx, by), self.reach)
            steps: list[Any] = [Drive(*p1, face=(bx, by)), Attach(key)]
            if isinstance(cmd, MoveBoxToCorner):
                k = corner_xy(cmd.corner.row, cmd.corner.col, self.cell)
                steps += [Drive(*approach(home, k, self.reach), face=k), Release(at=k)]
            else:
                centre = cell_xy(cell[0], cell[1], self.cell)
                steps += [Drive(*approach(p1, centre, self.reach), face=centre), Deliver()]
            steps += self.home_steps(rid)
            scripts.append(Script(rid, steps))
            plans[RobotId(rid)] = (cmd, key, (bx, by, bz, yaw))
        out = self.run(scripts)
        vetoed = set()
        for rid, (cmd, key, start) in plans.items():
            held = key in self.executor.carrying.values()
            if isinstance(cmd, MoveBoxToCorner) and key in self.world.items and not held:
                x, y, _, _ = self.world.item_pose(key)
                kx, ky = corner_xy(cmd.corner.row, cmd.corner.col, self.cell)
                done = math.hypot(x - kx, y - ky) <= 0.25 * self.cell
            else:
                done = isinstance(cmd, MoveBoxToTarget) and key not in self.world.items
            reason = None if done else out.failed.get(rid, "dropped")
            if reason is not None:
                vetoed.add(rid)
                self.restore(key, start)
        return vetoed, self.contact_events(out) + [
            RobotEvent(r, "physics_failure", f"{commands[r].text} failed: {out.failed.get(r, 'dropped')}")
            for r in sorted(vetoed)
        ]
