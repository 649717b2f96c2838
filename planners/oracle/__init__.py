"""Non-LLM oracle planners for the grid tasks: the floor LLM planners are compared to."""

from planners.base import PLANNERS, register_planner
from planners.oracle import boxlift, boxnet1, boxnet2, warehouse  # noqa: F401  (register)
from planners.oracle._registry import ORACLES, make_oracle

if "oracle" not in PLANNERS:
    register_planner("oracle", make_oracle)

__all__ = ["ORACLES", "make_oracle"]
