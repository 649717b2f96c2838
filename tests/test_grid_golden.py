"""Hand-worked golden examples for every action of the four grid tasks, legal and illegal.

Every test lays out a small world with ``set_state`` (after ``fleet.reset(0)``, which ``step`` requires),
checks the exact legal action texts, steps, and checks the exact resulting state. The comments give the
hand-worked reasoning. Grid conventions (``fleetmind.robots.ids``): BoxNet robot ``robot_k`` sits in cell
``(k // cols, k % cols)`` whose centre is ``square[row + 0.5, col + 0.5]``; cell ``(r, c)`` has the
corners ``(r, c), (r, c + 1), (r + 1, c), (r + 1, c + 1)``; 4-neighbours are listed up, down, left, right.
"""

from __future__ import annotations

import pytest
from fleetmind.robots.commands import (
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
    IllegalCommandError,
    NotResetError,
    UnknownRobotError,
)
from fleetmind.robots.fleet import StepResult
from fleetmind.robots.ids import GridCell, GridCorner, RobotId, robot_id
from fleetmind.sim.grid.fleet import GridFleet, events_text
from fleetmind.tasks.boxlift.rules import BoxLift
from fleetmind.tasks.boxnet1.rules import BoxNet1
from fleetmind.tasks.boxnet2.rules import BoxNet2
from fleetmind.tasks.grid import GridTask
from fleetmind.tasks.warehouse.rules import AT_TARGET, TrackPos, Warehouse

R0, R1, R2, R3 = (robot_id(k) for k in range(4))
C = GridCell
K = GridCorner


def fleet_for(task: GridTask, step_limit: int | None = None) -> GridFleet:
    """A fleet that has been reset (so ``step`` works); the caller lays out the world with ``set_state``."""
    fleet = GridFleet(task, step_limit=step_limit)
    fleet.reset(0)
    return fleet


def legal_texts(task: GridTask, robot: RobotId) -> list[str]:
    return [c.text for c in task.legal(robot)]


def event_kinds(result: StepResult) -> list[tuple[str, str]]:
    return [(e.robot, e.kind) for e in result.events]


def assert_running(result: StepResult, steps: int, boxes_left: int) -> None:
    assert not result.done
    assert result.failure_reason is None
    assert not result.success
    assert result.metrics["steps"] == steps
    assert result.observation.step == steps
    assert result.metrics["boxes_left"] == boxes_left


def assert_illegal(fleet: GridFleet, robot: RobotId, command: Command, *, reason: str | None = None) -> None:
    """The step is rejected with an error naming robot and command, and nothing changes."""
    before = fleet.observe()
    with pytest.raises(IllegalCommandError) as info:
        fleet.step({robot: command})
    err = info.value
    assert err.robot == robot
    assert err.command == command
    assert robot in str(err)
    assert command.text in str(err)
    assert list(err.legal) == legal_texts(fleet.task, robot)
    if reason is not None:
        assert reason in err.reason
    after = fleet.observe()
    assert after.step == before.step  # a rejected step is not counted
    assert after.world == before.world and after.text == before.text


def assert_parse_error(task: GridTask, robot: RobotId, text: str) -> None:
    legal = legal_texts(task, robot)
    with pytest.raises(ActionParseError) as info:
        task.parse_action(robot, text)
    err = info.value
    assert err.robot == robot
    assert err.text == text
    assert list(err.legal) == legal
    message = str(err)
    assert robot in message
    assert repr(text) in message
    for choice in legal:
        assert choice in message


# --------------------------------------------------------------------------------------------------------------
# BoxNet1: boxes in cells, robots pass them to 4-neighbours or into same-colour targets in their own cell.
# --------------------------------------------------------------------------------------------------------------


def test_boxnet1_legal_lists_target_then_neighbours_per_sorted_colour() -> None:
    # 2x2 grid. robot_0 in cell (0, 0) = square[0.5, 0.5] holds a red and a blue box and a red target.
    # Colours sorted: blue, red. Blue has no target: only its neighbours down (1, 0) and right (0, 1).
    # Red has a target in the cell, listed first, then the same two neighbours (no up/left at the corner).
    task = BoxNet1(2, 2)
    fleet_for(task)
    task.set_state({C(0, 0): ["red", "blue"]}, {C(0, 0): ["red"], C(1, 1): ["blue"]})
    assert legal_texts(task, R0) == [
        "move(box_blue, square[1.5, 0.5])",
        "move(box_blue, square[0.5, 1.5])",
        "move(box_red, target_red)",
        "move(box_red, square[1.5, 0.5])",
        "move(box_red, square[0.5, 1.5])",
    ]
    # robot_3 at (1, 1) sees the blue target but has no box: nothing to do (waiting is never listed).
    assert legal_texts(task, R3) == []
    assert legal_texts(task, R1) == []


def test_boxnet1_legal_in_the_middle_of_a_grid_has_four_neighbours_and_one_entry_per_colour() -> None:
    # 4x4 grid, robot_5 at (1, 1) = square[1.5, 1.5]; two green boxes give one set of moves, in the
    # order up (0, 1), down (2, 1), left (1, 0), right (1, 2).
    task = BoxNet1(4, 4)
    fleet_for(task)
    task.set_state({C(1, 1): ["green", "green"]}, {C(3, 3): ["green", "green"]})
    assert legal_texts(task, robot_id(5)) == [
        "move(box_green, square[0.5, 1.5])",
        "move(box_green, square[2.5, 1.5])",
        "move(box_green, square[1.5, 0.5])",
        "move(box_green, square[1.5, 2.5])",
    ]


