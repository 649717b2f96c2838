"""Scenario files: a pydantic v2 schema (unknown keys are errors) and a loader with one-line errors.

A scenario names the world (backend + task + size) and how to run it::

    name: boxnet1_2x2
    description: BoxNet1 on a 2x2 grid (4 robots)
    world: {backend: grid, task: boxnet1, rows: 2, cols: 2}
    run: {planner: oracle, seed: 0, episodes: 1}
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, Union

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from planners.llm.config import LLMSettings
from sim.grid import BoxLift, BoxNet1, BoxNet2, GridFleet, GridTask, Warehouse
from sim.pybullet.config import CameraSettings, PyBulletSettings

if TYPE_CHECKING:
    from sim.grid.mapf import MapfFleet
    from sim.pybullet import PyBulletFleet


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _GridWorld(_Strict):
    backend: Literal["grid", "pybullet"] = Field("grid", description="World backend that runs the task.")
    pybullet: PyBulletSettings | None = Field(None, description="3D physics settings (backend: pybullet).")
    step_limit: int | None = Field(None, ge=1, le=10_000, description="Override the task's step limit.")


class BoxNet1World(_GridWorld):
    task: Literal["boxnet1"] = Field(description="BoxNet1: boxes between cells, one robot per cell.")
    rows: int = Field(2, ge=1, le=32, description="Grid rows (paper: 2 or 4).")
    cols: int = Field(2, ge=1, le=32, description="Grid columns (paper: 2, 4 or 8).")

    def make_task(self) -> GridTask:
        return BoxNet1(self.rows, self.cols)


class BoxNet2World(_GridWorld):
    task: Literal["boxnet2"] = Field(description="BoxNet2: boxes on corners, must not collide.")
    rows: int = Field(2, ge=1, le=32, description="Grid rows (paper: 2 or 4).")
    cols: int = Field(2, ge=1, le=32, description="Grid columns (paper: 2, 4 or 8).")

    def make_task(self) -> GridTask:
        return BoxNet2(self.rows, self.cols)


class WarehouseWorld(_GridWorld):
    task: Literal["warehouse"] = Field(description="Warehouse: robots on tracks bring boxes to the target.")
    robots: int = Field(4, ge=1, le=64, description="Number of robots (paper: 4, 6, 8, 10).")

    def make_task(self) -> GridTask:
        return Warehouse(self.robots)


class BoxLiftWorld(_GridWorld):
    task: Literal["boxlift"] = Field(description="BoxLift: lifters team up on boxes of hidden weight.")
    lifters: int = Field(4, ge=1, le=64, description="Number of lifters (paper: 4, 6, 8, 10).")
    boxes: int = Field(10, ge=1, le=256, description="Number of boxes (paper: 10, 14, 18, 24).")

    def make_task(self) -> GridTask:
        return BoxLift(self.lifters, self.boxes)


class MapfWorld(_Strict):
    backend: Literal["grid", "pybullet"] = Field("grid", description="World backend that runs the task.")
    pybullet: PyBulletSettings | None = Field(None, description="3D physics settings (backend: pybullet).")
    task: Literal["mapf_lifelong"] = Field(description="Lifelong MAPF with POGEMA 1.4 semantics (soft collisions).")
    map: str = Field("wfi_warehouse", description="Bundled map name (see sim.grid.mapf.map_names()).")
    agents: int = Field(64, ge=1, le=10_000, description="Number of agents.")
    episode_steps: int = Field(256, ge=1, le=100_000, description="Steps per episode (the metric's divisor).")
    obs_radius: int = Field(5, ge=1, le=64, description="Observation radius R: agents see a (2R+1)^2 window.")

    @field_validator("map")
    @classmethod
    def _known_map(cls, value: str) -> str:
        from sim.grid.mapf import map_names

        if value not in map_names():
            raise ValueError(f"unknown map {value!r}; e.g. wfi_warehouse, pico_s00_od20_na32, den520d")
        return value

    def make_fleet(self) -> MapfFleet:
        from sim.grid.mapf import MapfFleet, named_map

        return MapfFleet(named_map(self.map), self.agents, self.episode_steps, "restart", self.obs_radius)


World = Annotated[
    Union[BoxNet1World, BoxNet2World, WarehouseWorld, BoxLiftWorld, MapfWorld],  # noqa: UP007 - discriminated union
    Field(discriminator="task"),
]


class RunConfig(_Strict):
    planner: str = Field("oracle", description="Planner name (`fleetmind list` shows them).")
    seed: int = Field(0, ge=0, description="Seed of the first episode; episode k uses seed + k.")
    episodes: int = Field(1, ge=1, le=100_000, description="Number of episodes.")
    llm: LLMSettings = Field(default_factory=LLMSettings, description="Model and prompt settings of LLM planners.")


class Scenario(_Strict):
    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$", description="Scenario name (also the default output folder).")
    description: str = Field("", description="One line for `fleetmind list`.")
    world: World
    run: RunConfig = Field(default_factory=RunConfig, description="How `fleetmind run` runs it by default.")

    def make_fleet(self) -> GridFleet | MapfFleet | PyBulletFleet:
        """A fresh Fleet backend for this scenario's world."""
        if isinstance(self.world, MapfWorld):
            fleet = self.world.make_fleet()
        else:
            fleet = GridFleet(self.world.make_task(), step_limit=self.world.step_limit)
        if self.world.backend == "pybullet":
            from sim.pybullet import make_pybullet_fleet

            return make_pybullet_fleet(fleet, self.world.task, self.world.pybullet)
        return fleet

    def with_backend(self, backend: str) -> Scenario:
        """The same scenario on another world backend (``fleetmind run --backend``)."""
        if backend not in ("grid", "pybullet"):
            raise ScenarioError(f"--backend: {backend!r} is not allowed; allowed values: 'grid', 'pybullet'")
        return self.model_copy(update={"world": self.world.model_copy(update={"backend": backend})})

    @property
    def size(self) -> str:
        w = self.world
        if isinstance(w, (BoxNet1World, BoxNet2World)):
            return f"{w.rows}x{w.cols}"
        if isinstance(w, WarehouseWorld):
            return f"{w.robots} robots"
        if isinstance(w, MapfWorld):
            return f"{w.agents} agents, {w.map}"
        return f"{w.lifters} lifters, {w.boxes} boxes"


