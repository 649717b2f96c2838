"""The four frameworks of Chen et al. (ICRA 2024) as langgraph ``StateGraph`` s, one per environment step.

- CMAS: one central planner call returns the joint plan.
- DMAS: no planner; robots speak in a fixed order; each turn ends with PROCEED or EXECUTE plus a joint
  plan; the first EXECUTE ends the dialogue at once; after ``dialogue_rounds`` full rounds without it
  the step is a no-op.
- HMAS-1: the central plan opens a DMAS dialogue among the robots in it; the first EXECUTE ends it.
  Without one after ``dialogue_rounds`` rounds, the latest valid proposal runs (the central plan is
  already a checked plan; a no-op would throw it away).
- HMAS-2: the central plan goes to each robot in it; each agrees or objects; objections go back to the
  planner, which revises, for up to ``feedback_rounds`` rounds; then the latest plan runs.

Nodes only call the :class:`Roles` methods; the graph is just the control flow.
"""

from __future__ import annotations

from typing import Any, Protocol, TypedDict

from fleetmind.robots.commands import Command
from fleetmind.robots.fleet import Observation
from fleetmind.robots.ids import RobotId
from langgraph.graph import END, START, StateGraph

FRAMEWORKS = ("cmas", "dmas", "hmas1", "hmas2")


class StepState(TypedDict, total=False):
    observation: Observation
    plan: dict[RobotId, Command]
    speakers: list[RobotId]
    dialogue: list[str]
    turn: int
    executed: bool
    objections: list[str]
    revisions: int


class Roles(Protocol):
    """What the graphs need from the planner: one method per LLM role."""

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


def build_graph(framework: str, roles: Roles) -> Any:
    """Compile the step graph of ``framework`` (one of :data:`FRAMEWORKS`)."""
    if framework not in FRAMEWORKS:
        raise ValueError(f"unknown framework {framework!r}; choose one of {', '.join(FRAMEWORKS)}")
    g = StateGraph(StepState)

    def central(state: StepState) -> StepState:
        obs = state["observation"]
        plan = roles.central(obs, state.get("objections", []))
        out: StepState = {"plan": plan, "revisions": state.get("revisions", -1) + 1, "objections": []}
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

    def check(state: StepState) -> StepState:
        obs, plan = state["observation"], state["plan"]
        objections = [o for r in roles.speakers(obs, plan) if (o := roles.check(obs, r, plan))]
        return {"objections": objections}

    def after_check(state: StepState) -> str:
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
    else:  # hmas2
        g.add_node("central", central)
        g.add_node("check", check)
        g.add_edge(START, "central")
        # a revision made in the last feedback round runs without another check round
        g.add_conditional_edges(
            "central",
            lambda s: "done" if 0 < roles.feedback_rounds <= s["revisions"] else "check",
            {"done": END, "check": "check"},
        )
        g.add_conditional_edges("check", after_check, {"done": END, "revise": "central"})
    return g.compile()
