"""Grid worlds: the four tasks of "Scalable Multi-Robot Collaboration with LLMs" and the grid Fleet backend."""

from sim.grid._task import TASKS, GridTask, normalise_action
from sim.grid.boxlift import BoxLift
from sim.grid.boxnet1 import BoxNet1
from sim.grid.boxnet2 import BoxNet2
from sim.grid.fleet import GridFleet
from sim.grid.warehouse import Warehouse

__all__ = ["TASKS", "BoxLift", "BoxNet1", "BoxNet2", "GridFleet", "GridTask", "Warehouse", "normalise_action"]
