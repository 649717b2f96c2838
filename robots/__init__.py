"""The shared vocabulary: robot ids, grid coordinates, commands, errors and the Fleet protocol."""

from fleetmind.robots.commands import (
    COLOURS,
    Command,
    EnterTarget,
    EnterTrack,
    Lift,
    MoveBoxToCell,
    MoveBoxToCorner,
    MoveBoxToTarget,
    PickBox,
    TrackMove,
    Wait,
)
from fleetmind.robots.errors import (
    ActionParseError,
    FleetClosedError,
    FleetError,
    IllegalCommandError,
    NotResetError,
    UnknownRobotError,
)
from fleetmind.robots.fleet import Fleet, Observation, RobotEvent, RobotObservation, StepResult
from fleetmind.robots.ids import GridCell, GridCorner, RobotId, cell_corners, robot_id, robot_ids

__all__ = [
    "COLOURS",
    "ActionParseError",
    "Command",
    "EnterTarget",
    "EnterTrack",
    "Fleet",
    "FleetClosedError",
    "FleetError",
    "GridCell",
    "GridCorner",
    "IllegalCommandError",
    "Lift",
    "MoveBoxToCell",
    "MoveBoxToCorner",
    "MoveBoxToTarget",
    "NotResetError",
    "Observation",
    "PickBox",
    "RobotEvent",
    "RobotId",
    "RobotObservation",
    "StepResult",
    "TrackMove",
    "UnknownRobotError",
    "Wait",
    "cell_corners",
    "robot_id",
    "robot_ids",
]
