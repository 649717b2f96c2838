"""Scenario files: a pydantic v2 schema (unknown keys are errors) and a loader with one-line errors.

A scenario names the world (backend + task + size) and how to run it::

    name: boxnet1_2x2
    description: BoxNet1 on a 2x2 grid (4 robots)
    world: {backend: grid, task: boxnet1, rows: 2, cols: 2}
    run: {planner: oracle, seed: 0, episodes: 1}
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal, Union

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

from fleetmind.firmware_bridge.drone_config import DroneFleetConfig
from fleetmind.firmware_bridge.executor_config import ExecutorSettings, LocalizationSettings, SitlSettings
from fleetmind.planners.llm.config import LLMSettings
from fleetmind.robots.data import data_dirs
from fleetmind.robots.errors import BadInputError, describe_validation
from fleetmind.robots.fleet import Fleet
from fleetmind.sim.pybullet.config import CameraSettings, PyBulletSettings
from fleetmind.tasks import TASKS, Task, get_task


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


BACKENDS = ("grid", "pybullet", "firmware", "mavlink")
"""World backends a scenario may name (``world.backend``, ``fleetmind run --backend``)."""


class _Backend(_Strict):
    """The keys every task's ``world`` section has besides its own (which the task's config model holds)."""

    backend: Literal["grid", "pybullet", "firmware", "mavlink"] = Field(
        "grid", description="World backend that runs the task."
    )
    pybullet: PyBulletSettings | None = Field(None, description="3D physics settings (backend: pybullet).")
    firmware: ExecutorSettings | None = Field(None, description="Real / SITL robot settings (backend: firmware).")
    mavlink: DroneFleetConfig | None = Field(None, description="MAVLink drones (backend: mavlink).")


def _world_model(task: Task) -> type[BaseModel]:
    """``world`` of a scenario for ``task``: the task's config model plus the backend keys."""
    name = task.config.__name__.removesuffix("Config") + "World"
    return create_model(name, __base__=(task.config, _Backend), __module__=__name__)


WORLDS: dict[str, type[BaseModel]] = {name: _world_model(get_task(name)) for name in TASKS}
"""Task name -> the model of a scenario's ``world`` section for it."""

World = Annotated[Union[tuple(WORLDS.values())], Field(discriminator="task")]  # type: ignore[valid-type]  # noqa: UP007


class RunSettings(_Strict):
    planner: str = Field("oracle", description="Planner name (`fleetmind list` shows them).")
    seed: int = Field(0, ge=0, strict=True, description="Seed of the first episode; episode k uses seed + k.")
    episodes: int = Field(1, ge=1, le=100_000, strict=True, description="Number of episodes.")
    llm: LLMSettings = Field(default_factory=LLMSettings, description="Model and prompt settings of LLM planners.")


class Scenario(_Strict):
    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$", description="Scenario name (also the default output folder).")
    description: str = Field("", description="One line for `fleetmind list`.")
    world: World
    run: RunSettings = Field(default_factory=RunSettings, description="How `fleetmind run` runs it by default.")

    @property
    def task(self) -> Task:
        """The plug-in of this scenario's task."""
        return get_task(self.world.task)

    def make_fleet(self) -> Fleet:
        """A fresh Fleet backend for this scenario's world."""
        from fleetmind.sim.grid import make_grid_fleet

        fleet = make_grid_fleet(self.task, self.world)
        if self.world.backend == "pybullet":
            from fleetmind.sim.pybullet import make_pybullet_fleet

            return make_pybullet_fleet(fleet, self.world.task, self.world.pybullet)
        if self.world.backend == "firmware":
            from fleetmind.app.firmware import make_firmware_fleet

            return make_firmware_fleet(fleet, self.task, self.world.firmware, self.world)
        if self.world.backend == "mavlink":
            from fleetmind.app.drones import make_mavlink_fleet

            return make_mavlink_fleet(fleet, self.task, self.world.mavlink, self.world)
        return fleet

    def with_backend(self, backend: str) -> Scenario:
        """The same scenario on another world backend (``fleetmind run --backend``)."""
        if backend not in BACKENDS:
            allowed = ", ".join(repr(b) for b in BACKENDS)
            raise ScenarioError(f"--backend: {backend!r} is not allowed; allowed values: {allowed}")
        other = self.model_copy(update={"world": self.world.model_copy(update={"backend": backend})})
        _check_paper_rules(other, "--backend")
        return other

    @property
    def size(self) -> str:
        return self.task.size_label(self.world)


class ScenarioError(BadInputError):
    """A scenario that cannot be loaded; ``str()`` is one line naming the file, the key and the fix."""


