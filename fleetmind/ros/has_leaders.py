"""HAS leaders in their robots' agent nodes (``has_llm_leaders`` over ``fleetmind up``): the pure edge, no rclpy.

The manager stays in the planner node; each group's leader thinks in its robot's ``fleetmind_agent``. The planner
node's :class:`~fleetmind.planners.has.leaders.RemoteLeaders` turns a leader's model call into one ``deploy``
document on ``/fleet/dialogue`` and a bounded wait for the ``assign`` answer; the leader robot's agent renders the
same prompt as the in-process leader (:func:`~fleetmind.planners.has.leaders.ask_leader`) with its own client and
answers. The answer is checked again in the planner node (``leaders.check_reply``), so no agent deploys a robot
outside its group, and the heuristic deploys the group on a timeout, a failed model or a refused answer.
"""

from __future__ import annotations

from typing import Any

from fleetmind.planners.has._ask import CallStats
from fleetmind.planners.has.leaders import LeaderAnswer, LeaderAsk, RemoteLeaders, ask_leader
from fleetmind.planners.has.planner import HasPlanner
from fleetmind.planners.llm.ros_dialogue import AssignDoc, DeployDoc
from fleetmind.robots.planner import Planner


def deploy_doc(episode: int, request: int, a: LeaderAsk) -> DeployDoc:
    """The ``deploy`` document of request number ``request``: it goes to the agent of ``a.leader``."""
    return DeployDoc(
        episode=episode,
        step=a.step,
        request=request,
        robot=a.leader,
        group=a.group,
        goal=a.goal,
        region=list(a.region),
        shape=list(a.shape),
        known=min(1.0, max(0.0, a.known)),
        members={m: list(cell) for m, cell in a.members.items()},
        candidates=dict(a.candidates),
        suggestion=dict(a.suggestion),
    )


def ask_of(doc: DeployDoc) -> LeaderAsk:
    """The leader's question as the agent sees it (the same fields the planner's leader rendered)."""
    members = {m: (int(c[0]), int(c[1])) for m, c in doc.members.items() if len(c) == 2}
    region = (doc.region[0], doc.region[1], doc.region[2], doc.region[3])
    shape = (doc.shape[0], doc.shape[1])
    return LeaderAsk(
        doc.step, doc.group, doc.robot, doc.goal, region, shape, doc.known, members, doc.candidates, doc.suggestion
    )


def answer_deploy(client: Any, doc: DeployDoc, retries: int = 2, key: str = "has") -> AssignDoc:
    """The agent's job: ask its model as the group's leader (checked, re-prompted) and answer the request;
    ``assignments`` is null when the model failed or every reply was refused."""
    stats = CallStats()
    picked = ask_leader(client, ask_of(doc), stats, f"{key}-{doc.group}-{doc.step}-agent", retries)
    return AssignDoc(
        episode=doc.episode,
        step=doc.step,
        request=doc.request,
        robot=doc.robot,
        group=doc.group,
        assignments=picked,
        calls=len(stats.calls),
        prompt_tokens=sum(int(c["prompt_tokens"] or 0) for c in stats.calls),
        completion_tokens=sum(int(c["completion_tokens"] or 0) for c in stats.calls),
    )


def answer_of(doc: AssignDoc) -> LeaderAnswer:
    return LeaderAnswer(doc.assignments, doc.calls, doc.prompt_tokens, doc.completion_tokens)


def remote_leaders(planner: Planner, publish: Any, live: Any, timeout_s: float) -> RemoteLeaders | None:
    """Make ``planner``'s LLM leaders remote (a :class:`HasPlanner` with ``leader: llm``); ``None`` otherwise.
    ``publish(request, ask)`` sends the ``deploy`` document; ``live()`` names the robots on the roster."""
    if not isinstance(planner, HasPlanner) or planner.leader_kind != "llm":
        return None
    remote = RemoteLeaders(publish, live, timeout_s)
    planner.remote_leaders = remote
    return remote
