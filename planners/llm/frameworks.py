"""The four frameworks of Chen et al. (ICRA 2024) as langgraph ``StateGraph`` s, one per environment step.

- CMAS: one central planner call returns the joint plan.
- DMAS: no planner; robots speak in a fixed order; each turn ends with PROCEED or EXECUTE plus a joint
  plan; the first EXECUTE ends the dialogue at once; after ``dialogue_rounds`` full rounds without it
  the step is a no-op.
- HMAS-1: the central plan opens a DMAS dialogue among the robots in it; the first EXECUTE ends it.
  Without one after ``dialogue_rounds`` rounds, the latest valid proposal runs (the central plan is
  already a checked plan; a no-op would throw it away).
- HMAS-2: the central plan goes to each robot in it; each agrees or objects; objections go back to the
  planner, which revises, for up to ``feedback_rounds`` rounds; then the latest plan runs. The robots'
  checks are independent: they fan out (one ``Send`` per robot) and run in parallel, and ``review`` joins
  them, objections in the robots' order.

Nodes only call the :class:`Roles` methods; the graph is just the control flow. The ROS agents run these
same graphs with the other robots' turns (or checks) as remote roles (``planners/llm/remote.py``).
"""

from __future__ import annotations

from typing import Annotated, Any, Protocol, TypedDict

from fleetmind.robots.commands import Command
from fleetmind.robots.fleet import Observation
from fleetmind.robots.ids import RobotId
from langgraph.graph import END, START, StateGraph
from langgraph.types import Overwrite, Send

FRAMEWORKS = ("cmas", "dmas", "hmas1", "hmas2")


def _gather(current: list[str], new: list[str]) -> list[str]:
    """Reducer of ``objections``: each check branch adds its own (a new plan overwrites them with ``[]``)."""
    return [*current, *new]


class StepState(TypedDict, total=False):
    observation: Observation
    plan: dict[RobotId, Command]
    speakers: list[RobotId]
    dialogue: list[str]
    turn: int
    executed: bool
    objections: Annotated[list[str], _gather]
    revisions: int


class CheckTask(TypedDict):
    """What one HMAS-2 check branch gets (a ``Send`` payload)."""

    observation: Observation
    robot: RobotId
    plan: dict[RobotId, Command]


class Roles(Protocol):
    """What the graphs need from the planner: one method per LLM role. ``check`` may be called from several
    threads at once (HMAS-2's fan-out)."""

    dialogue_rounds: int
    feedback_rounds: int

    def central(self, observation: Observation, objections: list[str]) -> dict[RobotId, Command]: ...

    def turn(
        self,
        observation: Observation,
        robot: RobotId,
        speakers: list[RobotId],
        dialogue: list[str],
        proposal: dict[RobotId, Command],
    ) -> tuple[dict[RobotId, Command], bool, str]: ...

    def check(self, observation: Observation, robot: RobotId, plan: dict[RobotId, Command]) -> str | None: ...

    def speakers(self, observation: Observation, plan: dict[RobotId, Command] | None) -> list[RobotId]: ...


def run_config(robots: int) -> dict[str, Any]:
    """``invoke`` settings for one step with ``robots`` robots: every check branch at once (langgraph's own
    default is a pool of cpu + 4 threads, which would queue a big fleet's checks)."""
    return {"max_concurrency": max(1, robots)}


def build_graph(framework: str, roles: Roles) -> Any:
    """Compile the step graph of ``framework`` (one of :data:`FRAMEWORKS`)."""
    if framework not in FRAMEWORKS:
        raise ValueError(f"unknown framework {framework!r}; choose one of {', '.join(FRAMEWORKS)}")
    g = StateGraph(StepState)

    def central(state: StepState) -> dict[str, Any]:
        obs = state["observation"]
        plan = roles.central(obs, state.get("objections", []))
        out: dict[str, Any] = {"plan": plan, "revisions": state.get("revisions", -1) + 1, "objections": Overwrite([])}
        if framework == "hmas1":
            out.update(speakers=roles.speakers(obs, plan), dialogue=[], turn=0, executed=False)
        return out

    def open_dialogue(state: StepState) -> StepState:
        obs = state["observation"]
        return {"plan": {}, "speakers": roles.speakers(obs, None), "dialogue": [], "turn": 0, "executed": False}

    def turn(state: StepState) -> StepState:
        speakers = state["speakers"]
        robot = speakers[state["turn"] % len(speakers)]
        plan, execute, line = roles.turn(state["observation"], robot, speakers, state["dialogue"], state["plan"])
        return {"plan": plan, "executed": execute, "dialogue": [*state["dialogue"], line], "turn": state["turn"] + 1}

    def after_turn(state: StepState) -> str:
        if state["executed"]:
            return "done"
        if not state["speakers"] or state["turn"] >= roles.dialogue_rounds * len(state["speakers"]):
            return "no_consensus"
        return "turn"

    def no_consensus(state: StepState) -> StepState:
        return {"plan": {}} if framework == "dmas" else {}

    def fan_out(state: StepState) -> list[Send] | str:
        # a revision made in the last feedback round runs without another check round
        if 0 < roles.feedback_rounds <= state["revisions"]:
            return END
        obs, plan = state["observation"], state["plan"]
        checks = [Send("check", CheckTask(observation=obs, robot=r, plan=plan)) for r in roles.speakers(obs, plan)]
        return checks or END

    def check(task: CheckTask) -> StepState:
        objection = roles.check(task["observation"], task["robot"], task["plan"])
        return {"objections": [objection] if objection else []}

    def review(state: StepState) -> StepState:
        return {}

    def after_review(state: StepState) -> str:
        if not state["objections"] or state["revisions"] >= roles.feedback_rounds:
            return "done"
        return "revise"

    if framework == "cmas":
        g.add_node("central", central)
        g.add_edge(START, "central")
        g.add_edge("central", END)
    elif framework in ("dmas", "hmas1"):
        g.add_node("turn", turn)
        g.add_node("no_consensus", no_consensus)
        if framework == "dmas":
            g.add_node("open", open_dialogue)
            g.add_edge(START, "open")
            g.add_conditional_edges(
                "open", lambda s: "turn" if s["speakers"] else "done", {"turn": "turn", "done": END}
            )
        else:
            g.add_node("central", central)
            g.add_edge(START, "central")
            g.add_conditional_edges(
                "central", lambda s: "turn" if s["speakers"] else "done", {"turn": "turn", "done": END}
            )
        g.add_conditional_edges("turn", after_turn, {"turn": "turn", "done": END, "no_consensus": "no_consensus"})
        g.add_edge("no_consensus", END)
    else:  # hmas2: central -> one check per robot, in parallel -> review -> central again or done
        g.add_node("central", central)
        g.add_node("check", check, input_schema=CheckTask)
        g.add_node("review", review)
        g.add_edge(START, "central")
        g.add_conditional_edges("central", fan_out, ["check", END])
        g.add_edge("check", "review")
        g.add_conditional_edges("review", after_review, {"done": END, "revise": "central"})
    return g.compile()