def test_boxnet1_move_box_to_neighbour_cell() -> None:
    # robot_0 passes its red box right to (0, 1); the red target is in (0, 1), so now robot_1 can deliver it.
    task = BoxNet1(2, 2)
    fleet = fleet_for(task)
    task.set_state({C(0, 0): ["red"]}, {C(0, 1): ["red"]})
    assert legal_texts(task, R1) == []
    result = fleet.step({R0: MoveBoxToCell("red", C(0, 1))})
    assert_running(result, steps=1, boxes_left=1)
    assert event_kinds(result) == [(R0, "moved")]
    assert result.events[0].detail == "box_red to square[0.5, 1.5]"
    assert events_text(result.events) == ["robot_0: box_red to square[0.5, 1.5]"]
    assert result.observation.world["boxes"] == [[0, 1, "red"]]
    assert result.observation.world["targets"] == [[0, 1, "red"]]
    assert result.observation.robots[R0].data["boxes"] == []
    assert result.observation.robots[R1].data == {"cell": [0, 1], "boxes": ["red"], "targets": ["red"]}
    assert result.observation.robots[R1].legal_text[0] == "move(box_red, target_red)"


def test_boxnet1_move_box_into_target_consumes_box_and_target_and_succeeds() -> None:
    # Two red boxes and one red target in (0, 0): one delivery removes one box and the target, the
    # other box stays (and can no longer be delivered here). Then the last box is passed down to (1, 0)
    # and delivered into the red target there by robot_2: no boxes left -> success.
    task = BoxNet1(2, 2)
    fleet = fleet_for(task)
    task.set_state({C(0, 0): ["red", "red"]}, {C(0, 0): ["red"], C(1, 0): ["red"]})
    result = fleet.step({R0: MoveBoxToTarget("red")})
    assert_running(result, steps=1, boxes_left=1)
    assert event_kinds(result) == [(R0, "delivered")]
    assert result.events[0].detail == "box_red into target_red"
    assert result.observation.world["boxes"] == [[0, 0, "red"]]
    assert result.observation.world["targets"] == [[1, 0, "red"]]
    assert legal_texts(task, R0) == ["move(box_red, square[1.5, 0.5])", "move(box_red, square[0.5, 1.5])"]

    result = fleet.step({R0: MoveBoxToCell("red", C(1, 0))})
    assert_running(result, steps=2, boxes_left=1)
    result = fleet.step({R2: MoveBoxToTarget("red")})
    assert result.done and result.success
    assert result.failure_reason is None
    assert result.metrics == {"success": True, "steps": 3, "failure_reason": None, "boxes_left": 0}
    assert result.observation.world["boxes"] == [] and result.observation.world["targets"] == []


def test_boxnet1_simultaneous_moves_use_the_start_of_step_state() -> None:
    # robot_0 sends red right to (0, 1) while robot_1 sends blue left to (0, 0): a swap. A box arriving
    # in a cell is not moved again in the same step, and boxes never collide (two boxes may share a cell).
    task = BoxNet1(2, 2)
    fleet = fleet_for(task)
    task.set_state({C(0, 0): ["red"], C(0, 1): ["blue"], C(1, 1): ["blue"]}, {C(1, 0): ["red", "blue", "blue"]})
    result = fleet.step(
        {R0: MoveBoxToCell("red", C(0, 1)), R1: MoveBoxToCell("blue", C(0, 0)), R3: MoveBoxToCell("blue", C(0, 1))}
    )
    assert_running(result, steps=1, boxes_left=3)
    assert event_kinds(result) == [(R0, "moved"), (R1, "moved"), (R3, "moved")]
    assert result.observation.world["boxes"] == [[0, 0, "blue"], [0, 1, "blue"], [0, 1, "red"]]


def test_boxnet1_illegal_commands_name_the_robot() -> None:
    task = BoxNet1(2, 4)
    fleet = fleet_for(task)
    # robot_1 at (0, 1) holds red; the cell has a blue target only. robot_0 at (0, 0) holds nothing.
    task.set_state({C(0, 1): ["red"]}, {C(0, 1): ["blue"], C(1, 3): ["red"]})
    assert legal_texts(task, R1) == [
        "move(box_red, square[1.5, 1.5])",
        "move(box_red, square[0.5, 0.5])",
        "move(box_red, square[0.5, 2.5])",
    ]
    # not a neighbour: diagonal (1, 0), two columns away (0, 3), its own cell, outside the grid
    for cell in (C(1, 0), C(0, 3), C(0, 1), C(-1, 1)):
        assert_illegal(fleet, R1, MoveBoxToCell("red", cell), reason="not legal in the current state")
    # a box that is not in the robot's cell: robot_0 has no red box, robot_1 has no green one
    assert_illegal(fleet, R0, MoveBoxToCell("red", C(0, 1)))
    assert_illegal(fleet, R1, MoveBoxToCell("green", C(0, 2)))
    # target of a different colour: red box, only a blue target here; and blue into blue without a blue box
    assert_illegal(fleet, R1, MoveBoxToTarget("red"))
    assert_illegal(fleet, R1, MoveBoxToTarget("blue"))
    # a command of another task
    assert_illegal(fleet, R1, TrackMove("left"), reason="TrackMove is not a command of task boxnet1")
    # one illegal command rejects the whole joint command: robot_1's legal move is not applied either
    with pytest.raises(IllegalCommandError) as info:
        fleet.step({R1: MoveBoxToCell("red", C(0, 2)), R0: MoveBoxToTarget("red")})
    assert info.value.robot == R0
    assert task.boxes[C(0, 1)] == {"red": 1}
    assert fleet.observe().step == 0


