"""LLMPlanner: runs one framework's graph per step over an injected chat client."""

from __future__ import annotations

import dataclasses
import itertools
import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from fleetmind.planners.llm import hints, prompts
from fleetmind.planners.llm.checks import effect, founded
from fleetmind.planners.llm.client import ChatClient, Message
from fleetmind.planners.llm.config import LLMSettings
from fleetmind.planners.llm.frameworks import build_graph, run_config
from fleetmind.planners.llm.replies import ReplyError, check_safe, extract_json, validate_plan
from fleetmind.planners.llm.schemas import (
    CHECK_SCHEMA,
    Excluded,
    acting_robots,
    doomed_texts,
    joint_plan_schema,
    turn_schema,
)
from fleetmind.planners.llm.session import Session
from fleetmind.robots.commands import Command
from fleetmind.robots.errors import BadInputError
from fleetmind.robots.fleet import Observation, StepResult
from fleetmind.robots.ids import RobotId
from fleetmind.robots.planner import Planner
from fleetmind.tasks import get_task

log = logging.getLogger(__name__)
_uids = itertools.count()
FAILURE_EVENTS = frozenset({"too_heavy", "conflict", "collision"})


def advisor(task: str, observation: Observation, seed: int) -> Planner | None:
    """The task's oracle planner, reset for this episode, to rank the hints; ``None`` where the task has none."""
    try:
        oracle = get_task(task).make_oracle()
        oracle.reset(observation, seed)
    except BadInputError:
        return None
    return oracle


