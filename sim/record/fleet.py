"""RecordingFleet: wraps any Fleet and writes every episode to ``DIR/<scenario>_seed<N>.mcap`` (named so when the
episode ends or the fleet closes; until then ``.mcap.part``, which is all a killed process leaves of its episode).

Poses come from the backend when it has them (the PyBullet backend samples its scene every 0.1 s of
simulated time, and camera images when cameras are on); otherwise, as for the grid backend, from the
task's metric layout (its plug-in's ``Task.scene``, through :func:`fleetmind.sim.pybullet.layout.scene_of`), one
frame per task step of ``step_seconds``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from fleetmind.robots.commands import Command
from fleetmind.robots.fleet import Fleet, Observation, StepResult
from fleetmind.robots.ids import RobotId
from fleetmind.sim.pybullet.layout import scene_of
from fleetmind.sim.record.writer import EpisodeWriter

log = logging.getLogger(__name__)


class RecordingFleet:
    """A Fleet that records: same contract as the fleet it wraps."""

    def __init__(self, inner: Fleet, out_dir: Path, scenario: str, step_seconds: float = 1.0) -> None:
        self.inner = inner
        self.out_dir = Path(out_dir)
        self.scenario = scenario
        self.step_seconds = step_seconds
        self.paths: list[Path] = []
        self._writer: EpisodeWriter | None = None
        self._physical = hasattr(inner, "take_frames")
        if self._physical:
            inner.record_frames = True  # type: ignore[attr-defined]
        self._t = 0.0

    @property
    def robot_ids(self) -> tuple[RobotId, ...]:
        return self.inner.robot_ids

    def reset(self, seed: int) -> Observation:
        self._finish()
        obs = self.inner.reset(seed)
        path = self.out_dir / f"{self.scenario}_seed{seed}.mcap"
        self._writer = EpisodeWriter(path)
        self.paths.append(path)
        self._t = 0.0
        self._writer.text("/episode", {"scenario": self.scenario, "seed": seed, "robots": list(obs.robots)}, 0.0)
        self._frames(obs.world, 0.0)
        return obs

    def _frames(self, world: Mapping[str, Any], t: float) -> None:
        assert self._writer is not None
        if self._physical:
            for scene in self.inner.take_frames():  # type: ignore[attr-defined]
                self._writer.scene(scene)
            for t_odom, robot, map_from_odom, odom, v, w in getattr(self.inner, "take_odometry", list)():
                self._writer.tf(
                    [
                        ("map", f"{robot}/odom", map_from_odom.as_tuple()),
                        (f"{robot}/odom", f"{robot}/base_link", odom.as_tuple()),
                    ],
                    t_odom,
                )
                self._writer.odometry(robot, odom.as_tuple(), v, w, t_odom)
            for robot, rgb in getattr(self.inner, "images", {}).items():
                self._writer.image(robot, rgb, self.inner.world.t)  # type: ignore[attr-defined]
            return
        cell = float(world.get("cell_size", 1.0))
        try:
            self._writer.scene(scene_of(world, cell, t=t))
        except (ValueError, KeyError) as exc:  # a world without a metric layout still gets plans and metrics
            log.debug("no poses for this world: %s", exc)

    def step(self, commands: Mapping[RobotId, Command]) -> StepResult:
        result = self.inner.step(commands)
        if self._writer is None:
            return result
        steps = int(result.metrics.get("steps", 0))
        self._t = float(result.metrics.get("sim_time", steps * self.step_seconds))
        self._writer.text("/plan", {"step": steps, "commands": {r: c.text for r, c in commands.items()}}, self._t)
        self._frames(result.observation.world, self._t)
        events = [{"robot": e.robot, "kind": e.kind, "detail": e.detail} for e in result.events]
        self._writer.text("/metrics", {**dict(result.metrics), "events": events}, self._t)
        if result.done:
            self._finish()
        return result

    def _finish(self) -> None:
        if self._writer is not None:
            self._writer.close()
            log.info("recorded %s", self._writer.path)
            self._writer = None

    def close(self) -> None:
        self._finish()
        self.inner.close()
