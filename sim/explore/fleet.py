"""ExploreFleet: the HAS missions' world as a :class:`fleetmind.robots.fleet.Fleet`.

Each episode draws its map from the seed (:func:`fleetmind.tasks.has.maps.generate`). A robot's observation holds
only what it senses this step: its cell, the free cells and walls it sees (row-major indices), the objects on them
and the regions (room types) they belong to. ``world`` holds what every planner may know: positions, who is
online, each robot's four neighbours (walls or not, for the shield), the mission's public goal, coverage. The map
itself is never in an observation. Commands: :class:`~fleetmind.robots.commands.GridStep` or ``Wait``; a step into
a wall is reverted to a wait, as in POGEMA. M5 (``reorg``): at 30% of the budget a quarter of the online robots go
offline and as many reserve robots come online elsewhere (events ``lost``/``joined``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
from fleetmind.robots.commands import Command, GridStep, Wait
from fleetmind.robots.errors import FleetClosedError, IllegalCommandError, UnknownRobotError
from fleetmind.robots.fleet import Observation, RobotEvent, RobotObservation, StepResult, final_step
from fleetmind.robots.ids import RobotId, robot_ids
from fleetmind.sim.explore.world import ExploreWorld
from fleetmind.tasks.has import TASK, HasConfig
from fleetmind.tasks.has.maps import generate
from fleetmind.tasks.has.missions import MissionState
from fleetmind.tasks.mapf_lifelong.actions import ACTION_OF, STEPS


def reserve_of(config: HasConfig) -> int:
    """Reserve robots an episode holds back (M5: a quarter of the starting robots, at least one)."""
    return max(1, math.ceil(config.robots / 4)) if config.mission == "reorg" else 0


class ExploreFleet:
    """The grid backend of the HAS missions."""

    def __init__(self, config: HasConfig) -> None:
        self.config = config
        self.reserve = reserve_of(config)
        self._ids = robot_ids(config.robots + self.reserve)
        self._index = {rid: i for i, rid in enumerate(self._ids)}
        self.world: ExploreWorld | None = None
        self.mission: MissionState | None = None
        self._steps = 0
        self._seed: int | None = None
        self._final: StepResult | None = None
        self._closed = False

    @property
    def robot_ids(self) -> tuple[RobotId, ...]:
        return self._ids

    @property
    def reorg_step(self) -> int:
        return max(1, int(0.3 * self.config.step_limit)) if self.config.mission == "reorg" else -1

    def reset(self, seed: int) -> Observation:
        if self._closed:
            raise FleetClosedError()
        c = self.config
        emap = generate(c.family, c.size, seed, c.targets)
        self.world = ExploreWorld(emap, c.robots, c.radius, self.reserve)
        self.world.reset(seed)
        self.mission = MissionState(c.mission, emap, c.goal_form)
        if c.mission == "described_goal":
            assert self.world.start_dist is not None
            r, col = emap.objects[emap.targets[0]].cell
            self.mission.shortest = max(0, int(self.world.start_dist[r * emap.shape[1] + col]) - (c.robots > 1))
        self._seed, self._steps, self._final = seed, 0, None
        self._update_mission()
        return self.observe()

    def _update_mission(self) -> list[str]:
        w, m = self.world, self.mission
        assert w is not None and m is not None
        on = w.pos[w.active]
        return m.update(self._steps, w.coverage, w.seen_mask(), on[:, 0] * w.w + on[:, 1])

    def observe(self) -> Observation:
        w, m = self.world, self.mission
        assert w is not None and m is not None
        emap = w.emap
        blocked = emap.blocked.ravel()
        room_of = emap.room_of.ravel()
        obj_at = {o.cell[0] * w.w + o.cell[1]: o for o in emap.objects}
        robots: dict[RobotId, RobotObservation] = {}
        for i, rid in enumerate(self._ids):
            if not w.active[i]:
                data = {"cell": None, "online": False, "free": (), "walls": (), "objects": (), "rooms": ()}
                robots[rid] = RobotObservation(rid, data, "offline", ())
                continue
            cells = w.cells[i, : w.counts[i]]
            walls = blocked[cells]
            objects = tuple(
                (o.id, o.size, o.colour, o.kind, o.cell[0], o.cell[1]) for c in cells.tolist() if (o := obj_at.get(c))
            )
            rooms = tuple(
                (r.id, r.kind, r.top, r.left, r.bottom, r.right)
                for r in (emap.rooms[k] for k in np.unique(room_of[cells[~walls]]).tolist() if k >= 0)
            )
            cell = (int(w.pos[i, 0]), int(w.pos[i, 1]))
            data = {
                "cell": cell,
                "online": True,
                "free": tuple(cells[~walls].tolist()),
                "walls": tuple(cells[walls].tolist()),
                "objects": objects,
                "rooms": rooms,
            }
            seen = ", ".join(f"{s} {co} {k} at ({r}, {c})" for _, s, co, k, r, c in objects) or "no objects"
            text = f"at {cell}, sees {len(cells)} cells, {seen}"
            robots[rid] = RobotObservation(rid, data, text, STEPS)
        found = [emap.objects[t].cell for t in m.targets if t in m.found]
        world = {
            "task": TASK.name,
            "mission": self.config.mission,
            "map": emap.name,
            "shape": emap.shape,
            "positions": tuple((int(r), int(c)) for r, c in w.pos),
            "active": tuple(bool(a) for a in w.active),
            "walls": tuple(tuple(bool(x) for x in row) for row in w.walls()),
            "goal": m.public(),
            "found": tuple(found),
            "coverage": round(w.coverage, 4),
            "radius": w.radius,
            "comm_range": self.config.comm_range,
            "step_limit": self.config.step_limit,
        }
        text = (
            f"{emap.name}: {int(w.active.sum())} robots online, mission {self.config.mission}, step "
            f"{self._steps}/{self.config.step_limit}, coverage {w.coverage:.0%}"
        )
        return Observation(step=self._steps, robots=robots, world=world, text=text)

    def actions_of(self, commands: Mapping[RobotId, Command]) -> np.ndarray:
        """Typed commands -> ``(N,) int64`` POGEMA actions; offline robots may only wait."""
        assert self.world is not None
        actions = np.zeros(len(self._ids), dtype=np.int64)
        for rid, command in commands.items():
            if rid not in self._index:
                raise UnknownRobotError(rid, self._ids)
            action = ACTION_OF.get(command) if isinstance(command, (Wait, GridStep)) else None
            if action is None:
                raise IllegalCommandError(
                    rid, command, f"{type(command).__name__} is not a grid step", [c.text for c in STEPS]
                )
            i = self._index[rid]
            if action and not self.world.active[i]:
                raise IllegalCommandError(rid, command, "the robot is offline", [])
            actions[i] = action
        return actions

    def step(self, commands: Mapping[RobotId, Command]) -> StepResult:
        if (final := final_step(self._closed, self._seed is not None, self._final)) is not None:
            return final
        w, m = self.world, self.mission
        assert w is not None and m is not None
        actions = self.actions_of(commands)
        executed = w.step(actions)
        self._steps += 1
        events = [
            RobotEvent(self._ids[i], "blocked", "move reverted to wait") for i in np.flatnonzero(actions != executed)
        ]
        if self._steps == self.reorg_step:
            events += self._reorganize()
        events += [RobotEvent(self._ids[0], "mission", line) for line in self._update_mission()]
        done = m.done or self._steps >= self.config.step_limit
        success = m.success if done else False
        failure = None if (success or not done) else "step_limit"
        metrics: dict[str, Any] = {
            "success": success,
            "steps": self._steps,
            "failure_reason": failure,
            **m.metrics(self._steps),
            "redundancy": round(w.redundancy, 3),
            "collisions": w.collisions,
        }
        result = StepResult(self.observe(), tuple(events), done, failure, metrics)
        if done:
            self._final = result
        return result

    def _reorganize(self) -> list[RobotEvent]:
        w = self.world
        assert w is not None
        on = np.flatnonzero(w.active)
        off = np.flatnonzero(~w.active)
        k = min(len(off), max(1, math.ceil(len(on) / 4)))
        lost = np.sort(w.rng.choice(on, size=k, replace=False))
        w.drop(lost)
        w.join(off[:k])
        return [RobotEvent(self._ids[i], "lost", "went offline") for i in lost.tolist()] + [
            RobotEvent(self._ids[i], "joined", f"online at {tuple(w.pos[i].tolist())}") for i in off[:k].tolist()
        ]

    def close(self) -> None:
        self._closed = True