class LLMPlanner(Planner):
    """One of CMAS, DMAS, HMAS-1, HMAS-2 on any :class:`ChatClient` (built lazily by ``client_factory``)."""

    def __init__(
        self, framework: str, task: str, settings: LLMSettings, client_factory: Callable[[], ChatClient]
    ) -> None:
        self.name = framework
        self.framework = framework
        self.task = task
        self.settings = settings
        self.dialogue_rounds = settings.dialogue_rounds
        self.feedback_rounds = settings.feedback_rounds
        self._client_factory = client_factory
        self._client: ChatClient | None = None
        self._graph = build_graph(framework, self)
        self._uid = f"fleetmind-{next(_uids)}-{int(time.time() * 1000) % 10**8}"
        self.session: Session | None = None
        self.transcript: list[str] = []  # human-readable dialogue of the episode (for the demo)
        self._previous: dict[RobotId, Command] | None = None
        self._previous_world: Mapping[str, Any] | None = None
        self._feedback: list[str] = []
        self._overhead_s = 0.0
        self._rounds = 0
        self._loop_flags_at_step_start = 0
        self._counts: dict[str, int] = {}
        self._count_lock = threading.Lock()
        self._last_central: dict[RobotId, Command] | None = None
        self.plan_changes: list[tuple[int, list[str]]] = []  # HMAS-2: (step, the objections that changed the plan)
        self._advisor: Planner | None = None
        self._advised: tuple[int, dict[RobotId, Command] | None] | None = None

    # ---------------------------------------------------------------- episode hooks
    def reset(self, observation: Observation, seed: int) -> None:
        if self._client is None:
            self._client = self._client_factory()
        self.session = Session(self._client, self.settings, user=f"{self._uid}:{seed}", seed=seed)
        self.transcript = []
        self._previous = self._previous_world = None
        self._previous_lines: list[str] | None = None  # the state text of the step the history entered last
        self._feedback = []
        self._overhead_s = 0.0
        self._rounds = 0
        self._counts = {}
        self._last_central = None
        self.plan_changes = []
        self._advisor = advisor(self.task, observation, seed) if self.settings.hints_on else None
        self._advised: tuple[int, dict[RobotId, Command] | None] | None = None

    def plan(self, observation: Observation) -> dict[RobotId, Command]:
        assert self.session is not None, "reset() first"
        self.begin_step(observation)
        start = time.perf_counter()
        llm_before = self.session.busy_s
        state = self._graph.invoke({"observation": observation}, run_config(len(observation.robots)))
        plan: dict[RobotId, Command] = state.get("plan", {})
        self.end_step(observation, plan, state.get("dialogue", []))
        elapsed = time.perf_counter() - start
        self._overhead_s += elapsed - (self.session.busy_s - llm_before)  # parallel calls count once
        self._rounds += 1
        return plan

    def begin_step(self, observation: Observation) -> None:
        """Before a step's role calls: what :meth:`plan` does first (the ROS edge calls it before the roles it
        plays, when a graph runs across nodes)."""
        assert self.session is not None, "reset() first"
        self.session.start_step(observation.step)
        self._loop_flags_at_step_start = self.session.loop_flags

    def end_step(self, observation: Observation, plan: dict[RobotId, Command], dialogue: list[str]) -> None:
        """After a step's graph: the plan that runs goes into the history and the loop guard's memory."""
        if self.session is not None:
            self._remember(observation, plan, dialogue)
        if dialogue:
            self._count(
                dialogue_steps=1, dialogue_turns=len(dialogue), execute_first_turn=int(prompts.executes(dialogue[0]))
            )

    def observe_result(self, result: StepResult) -> None:
        self._feedback = [f"{e.robot}: {e.detail or e.kind}" for e in result.events if e.kind in FAILURE_EVENTS]
        if self._feedback and self.session is not None and self.session.history.entries:
            self.session.history.entries[-1] += " | feedback: " + "; ".join(self._feedback)

    def metrics(self) -> dict[str, Any]:
        out: dict[str, Any] = self.session.metrics() if self.session else {}
        out.update(
            framework=self.framework,
            llm_backend=self.settings.backend,
            hints="on" if self.settings.hints_on else "off",
            history=self.settings.history,
            overhead_ms_per_round=round(1000 * self._overhead_s / self._rounds, 3) if self._rounds else 0.0,
        )
        out.update(self.dialogue_metrics())
        return out

    def dialogue_metrics(self) -> dict[str, Any]:
        """HMAS-2: checks, agreements (and their rate), objections without a reason taken as agreement, revisions,
        revisions that changed the plan. DMAS / HMAS-1: steps with a dialogue, turns (per step), and how many of
        them ended with EXECUTE on the first turn (and the rate)."""
        c = self._counts
        if self.framework == "hmas2":
            checks = c.get("hmas2_checks", 0)
            keys = ("hmas2_checks", "hmas2_agreements", "hmas2_unfounded", "hmas2_revisions", "hmas2_plan_changes")
            out: dict[str, Any] = {k: c.get(k, 0) for k in keys}
            out["hmas2_agreement_rate"] = round(c.get("hmas2_agreements", 0) / checks, 4) if checks else None
            return out
        if self.framework in ("dmas", "hmas1"):
            steps = c.get("dialogue_steps", 0)
            out = {k: c.get(k, 0) for k in ("dialogue_steps", "dialogue_turns", "execute_first_turn")}
            out["dialogue_turns_per_step"] = round(c.get("dialogue_turns", 0) / steps, 4) if steps else None
            out["execute_first_turn_rate"] = round(c.get("execute_first_turn", 0) / steps, 4) if steps else None
            return out
        return {}

    def _count(self, **by: int) -> None:
        with self._count_lock:  # HMAS-2's checks run in parallel threads
            for k, n in by.items():
                self._counts[k] = self._counts.get(k, 0) + n

    def record_check(self, robot: RobotId, objection: str | None, unfounded: bool = False) -> str | None:
        """Count one check's answer and put it in the transcript; the objection as the planner reads it."""
        self._count(hmas2_checks=1, hmas2_agreements=int(objection is None), hmas2_unfounded=int(unfounded))
        self.transcript.append(f"{robot}: " + ("agree" if objection is None else f"objects: {objection}"))
        return f"{robot}: {objection}" if objection else None

    def explain(self) -> list[str]:
        lines, self.transcript = self.transcript, []
        return lines

    def call_log(self) -> list[dict[str, Any]]:
        return [dataclasses.asdict(c) for c in self.session.calls] if self.session else []

    # ---------------------------------------------------------------- prompt pieces
    def _header(self, observation: Observation) -> str:
        assert self.session is not None
        text = prompts.step_header(observation, observation.world.get("step_limit"), self.session.history.render())
        if self._feedback:
            text += "\nFeedback from the last step:\n" + "\n".join(f"- {f}" for f in self._feedback)
        return text

    def _actions(self, observation: Observation, robots: list[RobotId], excluded: Excluded | None = None) -> str:
        head = "Actions (best first, effect in brackets):" if self.settings.hints_on else "Actions:"
        body = prompts.actions_block(
            observation,
            robots,
            self.settings.hints_on,
            self._previous,
            self._previous_world,
            excluded,
            self._advice(observation) if self.settings.hints_on else None,
        )
        return f"{head}\n{body}"

    def _advice(self, observation: Observation) -> dict[RobotId, Command] | None:
        """The task oracle's plan for this step (asked once per step), which the hints rank first; ``None`` where
        the task has no oracle or it failed (the hints then rank by the task's notes alone)."""
        if self._advisor is None:
            return None
        if self._advised is None or self._advised[0] != observation.step:
            try:
                plan: dict[RobotId, Command] | None = self._advisor.plan(observation)
            except Exception as exc:  # noqa: BLE001 - advice is optional: a failing oracle must not end the episode
                log.warning("step %d: the hint oracle failed (%s); ranking by notes only", observation.step + 1, exc)
                plan = None
            self._advised = (observation.step, plan)
        return self._advised[1]

    def _tail(self, observation: Observation) -> str:
        return "\n" + prompts.state_block(observation) if self.settings.backend.startswith("oracle") else ""

    def _checked(self, observation: Observation, raw: Any, excluded: dict[RobotId, set[str]]) -> dict[RobotId, Command]:
        """Validate a raw joint plan, then the shield and (once per step) the loop guard. A plan the shield rejects
        adds the actions it blames to ``excluded``: the question's next prompt and schema leave them out."""
        assert self.session is not None
        plan = validate_plan(observation, raw, excluded)
        guard = self.settings.loop_guard and self.session.loop_flags == self._loop_flags_at_step_start
        if guard and not plan and self._previous == {} and self._previous_world is not None:
            mover = self._stall_mover(observation, excluded)
            if mover is not None:  # every robot waited last step and would again: one retry must move someone
                excluded.setdefault(mover, set()).add("wait")
                raise ReplyError("stall", [f"every robot waited last step too; {mover} must act this step"])
        try:
            check_safe(observation, plan, self._previous, self._previous_world, guard)
        except ReplyError as err:
            for rid, gone in err.removed.items():
                excluded.setdefault(rid, set()).update(gone)
            raise
        return plan

    def _stall_mover(self, observation: Observation, excluded: Excluded) -> RobotId | None:
        """The robot a stalled team's retry takes ``wait`` from: the first robot with a move in the joint plan the
        task's rules rank first (the oracle's advice where the task has one), whether or not hints are shown; None
        when the rules too would have every robot wait (issue 18: the 0.5B model copied "all wait" from its history
        for 28 steps of boxnet2_2x2, seed 4, while the hints ranked a delivery first)."""
        advice = self._advice(observation)
        top = hints.top_plan(hints.rank_joint(observation, self._previous, self._previous_world, excluded, advice))
        return next(iter(top), None)

    def _extract_plan(
        self, observation: Observation, excluded: dict[RobotId, set[str]]
    ) -> Callable[[str], dict[RobotId, Command]]:
        return lambda text: self._checked(observation, extract_json(text), excluded)

    # ---------------------------------------------------------------- roles (called by the graph)
    def speakers(self, observation: Observation, plan: dict[RobotId, Command] | None) -> list[RobotId]:
        robots = acting_robots(observation)
        return robots if plan is None else [r for r in robots if r in plan]

    def central(self, observation: Observation, objections: list[str]) -> dict[RobotId, Command]:
        assert self.session is not None
        robots = acting_robots(observation)
        if not robots:
            return {}
        excluded = doomed_texts(observation)  # grows with each shield rejection of this question

        def build() -> list[Message]:
            user = f"{self._header(observation)}\n{self._actions(observation, robots, excluded)}"
            if objections:
                user += "\nThe robots object to your last plan:\n" + "\n".join(f"- {o}" for o in objections)
                user += "\nRevise the plan."
            return [
                {"role": "system", "content": prompts.central_system(self.task)},
                {"role": "user", "content": user + self._tail(observation)},
            ]

        plan = self.session.ask(
            "central",
            None,
            build,
            lambda: joint_plan_schema(observation, None, excluded),
            self._extract_plan(observation, excluded),
        )
        self.transcript.append(f"planner: {prompts.plan_text(plan)}" + (" (revised)" if objections else ""))
        if objections:
            changed = plan != self._last_central
            self._count(hmas2_revisions=1, hmas2_plan_changes=int(changed))
            if changed:
                self.plan_changes.append((observation.step, list(objections)))
                log.debug("step %d: objections changed the plan: %s", observation.step + 1, "; ".join(objections))
        self._last_central = dict(plan)
        return plan

    def turn(
        self,
        observation: Observation,
        robot: RobotId,
        speakers: list[RobotId],
        dialogue: list[str],
        proposal: dict[RobotId, Command],
    ) -> tuple[dict[RobotId, Command], bool, str]:
        assert self.session is not None
        excluded = doomed_texts(observation)

        def build() -> list[Message]:
            own = observation.robots[robot].text
            user = f"{self._header(observation)}\nYou: {own}\n{self._actions(observation, speakers, excluded)}"
            if proposal:
                user += f"\nCurrent proposal: {prompts.plan_text(proposal)}"
            user += "\nDialogue so far:\n" + ("\n".join(dialogue) if dialogue else "(you speak first)")
            return [
                {"role": "system", "content": prompts.turn_system(self.task, robot)},
                {"role": "user", "content": user + self._tail(observation)},
            ]

        def extract(text: str) -> tuple[dict[RobotId, Command], bool]:
            data = extract_json(text)
            if not isinstance(data, dict) or not {"action", "decision", "plan"} <= set(data):
                raise ReplyError(
                    "syntax", ['reply with {"action": ..., "decision": "PROCEED"|"EXECUTE", "plan": {...}}']
                )
            decision = str(data["decision"]).strip().upper()
            if decision not in ("PROCEED", "EXECUTE"):
                raise ReplyError("syntax", [f"decision must be PROCEED or EXECUTE, got {data['decision']!r}"])
            raw_plan = dict(data["plan"]) if isinstance(data["plan"], dict) else data["plan"]
            if isinstance(raw_plan, dict):
                raw_plan[robot] = data["action"]  # a robot speaks for itself
            return self._checked(observation, raw_plan, excluded), decision == "EXECUTE"

        schema = lambda: turn_schema(observation, robot, speakers, excluded)  # noqa: E731 - asked before each attempt
        plan, execute = self.session.ask("turn", robot, build, schema, extract)
        line = prompts.turn_line(robot, plan, execute)
        self.transcript.append(line)
        return plan, execute, line

    def check(self, observation: Observation, robot: RobotId, plan: dict[RobotId, Command]) -> str | None:
        """``robot``'s check of ``plan``: it sees its own view and the plan's effect on it (:mod:`.checks`); an
        objection that names nothing of that effect counts as agreement."""
        assert self.session is not None
        seen = effect(observation, robot, plan, self._previous, self._previous_world)

        def build() -> list[Message]:
            limit = observation.world.get("step_limit")
            choices = self._actions(observation, [robot], doomed_texts(observation))
            user = (
                f"Step {observation.step + 1}{f'/{limit}' if limit else ''}.\nYou: {observation.robots[robot].text}\n"
                f"Proposed plan: {prompts.plan_text(plan)}\n{seen.text()}\n{choices}"
            )
            return [
                {"role": "system", "content": prompts.check_system(self.task, robot)},
                {"role": "user", "content": user + self._tail(observation)},
            ]

        def extract(text: str) -> tuple[bool, str | None]:
            data = extract_json(text)
            if not isinstance(data, dict) or not isinstance(data.get("agree"), bool):
                raise ReplyError("syntax", ['reply with {"agree": true, "objection": null} or {"agree": false, ...}'])
            said = data.get("objection")
            return data["agree"], (str(said)[:300] if said is not None else None)

        agree, said = self.session.ask("check", robot, build, CHECK_SCHEMA, extract)
        objection = founded(seen, agree, said)
        unfounded = not agree and objection is None
        if unfounded:
            log.debug(
                "step %d: %s's objection %r names nothing of its part; taken as agreement",
                observation.step + 1,
                robot,
                said,
            )
        return self.record_check(robot, objection, unfounded)

    # ---------------------------------------------------------------- history
    def _remember(self, observation: Observation, plan: dict[RobotId, Command], dialogue: list[str]) -> None:
        assert self.session is not None
        lines = observation.text.splitlines()
        if self._previous_lines is not None and self.session.history.entries:
            self.session.history.entries[-1] += " -> " + prompts.state_change(self._previous_lines, lines)
        self._previous_lines = lines
        entry = f"step {observation.step + 1}: {prompts.plan_brief(plan)}"
        if self.settings.history == "dialogue" and dialogue:
            entry += " | dialogue: " + " / ".join(dialogue)
        self.session.history.add(entry)
        if self.settings.history == "compressed":
            self._summarise(entry)
        self._previous, self._previous_world = plan, observation.world

    def _summarise(self, entry: str) -> None:
        assert self.session is not None
        previous = self.session.history.summary or "(nothing yet)"

        def build() -> list[Message]:
            return [
                {"role": "system", "content": prompts.SUMMARY_SYSTEM},
                {"role": "user", "content": f"Summary so far: {previous}\nLatest step: {entry}"},
            ]

        self.session.history.summary = self.session.call("summary", None, build, [], None).strip()[:1200]