def test_boxnet1_parse_action_tolerance_and_errors() -> None:
    task = BoxNet1(2, 2)
    fleet_for(task)
    task.set_state({C(0, 0): ["red"]}, {C(0, 0): ["red"]})
    right = MoveBoxToCell("red", C(0, 1))
    assert task.parse_action(R0, "move(box_red, square[0.5, 1.5])") == right
    assert task.parse_action(R0, "move(box_red, square[0.5,1.5])") == right
    assert task.parse_action(R0, "  Move( box_red ,  square[ 0.5 , 1.5 ] )  ") == right
    assert task.parse_action(R0, "move(box_red, square(0.5, 1.5))") == right
    assert task.parse_action(R0, "`move(box_red, square[0.5, 1.5])`") == right
    assert task.parse_action(R0, "move('box_red', 'target_red')") == MoveBoxToTarget("red")
    assert task.parse_action(R0, "wait") == Wait()
    assert task.parse_action(R0, "") == Wait()
    assert_parse_error(task, R0, "move(box_red, square[1.5, 1.5])")  # diagonal
    assert_parse_error(task, R0, "move(box_blue, target_blue)")
    assert_parse_error(task, R0, "move(box_red, square[0.5, 1.51])")  # 1.51 is not 1.5
    assert_parse_error(task, R1, "move(box_red, target_red)")  # robot_1 has nothing: legal list is empty
    with pytest.raises(ActionParseError) as info:
        task.parse_action(RobotId("robot_9"), "wait")
    assert "robot_9" in str(info.value) and "unknown robot" in str(info.value)
    plan = task.parse_plan({"robot_0": "move(box_red, target_red)", "robot_3": "wait"})
    assert plan == {R0: MoveBoxToTarget("red"), R3: Wait()}


# --------------------------------------------------------------------------------------------------------------
# BoxNet2: boxes on corners, targets at cell centres, two boxes on one corner is a collision.
# --------------------------------------------------------------------------------------------------------------


def test_boxnet2_legal_lists_other_corners_then_target_per_corner() -> None:
    # 2x2 grid. robot_0's cell (0, 0) has corners (0,0) (0,1) (1,0) (1,1). Red alone on (0, 0) may go to
    # the three other corners, then into the red target at the centre. robot_3's cell (1, 1) has corners
    # (1,1) (1,2) (2,1) (2,2): blue on (1, 2) may go to (1,1) (2,1) (2,2); there is no blue target there.
    task = BoxNet2(2, 2)
    fleet_for(task)
    task.set_state({"red": K(0, 0), "blue": K(1, 2)}, {C(0, 0): ["red"], C(1, 0): ["blue"]})
    assert legal_texts(task, R0) == [
        "move(box_red, position[0.0, 1.0])",
        "move(box_red, position[1.0, 0.0])",
        "move(box_red, position[1.0, 1.0])",
        "move(box_red, target_red)",
    ]
    assert legal_texts(task, R3) == [
        "move(box_blue, position[1.0, 1.0])",
        "move(box_blue, position[2.0, 1.0])",
        "move(box_blue, position[2.0, 2.0])",
    ]
    # robot_1 (0, 1) has corners (0,1) (0,2) (1,1) (1,2): it shares blue's corner (1, 2) with robot_3
    assert legal_texts(task, R1) == [
        "move(box_blue, position[0.0, 1.0])",
        "move(box_blue, position[0.0, 2.0])",
        "move(box_blue, position[1.0, 1.0])",
    ]
    # robot_2 (1, 0) has no box on its corners, even though the blue target is at its centre
    assert legal_texts(task, R2) == []


def test_boxnet2_move_box_to_corner() -> None:
    # robot_0 moves red from (0, 0) down to (1, 0); (1, 0) is also a corner of robot_2's cell (1, 0),
    # whose centre holds the red target, so robot_2 can now deliver it.
    task = BoxNet2(2, 2)
    fleet = fleet_for(task)
    task.set_state({"red": K(0, 0), "blue": K(2, 2)}, {C(1, 0): ["red"], C(1, 1): ["blue"]})
    result = fleet.step({R0: MoveBoxToCorner("red", K(1, 0))})
    assert_running(result, steps=1, boxes_left=2)
    assert event_kinds(result) == [(R0, "moved")]
    assert result.events[0].detail == "box_red to position[1.0, 0.0]"
    assert result.observation.world["boxes"] == {"blue": [2, 2], "red": [1, 0]}
    assert result.observation.robots[R2].data == {"cell": [1, 0], "corner_boxes": {"red": [1, 0]}, "targets": ["red"]}
    assert "move(box_red, target_red)" in result.observation.robots[R2].legal_text


def test_boxnet2_move_box_into_target_and_success() -> None:
    # Red on (1, 1), the centre corner shared by all four cells; its target is in robot_3's cell (1, 1).
    # robot_3 delivers it: box and target disappear, no boxes left -> success after one step.
    task = BoxNet2(2, 2)
    fleet = fleet_for(task)
    task.set_state({"red": K(1, 1)}, {C(1, 1): ["red"]})
    for robot in (R0, R1, R2):
        assert "move(box_red, target_red)" not in legal_texts(task, robot)
    assert legal_texts(task, R3)[-1] == "move(box_red, target_red)"
    result = fleet.step({R3: MoveBoxToTarget("red")})
    assert event_kinds(result) == [(R3, "delivered")]
    assert result.done and result.success and result.failure_reason is None
    assert result.metrics == {"success": True, "steps": 1, "failure_reason": None, "boxes_left": 0}
    assert result.observation.world["boxes"] == {} and result.observation.world["targets"] == []


