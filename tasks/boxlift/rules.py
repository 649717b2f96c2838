"""BoxLift (Chen et al., ICRA 2024): lifters of different capacity team up to lift boxes of hidden weight.

Rules (as the reference implementation): (lifters, boxes) in (4, 10), (6, 14), (8, 18), (10, 24).
Volumes from {1.0, 1.5, ..., 10.0}; weight = volume x (1 + N(0, 0.1)) with a 5% chance of an extra
+-50% outlier, rounded to 0.1 and at least 0.1; weights are hidden from planners, volumes are shown.
Capacities ``randint(1, 15) / 2``, all raised by 0.5 until their total reaches the heaviest box, so
every box can be lifted by the whole team. Each step every lifter may join the lift of one box
(``lift(box_3)``; one command per lifter, so a lifter never serves two boxes). A lift succeeds when
the summed capacity of its lifters reaches the box's weight; otherwise the feedback says which box
was too heavy for which lifters. Success: no boxes left. Step limit 20 (25 for 8 or more lifters).
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any

from fleetmind.robots.commands import Command, Lift
from fleetmind.robots.fleet import RobotEvent
from fleetmind.robots.ids import RobotId, robot_ids
from fleetmind.tasks.grid import GridTask

PAPER_SIZES: tuple[tuple[int, int], ...] = ((4, 10), (6, 14), (8, 18), (10, 24))


def draw_weight(volume: float, rng: random.Random) -> float:
    """Hidden weight of a box: volume x (1 + N(0, 0.1)), 5% outliers of +-50%, rounded to 0.1."""
    noise = rng.gauss(0.0, volume * 0.1)
    if rng.random() < 0.05:
        noise += rng.choice((-1, 1)) * volume * 0.5
    return round(max(0.1, volume + noise), 1)


class BoxLift(GridTask):
    name = "boxlift"

    def __init__(self, lifters: int = 4, boxes: int = 10) -> None:
        if lifters < 1 or boxes < 1:
            raise ValueError(f"boxlift needs >= 1 lifter and >= 1 box, got lifters={lifters}, boxes={boxes}")
        self.n_lifters = lifters
        self.n_boxes = boxes
        self._ids = robot_ids(lifters)
        self.capacity: dict[RobotId, float] = {}
        self.volume: dict[int, float] = {}
        self.weight: dict[int, float] = {}  # hidden from observations
        self.last_lifts: list[dict[str, Any]] = []  # outcome of the previous step's lifts, for feedback

    @property
    def robot_ids(self) -> tuple[RobotId, ...]:
        return self._ids

    @property
    def step_limit(self) -> int:
        return 25 if self.n_lifters >= 8 else 20

    def generate(self, rng: random.Random) -> None:
        volumes = [rng.randint(2, 20) / 2 for _ in range(self.n_boxes)]
        weights = [draw_weight(v, rng) for v in volumes]
        caps = [rng.randint(1, 15) / 2 for _ in range(self.n_lifters)]
        while sum(caps) < max(weights):
            caps = [c + 0.5 for c in caps]
        self.volume = dict(enumerate(volumes))
        self.weight = dict(enumerate(weights))
        self.capacity = dict(zip(self._ids, caps, strict=True))
        self.last_lifts = []

    def set_state(self, capacity: Mapping[RobotId, float], boxes: Mapping[int, tuple[float, float]]) -> None:
        """Lay out a world by hand (tests): capacities and ``{box: (volume, weight)}``."""
        if set(capacity) != set(self._ids):
            raise ValueError(f"capacities must cover exactly {self._ids}")
        self.capacity = dict(capacity)
        self.volume = {b: v for b, (v, _) in boxes.items()}
        self.weight = {b: w for b, (_, w) in boxes.items()}
        self.last_lifts = []

    def legal(self, robot: RobotId) -> tuple[Command, ...]:
        return tuple(Lift(b) for b in sorted(self.volume))

    def apply(self, commands: Mapping[RobotId, Command]) -> tuple[list[RobotEvent], str | None]:
        teams: dict[int, list[RobotId]] = {}
        for rid in self._ids:
            cmd = commands.get(rid)
            if isinstance(cmd, Lift):
                teams.setdefault(cmd.box, []).append(rid)
        events: list[RobotEvent] = []
        self.last_lifts = []
        for box, team in sorted(teams.items()):
            total = sum(self.capacity[r] for r in team)
            names = ", ".join(f"{r}[{self.capacity[r]:.1f}W]" for r in team)
            lifted = round(total - self.weight[box], 6) >= 0  # 0.7 + 0.2 must reach 0.9
            self.last_lifts.append({"box": box, "lifters": list(team), "lifted": lifted})
            if lifted:
                kind, detail = "lifted", f"box_{box}[{self.volume[box]:.1f}V] lifted by {names}"
                del self.volume[box], self.weight[box]
            else:
                kind = "too_heavy"
                detail = (
                    f"box_{box}[{self.volume[box]:.1f}V] is heavier than the summed capacity {total:.1f} of {names}; "
                    "it was not lifted"
                )
            events.extend(RobotEvent(r, kind, detail) for r in team)
        return events, None

    def solved(self) -> bool:
        return not self.volume

    def metrics(self) -> dict[str, Any]:
        return {"boxes_left": len(self.volume)}

    def _boxes_text(self) -> str:
        return ", ".join(f"box_{b}[{v:.1f}V]" for b, v in sorted(self.volume.items())) or "none"

    def robot_view(self, robot: RobotId) -> tuple[dict[str, Any], str]:
        data = {"capacity": self.capacity[robot], "boxes": {str(b): v for b, v in sorted(self.volume.items())}}
        return data, f"{robot} lifts {self.capacity[robot]:.1f}W; boxes left: {self._boxes_text()}"

    def world_view(self) -> tuple[dict[str, Any], str]:
        data = {
            "task": self.name,
            "lifters": dict(self.capacity),
            "boxes": {str(b): v for b, v in sorted(self.volume.items())},
            "last_lifts": [dict(x) for x in self.last_lifts],
        }
        lifters = ", ".join(f"{r}[{c:.1f}W]" for r, c in self.capacity.items())
        return data, f"boxes left: {self._boxes_text()}\nlifters: {lifters}"
