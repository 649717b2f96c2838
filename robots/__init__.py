"""The shared vocabulary: robot ids, poses, commands, specs and the Fleet protocol."""

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
from fleetmind.robots.ids import GridCell, GridCorner, Pose2D, Pose3D, RobotId, cell_corners, robot_id, robot_ids
from fleetmind.robots.spec import Kinematics, RobotSpec

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
    "Kinematics",
    "Lift",
    "MoveBoxToCell",
    "MoveBoxToCorner",
    "MoveBoxToTarget",
    "NotResetError",
    "Observation",
    "PickBox",
    "Pose2D",
    "Pose3D",
    "RobotEvent",
    "RobotId",
    "RobotObservation",
    "RobotSpec",
    "StepResult",
    "TrackMove",
    "UnknownRobotError",
    "Wait",
    "cell_corners",
    "robot_id",
    "robot_ids",
]