def test_boxnet2_two_boxes_moved_onto_one_corner_collide() -> None:
    # Red (0, 0) -> (1, 0) by robot_0 and blue (1, 1) -> (1, 0) by robot_2 in the same step: both end on
    # corner (1, 0), which belongs to cells (0, 0) and (1, 0), so robot_0 and robot_2 get collision events.
    task = BoxNet2(2, 2)
    fleet = fleet_for(task)
    task.set_state({"red": K(0, 0), "blue": K(1, 1)}, {C(0, 0): ["red"], C(1, 1): ["blue"]})
    result = fleet.step({R0: MoveBoxToCorner("red", K(1, 0)), R2: MoveBoxToCorner("blue", K(1, 0))})
    assert result.done and not result.success
    assert result.failure_reason == "collision"
    assert result.metrics["failure_reason"] == "collision" and result.metrics["success"] is False
    assert event_kinds(result) == [(R0, "moved"), (R2, "moved"), (R0, "collision"), (R2, "collision")]
    assert result.events[-1].detail == "box_blue and box_red collided at position[1.0, 0.0]"
    assert result.observation.world["boxes"] == {"blue": [1, 0], "red": [1, 0]}


def test_boxnet2_moving_onto_an_occupied_corner_collides_and_moving_off_does_not() -> None:
    # Red (0, 0) and blue (0, 1) are both corners of robot_0's cell. Moving red onto blue's corner (0, 1)
    # collides: (0, 1) belongs to cells (0, 0) and (0, 1) -> events for robot_0 and robot_1 ...
    task = BoxNet2(2, 2)
    fleet = fleet_for(task)
    task.set_state({"red": K(0, 0), "blue": K(0, 1)}, {})
    assert "move(box_red, position[0.0, 1.0])" in legal_texts(task, R0)  # the reference lets it try
    result = fleet.step({R0: MoveBoxToCorner("red", K(0, 1))})
    assert result.done and result.failure_reason == "collision"
    assert event_kinds(result) == [(R0, "moved"), (R0, "collision"), (R1, "collision")]

    # ... but not when blue leaves that corner in the same step (robot_1 moves it to (0, 2)).
    fleet.reset(0)
    task.set_state({"red": K(0, 0), "blue": K(0, 1)}, {})
    result = fleet.step({R0: MoveBoxToCorner("red", K(0, 1)), R1: MoveBoxToCorner("blue", K(0, 2))})
    assert_running(result, steps=1, boxes_left=2)
    assert result.observation.world["boxes"] == {"blue": [0, 2], "red": [0, 1]}


def test_boxnet2_two_robots_moving_one_box_first_in_fleet_order_wins() -> None:
    # Blue on the shared centre corner (1, 1). robot_0 sends it to (0, 0), robot_3 to (2, 2). robot_0 comes
    # first in fleet order: blue ends on (0, 0) and robot_3's command is dropped with a conflict event.
    task = BoxNet2(2, 2)
    fleet = fleet_for(task)
    task.set_state({"blue": K(1, 1)}, {C(0, 0): ["blue"]})
    result = fleet.step({R3: MoveBoxToCorner("blue", K(2, 2)), R0: MoveBoxToCorner("blue", K(0, 0))})
    assert_running(result, steps=1, boxes_left=1)
    assert event_kinds(result) == [(R0, "moved"), (R3, "conflict")]
    assert result.events[1].detail == "box_blue was already moved by robot_0"
    assert result.observation.world["boxes"] == {"blue": [0, 0]}


def test_boxnet2_illegal_commands_name_the_robot() -> None:
    task = BoxNet2(2, 2)
    fleet = fleet_for(task)
    task.set_state({"red": K(0, 0), "green": K(2, 2)}, {C(0, 0): ["blue"], C(1, 1): ["red"]})
    # a corner that is not one of robot_0's cell's corners, and the box's own corner
    for corner in (K(0, 2), K(2, 2), K(2, 0), K(0, 0)):
        assert_illegal(fleet, R0, MoveBoxToCorner("red", corner))
    # a box that is not on the robot's cell's corners: green is on (2, 2), only robot_3's corner
    assert_illegal(fleet, R0, MoveBoxToCorner("green", K(1, 1)))
    assert_illegal(fleet, R0, MoveBoxToCorner("purple", K(1, 1)))  # no purple box at all
    # target of a different colour: robot_0's centre holds a blue target, its box is red
    assert_illegal(fleet, R0, MoveBoxToTarget("red"))
    assert_illegal(fleet, R0, MoveBoxToTarget("blue"))
    # the red target is in robot_3's cell, but red is not on robot_3's corners
    assert_illegal(fleet, R3, MoveBoxToTarget("red"))
    # a BoxNet1 command is not a BoxNet2 command
    assert_illegal(fleet, R0, MoveBoxToCell("red", C(0, 1)), reason="MoveBoxToCell is not a command of task boxnet2")


def test_boxnet2_two_boxes_already_on_one_corner_cannot_be_moved() -> None:
    # Reference rule: only a box alone on its corner can be moved.
    task = BoxNet2(2, 2)
    fleet = fleet_for(task)
    task.set_state({"red": K(1, 1), "blue": K(1, 1)}, {C(0, 0): ["red", "blue"]})
    for robot in (R0, R1, R2, R3):
        assert legal_texts(task, robot) == []
    assert_illegal(fleet, R0, MoveBoxToTarget("red"))


def test_boxnet2_parse_action_tolerance_and_errors() -> None:
    task = BoxNet2(2, 2)
    fleet_for(task)
    task.set_state({"red": K(0, 0)}, {C(0, 0): ["red"]})
    down = MoveBoxToCorner("red", K(1, 0))
    for text in (
        "move(box_red, position[1.0, 0.0])",
        "move(box_red, position(1.0, 0.0))",
        "move(box_red, position[1, 0])",
        "move(box_red, position(1, 0))",
        "move(box_red,position[1.00,0.0])",
        "MOVE(BOX_RED, POSITION[1.0,  0.0]).",
    ):
        assert task.parse_action(R0, text) == down, text
    assert task.parse_action(R0, "move(box_red, target_red)") == MoveBoxToTarget("red")
    assert_parse_error(task, R0, "move(box_red, position[2.0, 0.0])")  # not a corner of robot_0's cell
    assert_parse_error(task, R0, "move(box_red, position[0.0, 0.0])")  # where it already is
    assert_parse_error(task, R0, "move(box_red, position[10.0, 0.0])")  # 10 is not 1
    assert_parse_error(task, R0, "move(box_red, square[1.0, 0.0])")  # BoxNet1 syntax
    assert_parse_error(task, R3, "move(box_red, target_red)")