class ScenarioError(ValueError):
    """A scenario that cannot be loaded; ``str()`` is one line naming the file, the key and the fix."""


_TAGS = {"boxnet1", "boxnet2", "warehouse", "boxlift", "mapf_lifelong"}


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
            model = {
                "boxnet1": BoxNet1World,
                "boxnet2": BoxNet2World,
                "warehouse": WarehouseWorld,
                "boxlift": BoxLiftWorld,
                "mapf_lifelong": MapfWorld,
            }.get(task)
        elif model is Scenario and part == "run":
            model = RunConfig
        elif model is RunConfig and part == "llm":
            model = LLMSettings
        elif part == "pybullet":
            model = PyBulletSettings
        elif model is PyBulletSettings and part == "camera":
            model = CameraSettings
        elif part in _TAGS:
            continue  # pydantic puts the union tag into the location
        else:
            return []
    return sorted(model.model_fields) if model is not None else []


def _describe(err: dict[str, Any], data: Any) -> str:
    loc = tuple(p for p in err["loc"] if p not in _TAGS)
    where = ".".join(str(p) for p in loc) or "(top level)"
    kind = err["type"]
    if kind == "extra_forbidden":
        allowed = _allowed_keys(tuple(err["loc"]), data)
        return f"unknown key {where!r}; allowed keys here: {', '.join(allowed)}"
    ctx = err.get("ctx", {})
    if kind == "union_tag_invalid":
        return f"{where}.task: {ctx.get('tag')!r} is not allowed; allowed values: {ctx.get('expected_tags')}"
    if kind == "literal_error":
        return f"{where}: {err.get('input')!r} is not allowed; allowed values: {ctx.get('expected')}"
    if kind == "union_tag_not_found":
        allowed = ", ".join(f"'{t}'" for t in ("boxnet1", "boxnet2", "warehouse", "boxlift", "mapf_lifelong"))
        return f"{where}: missing key 'task'; allowed values: {allowed}"
    if kind == "missing":
        return f"{where}: required key is missing"
    return f"{where}: {err['msg']} (got {err.get('input')!r})"


def parse_scenario(data: Any, source: str = "<scenario>") -> Scenario:
    """Validate already-loaded YAML data; raises :class:`ScenarioError`."""
    if not isinstance(data, dict):
        raise ScenarioError(
            f"{source}: a scenario must be a mapping of keys (name, world, run), got {type(data).__name__}"
        )
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors()
        first = _describe(errors[0], data)
        more = f" (and {len(errors) - 1} more error(s))" if len(errors) > 1 else ""
        raise ScenarioError(f"{source}: {first}{more}") from None
    from planners.base import available_planners

    known = available_planners()
    if scenario.run.planner not in known:
        raise ScenarioError(
            f"{source}: run.planner: unknown planner {scenario.run.planner!r}; available: {', '.join(known)}"
        )
    return scenario


def scenario_dirs() -> list[Path]:
    """Where named scenarios are looked up: the source tree, then the installed ``share/fleetmind``."""
    dirs = [Path(__file__).resolve().parents[1] / "scenarios", Path(sys.prefix) / "share" / "fleetmind" / "scenarios"]
    return [d for d in dirs if d.is_dir()]


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