def _check_paper_rules(scenario: Scenario, source: str) -> None:
    """The paper's looser shield rules (e.g. Warehouse ``paper_swaps``) exist in the grid world only."""
    key = scenario.world.paper_rules()
    if key is not None and scenario.world.backend != "grid":
        raise ScenarioError(
            f"{source}: world.{key}: the paper's looser rule is for the grid world only (robots with bodies cannot "
            f"do it); remove {key} or use backend: grid"
        )


_TAGS = set(TASKS)


def _allowed_keys(loc: tuple[Any, ...], data: Any) -> list[str]:
    """Field names of the model that holds ``loc`` (walks the discriminated union by the data's ``task``)."""
    model: Any = Scenario
    node = data
    for part in loc[:-1]:
        if isinstance(part, int) or model is None:
            return []
        if isinstance(node, dict):
            node = node.get(part)
        if model is Scenario and part == "world":
            task = node.get("task") if isinstance(node, dict) else None
            model = WORLDS.get(task)
        elif model is Scenario and part == "run":
            model = RunSettings
        elif model is RunSettings and part == "llm":
            model = LLMSettings
        elif part == "pybullet":
            model = PyBulletSettings
        elif model is PyBulletSettings and part == "camera":
            model = CameraSettings
        elif part == "mavlink":
            model = DroneFleetConfig
        elif part == "firmware":
            model = ExecutorSettings
        elif model is ExecutorSettings and part in ("localization", "sitl"):
            model = LocalizationSettings if part == "localization" else SitlSettings
        elif part in _TAGS:
            continue  # pydantic puts the union tag into the location
        else:
            return []
    return sorted(model.model_fields) if model is not None else []


def parse_scenario(data: Any, source: str = "<scenario>") -> Scenario:
    """Validate already-loaded YAML data; raises :class:`ScenarioError`."""
    if not isinstance(data, dict):
        raise ScenarioError(
            f"{source}: a scenario must be a mapping of keys (name, world, run), got {type(data).__name__}"
        )
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        message = describe_validation(
            exc.errors(), allowed_keys=lambda loc: _allowed_keys(loc, data), tag_values=list(TASKS), hidden=_TAGS
        )
        raise ScenarioError(f"{source}: {message}") from None
    _check_paper_rules(scenario, source)
    from fleetmind.planners.registry import check_plays

    try:  # the default planner (oracle) is not checked: `fleetmind run --planner` may name the one to use
        if "planner" in scenario.run.model_fields_set:
            check_plays(scenario.run.planner, scenario.world.task)
    except BadInputError as exc:
        raise ScenarioError(f"{source}: run.planner: {exc}") from None
    return scenario


def scenario_dirs() -> list[Path]:
    """Where named scenarios are looked up: the source tree, then the installed ``share/fleetmind``."""
    return data_dirs("scenarios")  # the source checkout, then share/fleetmind (ament index, then sys.prefix)


def find_scenario(name_or_path: str | Path) -> Path:
    """A scenario file by path, or by name (``boxnet1_2x2``) in :func:`scenario_dirs`."""
    path = Path(name_or_path)
    if path.is_file():
        return path
    if path.suffix == "" and path.parent == Path("."):
        for d in scenario_dirs():
            candidate = d / f"{path.name}.yaml"
            if candidate.is_file():
                return candidate
    if path.is_dir():
        some = sorted(path.glob("*.yaml"))
        hint = f", e.g. {some[0]}" if some else ""
        raise ScenarioError(f"{name_or_path}: is a folder; give one scenario file in it{hint}")
    raise ScenarioError(f"scenario file not found: {name_or_path} (`fleetmind list` shows the available scenarios)")


def load_scenario(name_or_path: str | Path) -> Scenario:
    """Load and validate a scenario file; every failure is a one-line :class:`ScenarioError`."""
    path = find_scenario(name_or_path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ScenarioError(f"{path}: invalid YAML{at}: {problem}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"{path}: cannot read: {exc}") from None
    return parse_scenario(data, str(path))


def list_scenarios() -> list[tuple[Path, Scenario | ScenarioError]]:
    """Every scenario file found, each loaded (or the error that stops it)."""
    seen: set[str] = set()
    out: list[tuple[Path, Scenario | ScenarioError]] = []
    for d in scenario_dirs():
        for path in sorted(d.glob("*.yaml")):
            if path.name in seen:
                continue
            seen.add(path.name)
            try:
                out.append((path, load_scenario(path)))
            except ScenarioError as exc:
                out.append((path, exc))
    return out