# --------------------------------------------------------------------------------------------------------------
# Warehouse: 4 robots -> tracks 0..2, columns 0..4, box slots at rows 0.5 and 1.5.
# --------------------------------------------------------------------------------------------------------------


def warehouse(
    boxes: set[tuple[float, int]], *positions: TrackPos | None, step_limit: int | None = None
) -> tuple[Warehouse, GridFleet]:
    task = Warehouse(4)
    assert (task.tracks, task.cols) == (3, 5)
    fleet = fleet_for(task, step_limit)
    task.set_state(boxes, {robot_id(k): p for k, p in enumerate(positions)})
    return task, fleet


def test_warehouse_legal_actions() -> None:
    # robot_0 mid-track (1, 2) with boxes above (0.5, 2) and below (1.5, 2): left, right, both picks.
    # robot_1 at column 0 of track 0: right, to target, and the box below it at (0.5, 0). Track 0 has no
    # slot above (-0.5 is not a slot). robot_2 at the last column 4 of track 2, carrying: left only.
    # robot_3 at the target: enter any of the three tracks.
    task, _ = warehouse(
        {(0.5, 2), (1.5, 2), (0.5, 0), (1.5, 4), (1.5, 3)},
        TrackPos(1, 2),
        TrackPos(0, 0),
        TrackPos(2, 4, carrying=True),
        AT_TARGET,
    )
    assert legal_texts(task, R0) == ["move left", "move right", "pick box_0.5_2", "pick box_1.5_2"]
    assert legal_texts(task, R1) == ["move right", "move to target", "pick box_0.5_0"]
    assert legal_texts(task, R2) == ["move left"]
    assert legal_texts(task, R3) == ["move to track_0", "move to track_1", "move to track_2"]


def test_warehouse_one_column_track_has_no_left_or_right() -> None:
    task = Warehouse(2, tracks=2, cols=1)
    fleet_for(task)
    task.set_state({(0.5, 0)}, {R0: TrackPos(1, 0), R1: AT_TARGET})
    assert legal_texts(task, R0) == ["move to target", "pick box_0.5_0"]
    assert legal_texts(task, R1) == ["move to track_0", "move to track_1"]


def test_warehouse_move_left_and_right_keep_the_load() -> None:
    task, fleet = warehouse({(0.5, 4)}, TrackPos(0, 3, carrying=True), TrackPos(2, 1), AT_TARGET, AT_TARGET)
    result = fleet.step({R0: TrackMove("left"), R1: TrackMove("right")})
    # boxes_left counts shelf boxes plus carried ones: 1 + 1
    assert_running(result, steps=1, boxes_left=2)
    assert result.events == ()  # plain moves produce no events
    assert task.pos[R0] == TrackPos(0, 2, carrying=True)
    assert task.pos[R1] == TrackPos(2, 2)
    assert result.observation.world["robots"] == {R0: [0, 2, True], R1: [2, 2, False], R2: None, R3: None}
    assert result.observation.robots[R0].text == "robot_0 on track_0 column_2, carrying a box"
    assert result.observation.robots[R2].text == "robot_2 is at the target"


def test_warehouse_pick_carry_and_deliver() -> None:
    # robot_0 on track 1, column 1, picks the box at (0.5, 1) above it: the shelf empties, it carries
    # (boxes_left stays 1), walks left to column 0, moves to the target (delivered, boxes_left 0) -> success.
    task, fleet = warehouse({(0.5, 1)}, TrackPos(1, 1), AT_TARGET, AT_TARGET, AT_TARGET)
    assert "pick box_0.5_1" in legal_texts(task, R0)
    result = fleet.step({R0: PickBox(0.5, 1)})
    assert_running(result, steps=1, boxes_left=1)
    assert event_kinds(result) == [(R0, "picked")]
    assert result.events[0].detail == "picked box_0.5_1"
    assert task.boxes == set() and task.pos[R0] == TrackPos(1, 1, carrying=True)
    assert result.observation.world["boxes"] == []
    assert legal_texts(task, R0) == ["move left", "move right"]  # no pick while carrying

    result = fleet.step({R0: TrackMove("left")})
    assert_running(result, steps=2, boxes_left=1)
    assert legal_texts(task, R0) == ["move right", "move to target"]

    result = fleet.step({R0: EnterTarget()})
    assert event_kinds(result) == [(R0, "delivered")]
    assert task.pos[R0] is AT_TARGET
    assert result.done and result.success and result.failure_reason is None
    assert result.metrics == {"success": True, "steps": 3, "failure_reason": None, "boxes_left": 0}


def test_warehouse_not_solved_while_a_robot_still_carries() -> None:
    # The shelves are empty but robot_0 carries the last box: not a success yet.
    task, fleet = warehouse(set(), TrackPos(0, 1, carrying=True), AT_TARGET, AT_TARGET, AT_TARGET)
    result = fleet.step({})
    assert_running(result, steps=1, boxes_left=1)


