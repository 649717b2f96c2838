"""Shared pieces of the ROS 2 edge: topic names, QoS, JSON codecs, pydantic-backed parameters, heartbeats.

Pure helpers plus thin rclpy glue; no node lives here. Every JSON document on a ``std_msgs/String`` topic
carries a ``schema`` key (``fleetmind/<kind>/1``); the README's "ROS 2 topics" section documents them.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import fields, is_dataclass
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from pydantic_core import PydanticUndefined

from fleetmind.robots.actions import parse_action
from fleetmind.robots.commands import Command, Wait
from fleetmind.robots.errors import describe_validation as describe_errors
from fleetmind.robots.fleet import Observation, RobotObservation
from fleetmind.robots.ids import GridCell, GridCorner, RobotId

log = logging.getLogger(__name__)

# ------------------------------------------------------------------------------------------------ topic names
STATE_TOPIC = "/fleet/state"  # String, fleetmind/state/1 (transient local: late joiners get the latest)
MARKERS_TOPIC = "/fleet/markers"  # visualization_msgs/MarkerArray
PLAN_TOPIC = "/fleet/plan"  # String, fleetmind/plan/1 (joint plans; status "failed" aborts the episode)
DIALOGUE_TOPIC = "/fleet/dialogue"  # String, fleetmind/dialogue/1 (agents and the central planner)
ROSTER_TOPIC = "/fleet/roster"  # String, fleetmind/roster/1 (robots the planner considers alive)
RESET_SERVICE = "/fleet/reset"  # std_srvs/Trigger: start the next episode
ESTOP_SERVICE = "/fleet/estop"  # std_srvs/Trigger: stop every robot (latched until the next episode)
ESTOP_STATE_TOPIC = "/fleet/estop_state"  # String, fleetmind/estop/1 (transient local): bridges hold zero velocity
CLOCK_TOPIC = "/clock"  # rosgraph_msgs/Clock: simulated time (PyBullet), for nodes with use_sim_time
DIAGNOSTICS_TOPIC = "/diagnostics"  # diagnostic_msgs/DiagnosticArray heartbeats (hardware_id = robot)
ODOM = "odom"  # per robot, in its namespace: nav_msgs/Odometry
TASK_STATE = "task_state"  # per robot: String, fleetmind/task_state/1
COMMAND = "command"  # per robot: String, fleetmind/command/1


def robot_topic(robot: str, name: str) -> str:
    """A robot's topic as the fleet-level nodes (world, planner, recorder) name it: relative, ``<robot>/<name>``, so a
    namespace pushed over the whole graph moves it (``/fleet_a/robot_0/command``). The ``/fleet/*`` topics and
    services, ``/diagnostics`` and ``/clock`` stay absolute (see the names above)."""
    return f"{robot}/{name}"


def own_topic(node: Any, robot: str, name: str) -> str:
    """The same topic as a robot's own node (agent, bridge) names it: ``<name>`` when the node lives in the robot's
    namespace (``/<robot>``, pushed or not), else :func:`robot_topic` (a node started without one)."""
    return name if node.get_namespace().rstrip("/").rsplit("/", 1)[-1] == robot else robot_topic(robot, name)


def wall_s() -> float:
    """Wall-clock seconds (``time.time``): stamps that another process on the same host compares with its own."""
    return time.time()


def latched_qos(depth: int = 1) -> Any:
    """Reliable + transient local: a subscriber that joins late still gets the last ``depth`` messages."""
    from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy

    return QoSProfile(depth=depth, reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.TRANSIENT_LOCAL)


# ------------------------------------------------------------------------------------------------ JSON codecs
def dumps(doc: Mapping[str, Any]) -> str:
    return json.dumps(doc, separators=(",", ":"), default=_json_default)


def parse_doc(text: str, schema: str) -> dict[str, Any]:
    """A JSON document of ``schema``; ``ValueError`` saying what is wrong (the caller logs it and drops it)."""
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not JSON: {exc}") from None
    if not isinstance(doc, dict) or doc.get("schema") != schema:
        got = doc.get("schema") if isinstance(doc, dict) else type(doc).__name__
        raise ValueError(f"schema {got!r}, expected {schema!r}")
    return doc


def _json_default(value: Any) -> Any:
    if hasattr(value, "tolist"):  # numpy arrays and scalars
        return value.tolist()
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError(f"not JSON-able: {type(value).__name__}")


def _subclasses(cls: type) -> list[type]:
    out = []
    for sub in cls.__subclasses__():
        out.append(sub)
        out.extend(_subclasses(sub))
    return out


_VALUE_TYPES: dict[str, type] = {"GridCell": GridCell, "GridCorner": GridCorner}


def command_types() -> dict[str, type[Command]]:
    """Every concrete command class by name (``fleetmind.robots.commands`` plus any later subclass)."""
    return {c.__name__: c for c in _subclasses(Command)}


def command_to_json(command: Command) -> dict[str, Any]:
    """``{"type": "MoveBoxToCell", "colour": "red", "cell": {"type": "GridCell", "row": 0, "col": 1}}``."""
    out: dict[str, Any] = {"type": type(command).__name__}
    for f in fields(command):
        value = getattr(command, f.name)
        if is_dataclass(value):
            value = {"type": type(value).__name__, **{g.name: getattr(value, g.name) for g in fields(value)}}
        out[f.name] = value
    return out


def command_from_json(data: Mapping[str, Any]) -> Command:
    kinds = command_types()
    name = data.get("type")
    if name not in kinds:
        raise ValueError(f"unknown command type {name!r}")
    kwargs = {}
    for key, value in data.items():
        if key == "type":
            continue
        if isinstance(value, Mapping):
            value = _VALUE_TYPES[str(value["type"])](**{k: v for k, v in value.items() if k != "type"})
        kwargs[key] = value
    return kinds[str(name)](**kwargs)


def observation_to_json(obs: Observation) -> dict[str, Any]:
    robots = {
        r: {"data": dict(o.data), "text": o.text, "legal": [command_to_json(c) for c in o.legal]}
        | ({"measured": dict(o.measured)} if o.measured else {})
        for r, o in obs.robots.items()
    }
    return {"step": obs.step, "text": obs.text, "world": dict(obs.world), "robots": robots}


def observation_from_json(data: Mapping[str, Any]) -> Observation:
    robots = {
        RobotId(r): RobotObservation(
            robot=RobotId(r),
            data=o["data"],
            text=o["text"],
            legal=tuple(command_from_json(c) for c in o["legal"]),
            measured=o.get("measured", {}),
        )
        for r, o in data["robots"].items()
    }
    return Observation(step=int(data["step"]), robots=robots, world=data["world"], text=data["text"])


def plan_to_json(plan: Mapping[RobotId, Command]) -> dict[str, str]:
    return {r: c.text for r, c in plan.items()}


def plan_from_json(obs: Observation, data: Mapping[str, str]) -> dict[RobotId, Command]:
    """A joint plan of action texts back to typed commands (unknown robots and unmatched texts are dropped)."""
    out: dict[RobotId, Command] = {}
    for robot, text in data.items():
        rid = RobotId(robot)
        if rid in obs.robots:
            command = parse_action(str(text), obs.robots[rid].legal)
            if command is not None and not isinstance(command, Wait):
                out[rid] = command
    return out


def scenario_robots(scenario: Any) -> tuple[RobotId, ...]:
    """The robot ids of a scenario from its logical grid model: nothing physical starts (no PyBullet world, no
    SITL robots, no link opened), so a planner, agent or graph can ask any backend's scenario."""
    from fleetmind.sim.grid import make_grid_fleet

    fleet = make_grid_fleet(scenario.task, scenario.world)
    try:
        return tuple(fleet.robot_ids)
    finally:
        fleet.close()


def grid_xy(obs: Observation, robot: RobotId, cell_size: float = 1.0) -> tuple[float, float]:
    """A robot's position in metres: grid cells ``[row, col]`` map to x = col + 0.5, y = row + 0.5 (cells);
    a ``pose`` ``[x, y, ...]`` in the robot's measured readings or data is used as is; otherwise the origin."""
    data = obs.robots[robot].data if robot in obs.robots else {}
    measured = obs.robots[robot].measured if robot in obs.robots else {}
    for pose in (measured.get("pose"), data.get("pose")):  # a real robot's measured pose, else a simulated one
        if isinstance(pose, (list, tuple)) and len(pose) >= 2:
            return float(pose[0]), float(pose[1])
    cell = data.get("cell")
    if cell is None:
        where = obs.world.get("robots", {})
        cell = where.get(robot) if isinstance(where, Mapping) else None
    if isinstance(cell, (list, tuple)) and len(cell) >= 2 and all(isinstance(v, (int, float)) for v in cell[:2]):
        return (float(cell[1]) + 0.5) * cell_size, (float(cell[0]) + 0.5) * cell_size
    return 0.0, 0.0


# ------------------------------------------------------------------------------------------------ parameters
M = TypeVar("M", bound=BaseModel)


class ParameterError(ValueError):
    """A parameter value the pydantic model rejects; ``str()`` names the parameter, the reason and the value."""


def describe_validation(exc: ValidationError) -> str:
    """One line naming the parameter and the fix (the app's one formatter, with ROS's word for a field)."""
    text = describe_errors(exc.errors(), noun="parameter", name=lambda loc: ".".join(map(str, loc)) or "(parameters)")
    return text if text.startswith("unknown parameter") else f"parameter {text}"


def _flat_fields(model: type[BaseModel], prefix: str = "") -> list[tuple[str, Any, str]]:
    """``(dotted name, default, description)`` of every field, nested models flattened with dots."""
    out: list[tuple[str, Any, str]] = []
    for name, field in model.model_fields.items():
        ann = field.annotation
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            out.extend(_flat_fields(ann, f"{prefix}{name}."))
            continue
        default = field.default if field.default is not PydanticUndefined else None
        out.append((f"{prefix}{name}", default, field.description or ""))
    return out


def _nest(values: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in values.items():
        if value is None:
            continue  # unset: the model's default
        node = out
        *parents, leaf = name.split(".")
        for p in parents:
            node = node.setdefault(p, {})
        node[leaf] = value
    return out


def declare_model_parameters(
    node: Any, model: type[M], apply: Callable[[M, frozenset[str]], str | None] | None = None
) -> M:
    """Declare one ROS parameter per model field (description included, dynamic typing: pydantic checks
    types) and validate the values; raises :class:`ParameterError`. Later ``set_parameters`` calls are
    validated by the same model and refused with the reason; a valid change goes to ``apply(new model, changed
    names)``, which applies it at once and returns ``None``, or returns why it is refused. Without ``apply``
    every change is refused (read at start only): a parameter change is never accepted and then ignored."""
    from rcl_interfaces.msg import ParameterDescriptor, SetParametersResult

    names = []
    for name, default, description in _flat_fields(model):
        node.declare_parameter(name, default, ParameterDescriptor(description=description, dynamic_typing=True))
        names.append(name)

    def current() -> dict[str, Any]:
        return {n: node.get_parameter(n).value for n in names}

    try:
        validated = model.model_validate(_nest(current()))
    except ValidationError as exc:
        raise ParameterError(describe_validation(exc)) from None

    def on_set(params: list[Any]) -> Any:
        values = current()
        changed = {p.name: p.value for p in params if p.name in names}
        if not changed:  # rclpy's own (use_sim_time, ...)
            return SetParametersResult(successful=True)
        values.update(changed)
        try:
            new = model.model_validate(_nest(values))
        except ValidationError as exc:
            return SetParametersResult(successful=False, reason=describe_validation(exc))
        if apply is None:
            first = sorted(changed)[0]
            return SetParametersResult(
                successful=False, reason=f"parameter {first}: read at start only; restart the node with the new value"
            )
        reason = apply(new, frozenset(changed))
        return SetParametersResult(successful=reason is None, reason=reason or "")

    node.add_on_set_parameters_callback(on_set)
    return validated


def model_parameters(model: BaseModel) -> dict[str, Any]:
    """A validated model as flat ``{dotted name: value}`` ROS parameters (``None`` left out)."""
    flat: dict[str, Any] = {}

    def walk(data: Mapping[str, Any], prefix: str) -> None:
        for k, v in data.items():
            if isinstance(v, Mapping):
                walk(v, f"{prefix}{k}.")
            elif v is not None:
                flat[f"{prefix}{k}"] = v

    walk(model.model_dump(), "")
    return flat


# ------------------------------------------------------------------------------------------------ heartbeats
def heartbeat(
    node: Any, robot: str, role: str, values: Mapping[str, Any], level: int = 0, message: str = "alive"
) -> Any:
    """A ``DiagnosticArray`` with one status: ``name = "<role>/<robot>"``, ``hardware_id = robot``, ``level`` 0 OK,
    1 WARN, 2 ERROR (``diagnostic_msgs/DiagnosticStatus``) and ``message`` saying why."""
    from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue

    msg = DiagnosticArray()
    msg.header.stamp = node.get_clock().now().to_msg()
    status = DiagnosticStatus(level=bytes([level]), name=f"{role}/{robot}", message=message, hardware_id=robot)
    status.values = [KeyValue(key=str(k), value=str(v)) for k, v in values.items()]
    msg.status = [status]
    return msg


def now_s() -> float:
    return time.monotonic()


def status_level(status: Any) -> int:
    """A ``DiagnosticStatus``'s level as an int (rclpy gives the ``byte`` field as ``bytes`` of length 1)."""
    level = status.level
    return level[0] if isinstance(level, (bytes, bytearray)) else int(level)


def steady_timer(node: Any, period_s: float, callback: Callable[[], None], callback_group: Any = None) -> Any:
    """A timer on the steady (wall) clock: protocol deadlines (heartbeats, republishing) keep running while
    simulated time (``use_sim_time``, ``/clock``) stands still between world steps. Stamps use the node clock."""
    from rclpy.clock import Clock, ClockType

    steady = Clock(clock_type=ClockType.STEADY_TIME)
    return node.create_timer(period_s, callback, callback_group=callback_group, clock=steady)


class HeartbeatWatch:
    """Whose heartbeat is overdue. Pure: every call takes ``now`` (seconds on the caller's monotonic clock),
    so the planner node only wires it to ``/diagnostics`` and its timer, and tests drive it with numbers.

    Start-up: :meth:`startup` returns ``None`` while some robot has never beaten and ``startup_timeout_s``
    has not passed since ``started``; then the robots that never beat, each with the reason. After that,
    :meth:`stale` names every robot of ``live`` whose last heartbeat (``started`` if none) is more than
    ``timeout_s`` old; one exactly ``timeout_s`` old is still fresh.
    """

    def __init__(self, robots: Iterable[str], timeout_s: float, startup_timeout_s: float, started: float) -> None:
        self.robots = tuple(robots)
        self.timeout_s = timeout_s
        self.startup_timeout_s = startup_timeout_s
        self.started = started
        self.last_beat: dict[str, float] = {}

    def beat(self, robot: str, now: float) -> None:
        """A heartbeat of ``robot`` arrived (robots outside the roster are ignored)."""
        if robot in self.robots:
            self.last_beat[robot] = now

    def startup(self, now: float) -> list[tuple[str, str]] | None:
        missing = [r for r in self.robots if r not in self.last_beat]
        if missing and now - self.started < self.startup_timeout_s:
            return None
        return [(r, f"no heartbeat within startup_timeout_s={self.startup_timeout_s}") for r in missing]

    def stale(self, live: Iterable[str], now: float) -> list[tuple[str, str]]:
        out = []
        for r in sorted(live):
            age = now - self.last_beat.get(r, self.started)
            if age > self.timeout_s:
                out.append((r, f"heartbeat {age:.2f}s old (heartbeat_timeout_s={self.timeout_s})"))
        return out