def test_warehouse_move_to_target_without_a_box_and_back_onto_a_track() -> None:
    # An empty-handed robot may leave at column 0 (no event); from the target it enters column 0 of any track.
    task, fleet = warehouse({(1.5, 4)}, TrackPos(2, 0), AT_TARGET, AT_TARGET, AT_TARGET)
    result = fleet.step({R0: EnterTarget(), R1: EnterTrack(1)})
    assert_running(result, steps=1, boxes_left=1)
    assert result.events == ()
    assert task.pos[R0] is AT_TARGET and task.pos[R1] == TrackPos(1, 0)
    assert result.observation.robots[R0].data == {"at_target": True}
    assert result.observation.robots[R1].data == {
        "at_target": False,
        "track": 1,
        "col": 0,
        "carrying": False,
        "adjacent_boxes": [],
    }


def test_warehouse_two_robots_on_one_cell_collide() -> None:
    # robot_1 waits at (0, 0); robot_0 moves left from (0, 1) onto it -> both get a collision event.
    task, fleet = warehouse({(0.5, 3)}, TrackPos(0, 1), TrackPos(0, 0), AT_TARGET, TrackPos(1, 0))
    result = fleet.step({R0: TrackMove("left")})
    assert result.done and not result.success and result.failure_reason == "collision"
    assert event_kinds(result) == [(R0, "collision"), (R1, "collision")]
    assert result.events[0].detail == "collided on track_0 column_0"


def test_warehouse_two_robots_entering_one_track_collide() -> None:
    # robot_2 and robot_3 both enter track 2 from the target: both end on (2, 0).
    task, fleet = warehouse(set(), TrackPos(0, 4), TrackPos(1, 4), AT_TARGET, AT_TARGET)
    result = fleet.step({R2: EnterTrack(2), R3: EnterTrack(2)})
    assert result.failure_reason == "collision" and result.done
    assert event_kinds(result) == [(R2, "collision"), (R3, "collision")]


def test_warehouse_robots_at_the_target_never_collide() -> None:
    # robot_0 and robot_1 both move from column 0 into the target while robot_2 and robot_3 are there.
    task, fleet = warehouse({(0.5, 4)}, TrackPos(0, 0), TrackPos(1, 0), AT_TARGET, AT_TARGET)
    result = fleet.step({R0: EnterTarget(), R1: EnterTarget()})
    assert_running(result, steps=1, boxes_left=1)
    assert all(p is AT_TARGET for p in task.pos.values())


def test_warehouse_robots_passing_each_other_do_not_collide() -> None:
    # Documented rule: only the end state counts. robot_0 (0, 1) -> (0, 2) and robot_1 (0, 2) -> (0, 1)
    # swap places without a collision (the reference checks positions after the step only).
    task, fleet = warehouse({(0.5, 4)}, TrackPos(0, 1), TrackPos(0, 2), AT_TARGET, AT_TARGET)
    result = fleet.step({R0: TrackMove("right"), R1: TrackMove("left")})
    assert_running(result, steps=1, boxes_left=1)
    assert task.pos[R0] == TrackPos(0, 2) and task.pos[R1] == TrackPos(0, 1)


def test_warehouse_two_robots_picking_one_box_first_in_fleet_order_wins() -> None:
    # Slot (0.5, 2) lies between track 0 and track 1: robot_1 on (0, 2) and robot_3 on (1, 2) both pick it.
    task, fleet = warehouse({(0.5, 2)}, AT_TARGET, TrackPos(0, 2), AT_TARGET, TrackPos(1, 2))
    assert legal_texts(task, R1)[-1] == legal_texts(task, R3)[-1] == "pick box_0.5_2"
    result = fleet.step({R3: PickBox(0.5, 2), R1: PickBox(0.5, 2)})
    assert_running(result, steps=1, boxes_left=1)
    assert event_kinds(result) == [(R1, "picked"), (R3, "conflict")]
    assert result.events[1].detail == "box_0.5_2 was already picked by robot_1"
    assert task.pos[R1] == TrackPos(0, 2, carrying=True)
    assert task.pos[R3] == TrackPos(1, 2, carrying=False)


def test_warehouse_illegal_commands_name_the_robot() -> None:
    task, fleet = warehouse(
        {(1.5, 0), (0.5, 3), (1.5, 3)},
        TrackPos(0, 0),
        TrackPos(0, 4),
        TrackPos(1, 3, carrying=True),
        AT_TARGET,
    )
    assert_illegal(fleet, R0, TrackMove("left"))  # column 0
    assert_illegal(fleet, R1, TrackMove("right"))  # last column
    assert_illegal(fleet, R1, EnterTarget())  # away from column 0
    assert_illegal(fleet, R2, EnterTarget())
    assert_illegal(fleet, R0, PickBox(1.5, 0))  # 1.5 rows away from track 0
    assert_illegal(fleet, R0, PickBox(0.5, 1))  # no box there (and another column)
    assert_illegal(fleet, R0, PickBox(-0.5, 0))  # not a slot
    assert_illegal(fleet, R1, PickBox(0.5, 3))  # a box 0.5 rows away, but in another column
    assert_illegal(fleet, R2, PickBox(0.5, 3))  # picking while carrying
    assert_illegal(fleet, R2, PickBox(1.5, 3))
    assert_illegal(fleet, R3, EnterTrack(3))  # only tracks 0..2
    assert_illegal(fleet, R3, TrackMove("left"))  # at the target there is no track to move along
    assert_illegal(fleet, R3, EnterTarget())
    assert_illegal(fleet, R0, EnterTrack(1))  # on a track already
    assert_illegal(fleet, R0, Lift(0), reason="Lift is not a command of task warehouse")


def test_warehouse_parse_action_tolerance_and_errors() -> None:
    task, _ = warehouse({(0.5, 2)}, TrackPos(1, 2), AT_TARGET, AT_TARGET, TrackPos(0, 0))
    assert task.parse_action(R0, "move left") == TrackMove("left")
    assert task.parse_action(R0, "  Move   RIGHT ") == TrackMove("right")
    assert task.parse_action(R0, "pick box_0.5_2") == PickBox(0.5, 2)
    assert task.parse_action(R0, "'pick box_0.5_2'") == PickBox(0.5, 2)
    assert task.parse_action(R1, "move to track_1") == EnterTrack(1)
    assert task.parse_action(R1, "move to  track_2.") == EnterTrack(2)
    assert task.parse_action(R3, "move to target") == EnterTarget()
    assert_parse_error(task, R0, "move up")
    assert_parse_error(task, R0, "move to target")  # not at column 0
    assert_parse_error(task, R0, "pick box_1.5_2")  # no such box
    assert_parse_error(task, R1, "move to track_3")
    assert_parse_error(task, R3, "move left")


# --------------------------------------------------------------------------------------------------------------
# BoxLift: lifters of hidden-weight boxes; a lift succeeds when the summed capacity reaches the weight.
# --------------------------------------------------------------------------------------------------------------


def boxlift(step_limit: int | None = None) -> tuple[BoxLift, GridFleet]:
    # capacities 1.5 + 2.0 + 0.5 + 1.0 = 5.0; boxes {number: (volume, hidden weight)}
    task = BoxLift(4, 3)
    fleet = fleet_for(task, step_limit)
    task.set_state(
        {R0: 1.5, R1: 2.0, R2: 0.5, R3: 1.0},
        {0: (3.5, 3.5), 3: (3.5, 3.6), 7: (1.0, 1.1)},
    )
    return task, fleet


def test_boxlift_legal_lists_every_box_for_every_lifter() -> None:
    task, fleet = boxlift()
    for robot in (R0, R1, R2, R3):
        assert legal_texts(task, robot) == ["lift(box_0)", "lift(box_3)", "lift(box_7)"]
    obs = fleet.observe()
    # volumes are shown, weights are hidden
    assert obs.robots[R0].data == {"capacity": 1.5, "boxes": {"0": 3.5, "3": 3.5, "7": 1.0}}
    assert obs.robots[R0].text == "robot_0 lifts 1.5W; boxes left: box_0[3.5V], box_3[3.5V], box_7[1.0V]"
    assert "3.6" not in obs.text and "1.1" not in obs.text
    assert "weight" not in str(obs.world)


def test_boxlift_summed_capacity_equal_to_the_weight_lifts_and_point_one_less_fails() -> None:
    # Same step: robot_0 + robot_1 (1.5 + 2.0 = 3.5) lift box_0 (weight 3.5, equal -> lifted), while
    # robot_2 + robot_3 (0.5 + 1.0 = 1.5) lift box_7 (weight 1.1 -> lifted). Next step robot_0 + robot_1
    # (3.5) try box_3 (weight 3.6 = 3.5 + 0.1) -> too heavy; the feedback names both lifters.
    task, fleet = boxlift()
    result = fleet.step({R0: Lift(0), R1: Lift(0), R3: Lift(7), R2: Lift(7)})
    assert_running(result, steps=1, boxes_left=1)
    assert event_kinds(result) == [(R0, "lifted"), (R1, "lifted"), (R2, "lifted"), (R3, "lifted")]
    assert result.events[0].detail == "box_0[3.5V] lifted by robot_0[1.5W], robot_1[2.0W]"
    assert result.events[2].detail == "box_7[1.0V] lifted by robot_2[0.5W], robot_3[1.0W]"
    assert task.volume == {3: 3.5} and task.weight == {3: 3.6}
    assert result.observation.world["last_lifts"] == [
        {"box": 0, "lifters": [R0, R1], "lifted": True},
        {"box": 7, "lifters": [R2, R3], "lifted": True},
    ]
    assert legal_texts(task, R0) == ["lift(box_3)"]

    result = fleet.step({R0: Lift(3), R1: Lift(3)})
    assert_running(result, steps=2, boxes_left=1)
    assert event_kinds(result) == [(R0, "too_heavy"), (R1, "too_heavy")]
    assert result.events[0].detail == (
        "box_3[3.5V] is heavier than the summed capacity 3.5 of robot_0[1.5W], robot_1[2.0W]; it was not lifted"
    )
    assert task.volume == {3: 3.5}
    assert result.observation.world["last_lifts"] == [{"box": 3, "lifters": [R0, R1], "lifted": False}]

    # all four together: 5.0 >= 3.6 -> lifted, nothing left -> success
    result = fleet.step({r: Lift(3) for r in (R0, R1, R2, R3)})
    assert result.done and result.success
    assert result.metrics == {"success": True, "steps": 3, "failure_reason": None, "boxes_left": 0}


def test_boxlift_decimal_capacities_summing_to_the_weight_lift() -> None:
    # 0.7 + 0.2 is 0.8999999999999999 in binary floating point; the feedback would print "0.9" and say
    # the 0.9 box is heavier than 0.9. A sum that equals the weight to 0.1 must lift it.
    task = BoxLift(2, 1)
    fleet = fleet_for(task)
    task.set_state({R0: 0.7, R1: 0.2}, {0: (1.0, 0.9)})
    result = fleet.step({R0: Lift(0), R1: Lift(0)})
    assert event_kinds(result) == [(R0, "lifted"), (R1, "lifted")]
    assert result.success


def test_boxlift_a_single_lifter_and_a_lifter_alone_too_weak() -> None:
    # robot_1 (2.0) alone lifts box_7 (1.1); robot_2 (0.5) alone fails on box_0 (3.5).
    task, fleet = boxlift()
    result = fleet.step({R1: Lift(7), R2: Lift(0)})
    assert_running(result, steps=1, boxes_left=2)
    assert event_kinds(result) == [(R2, "too_heavy"), (R1, "lifted")]  # boxes in number order
    assert result.events[1].detail == "box_7[1.0V] lifted by robot_1[2.0W]"
    assert "robot_2[0.5W]" in result.events[0].detail


def test_boxlift_illegal_commands_name_the_robot() -> None:
    task, fleet = boxlift()
    fleet.step({R0: Lift(0), R1: Lift(0)})  # box_0 is gone
    assert_illegal(fleet, R2, Lift(0))  # a box already lifted
    assert_illegal(fleet, R2, Lift(1))  # never existed
    assert_illegal(fleet, R2, PickBox(0.5, 0), reason="PickBox is not a command of task boxlift")


def test_boxlift_parse_action_tolerance_and_errors() -> None:
    task, fleet = boxlift()
    assert task.parse_action(R0, "lift(box_3)") == Lift(3)
    assert task.parse_action(R0, " LIFT( box_3 ) ") == Lift(3)
    assert task.parse_action(R0, '"lift(box_7)"') == Lift(7)
    assert_parse_error(task, R0, "lift(box_1)")
    assert_parse_error(task, R0, "lift(box_30)")
    fleet.step({R0: Lift(0), R1: Lift(0)})
    assert_parse_error(task, R0, "lift(box_0)")  # already lifted


# --------------------------------------------------------------------------------------------------------------
# Episodes (GridFleet): step limits, success on the last step, sticky done, lifecycle errors.
# --------------------------------------------------------------------------------------------------------------


def test_success_exactly_on_the_last_allowed_step_is_a_success() -> None:
    # step_limit=2. Step 1: robot_0 + robot_1 (3.5) lift box_0 (3.5) and robot_2 + robot_3 (1.5) lift box_7
    # (1.1), leaving box_3. Step 2, the last allowed: all four (5.0) lift box_3 (3.6) -> success.
    task, fleet = boxlift(step_limit=2)
    assert_running(fleet.step({R0: Lift(0), R1: Lift(0), R2: Lift(7), R3: Lift(7)}), steps=1, boxes_left=1)
    result = fleet.step({R0: Lift(3), R1: Lift(3), R2: Lift(3), R3: Lift(3)})
    assert result.done and result.success and result.failure_reason is None
    assert result.metrics == {"success": True, "steps": 2, "failure_reason": None, "boxes_left": 0}

    # The same episode with only robot_0 + robot_1 (3.5 < 3.6) on box_3 at step 2 runs out of steps.
    task, fleet = boxlift(step_limit=2)
    fleet.step({R0: Lift(0), R1: Lift(0), R2: Lift(7), R3: Lift(7)})
    result = fleet.step({R0: Lift(3), R1: Lift(3)})
    assert result.done and not result.success and result.failure_reason == "step_limit"
    assert result.metrics == {"success": False, "steps": 2, "failure_reason": "step_limit", "boxes_left": 1}


def test_step_limit_reached_is_a_failure_and_done_is_sticky() -> None:
    task = BoxNet1(2, 2)
    fleet = fleet_for(task, step_limit=3)
    task.set_state({C(0, 0): ["red"]}, {C(1, 1): ["red"]})
    for step in (1, 2):
        assert_running(fleet.step({}), steps=step, boxes_left=1)
    final = fleet.step({R0: MoveBoxToCell("red", C(0, 1))})
    assert final.done and not final.success
    assert final.failure_reason == "step_limit"
    assert final.metrics == {"success": False, "steps": 3, "failure_reason": "step_limit", "boxes_left": 1}
    # sticky: further steps change nothing, even with commands that would be legal (or not) now
    for commands in ({}, {R1: MoveBoxToTarget("red")}, {R1: MoveBoxToCell("red", C(1, 1))}):
        again = fleet.step(commands)
        assert again.done and again.failure_reason == "step_limit"
        assert again.metrics["steps"] == 3
    assert task.boxes[C(0, 1)] == {"red": 1}
    # reset starts a new episode
    obs = fleet.reset(5)
    assert obs.step == 0
    assert not fleet.step({}).done


def test_collision_on_the_last_step_reports_collision_not_step_limit() -> None:
    # step_limit=1 and a collision on that step: the task failure wins over the step limit.
    task, fleet = warehouse({(0.5, 4)}, TrackPos(0, 1), TrackPos(0, 0), AT_TARGET, AT_TARGET, step_limit=1)
    result = fleet.step({R0: TrackMove("left")})
    assert result.done and result.failure_reason == "collision" and not result.success
    again = fleet.step({})
    assert again.failure_reason == "collision" and again.metrics["steps"] == 1


def test_default_step_limits_follow_the_paper() -> None:
    assert GridFleet(BoxNet1(2, 2)).step_limit == 30
    assert GridFleet(BoxNet1(4, 4)).step_limit == 30
    assert GridFleet(BoxNet1(4, 8)).step_limit == 40
    assert GridFleet(BoxNet2(4, 8)).step_limit == 40
    assert GridFleet(Warehouse(4)).step_limit == 30
    assert GridFleet(Warehouse(8)).step_limit == 40
    assert GridFleet(BoxLift(6, 14)).step_limit == 20
    assert GridFleet(BoxLift(8, 18)).step_limit == 25
    assert GridFleet(BoxLift(4, 10), step_limit=7).step_limit == 7
    with pytest.raises(ValueError):
        GridFleet(BoxLift(4, 10), step_limit=0)


def test_lifecycle_errors() -> None:
    fleet = GridFleet(BoxLift(4, 10))
    with pytest.raises(NotResetError):
        fleet.step({})
    fleet.reset(0)
    with pytest.raises(UnknownRobotError) as info:
        fleet.step({RobotId("robot_4"): Lift(0)})
    assert "robot_4" in str(info.value)
    fleet.close()
    with pytest.raises(FleetClosedError):
        fleet.step({})
    with pytest.raises(FleetClosedError):
        fleet.reset(0)
