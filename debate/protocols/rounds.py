"""The round loop that simultaneous debate and Reflect-Critique-Refine share.

Read it top to bottom; this is the whole debate:

1. Every debater speaks at once (one node each, fanned out from START or from
   ``advance``). In round 0 it answers alone; later it reads the previous-round
   messages of its in-neighbours in the topology, plus its own.
2. ``end_round`` waits for all debaters, then checks the stop rule: consensus,
   or the last round reached.
3. With a judge steering (``stop="judge"``) or deciding the answer
   (``aggregate="judge"``), the judge reads the round's responses, quoted.
4. Either ``advance`` to the next round, or ``finalize`` the answer.

At ``Scenario.branch_at`` a debater that a peer disagreed with also answers
its turn told to accept and told to resist (``debate.protocols.branching``);
those branches are stored beside the transcript and change nothing here.

Subclasses only say how a later-round prompt reads (or, like ChatEval, who
speaks in which turn: ``turns``). ``round_steps`` hands the same steps to
``debate.cohort``, which runs them for many debates in one graph.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from langgraph.graph import END, START, StateGraph

from debate.agents.roles import Agent
from debate.graph import DebateRuntime, DebateState
from debate.messages import Message, MessageKind, Role
from debate.protocols.branching import branch_turn
from debate.protocols.common import (
    advance,
    final_answer,
    judge_round_node,
    judge_wants_more,
    round_messages,
    stop_reason_after_judge,
)
from debate.scenario import Scenario
from debate.topology import readers_of, sources_for
from debate.voting import consensus

ADVANCE, END_ROUND, JUDGE, FINALIZE = "advance", "end_round", "judge", "finalize"
SPEAK = "speak"
"""``RoundSteps.after_round``'s answer for "every debater speaks again" (in a graph: all debater nodes)."""

Node = Callable[[DebateState], Any]


@dataclass(frozen=True)
class RoundSteps:
    """One debate's round as plain functions of its state: what a debate's graph and a cohort both run.

    ``turns`` speak one after another; the speakers of a turn (node name -> node)
    answer at once, each reading the state as it was before their turn. Then
    ``end_round``; ``after_round`` says what comes next (``SPEAK``, ``JUDGE`` or
    ``FINALIZE``); after the ``judge``, ``after_judge`` says ``ADVANCE`` (then
    ``SPEAK``) or ``FINALIZE``.
    """

    turns: list[dict[str, Node]]
    end_round: Node
    after_round: Callable[[DebateState], str]
    judge: Node | None
    after_judge: Callable[[DebateState], str]
    finalize: Node


def debater_node_name(name: str) -> str:
    return f"debater {name}"


class RoundProtocol:
    """Debaters answer every round; the later-round prompt is the subclass's business."""

    name = "rounds"
    needs_judge = False
    branches_turns = True

    def validate(self, scenario: Scenario) -> None:
        return None

    def later_round_prompt(
        self, runtime: DebateRuntime, agent: Agent, state: DebateState, own: Message, peers: list[Message]
    ) -> str:
        raise NotImplementedError

    def turns(self, runtime: DebateRuntime) -> list[dict[str, Node]]:
        """Who speaks in a round, turn by turn: here every debater at once."""
        return [
            {
                debater_node_name(debater.name): self._debater_node(runtime, debater)
                for debater in runtime.scenario.debaters
            }
        ]

    def round_steps(self, runtime: DebateRuntime) -> RoundSteps | None:
        """This protocol's round as functions of one debate's state, or None if it builds its own graph.

        ``build`` wires these into a debate's graph; ``debate.cohort`` runs the
        same functions for many debates in one graph. A subclass that overrides
        ``build`` has a shape of its own, so it gets None (and no cohorts).
        """
        if type(self).build is not RoundProtocol.build:
            return None
        scenario = runtime.scenario
        uses_judge = scenario.judge is not None and (
            scenario.stop == "judge" or scenario.aggregation == "judge"
        )

        def after_round(state: DebateState) -> str:
            if uses_judge and (scenario.stop == "judge" or state.get("stop_reason")):
                return JUDGE
            return FINALIZE if state.get("stop_reason") else SPEAK

        return RoundSteps(
            turns=self.turns(runtime),
            end_round=self._end_round_node(runtime),
            after_round=after_round,
            judge=judge_round_node(runtime) if uses_judge else None,
            after_judge=lambda state: ADVANCE if judge_wants_more(state, runtime) else FINALIZE,
            finalize=self._finalize_node(runtime),
        )

    def build(self, graph: StateGraph, runtime: DebateRuntime) -> None:
        steps = self.round_steps(runtime)
        assert steps is not None
        for turn in steps.turns:
            for node, speak in turn.items():
                graph.add_node(node, speak)
        graph.add_node(END_ROUND, steps.end_round)
        first = list(steps.turns[0])
        for node in first:
            graph.add_edge(START, node)
            graph.add_edge(ADVANCE, node)
        for earlier, later in itertools.pairwise([*steps.turns, {END_ROUND: steps.end_round}]):
            # a turn (and end_round) starts once every speaker of the turn before has spoken; a lone
            # turn joins even one speaker, so each protocol's graph keeps the channels it always had
            joined = len(earlier) > 1 or len(steps.turns) == 1
            for node in later:
                graph.add_edge(list(earlier) if joined else next(iter(earlier)), node)
        graph.add_node(ADVANCE, advance)
        graph.add_node(FINALIZE, steps.finalize)
        graph.add_edge(FINALIZE, END)

        def after_round(state: DebateState) -> str | list[str]:
            step = steps.after_round(state)
            return first if step == SPEAK else step

        graph.add_conditional_edges(
            END_ROUND, after_round, [*first, FINALIZE, *([JUDGE] if steps.judge else [])]
        )
        if steps.judge is not None:
            graph.add_node(JUDGE, steps.judge)
            graph.add_conditional_edges(JUDGE, steps.after_judge, [ADVANCE, FINALIZE])

    # -- nodes ---------------------------------------------------------------------

    def _debater_node(self, runtime: DebateRuntime, agent: Agent):  # noqa: ANN202
        judge = runtime.scenario.judge
        readers = readers_of(runtime.topology, agent.name) + ([judge.name] if judge else [])

        async def speak(state: DebateState) -> dict[str, Any]:
            round_ = state.get("round", 0)
            if round_ == 0:
                prompt = runtime.prompt(agent, "debater.first_round", state)
                responds_to: list[str] = []
            else:
                previous = {
                    m.author: m for m in round_messages(state, round_ - 1, _ANSWERS) if m.role is Role.DEBATER
                }
                own = previous[agent.name]
                peers = [
                    previous[name] for name in sources_for(runtime.topology, agent.name) if name in previous
                ]
                prompt = self.later_round_prompt(runtime, agent, state, own, peers)
                responds_to = [own.id, *(peer.id for peer in peers)]
            kind = MessageKind.ARGUMENT if round_ == 0 else MessageKind.REFINEMENT
            speaking = runtime.speak(
                agent, state, kind=kind, user_prompt=prompt, responds_to=responds_to, visible_to=readers
            )
            if round_ == 0 or round_ != runtime.scenario.branch_at:
                return {"messages": [await speaking]}
            message, branches = await asyncio.gather(
                speaking, branch_turn(runtime, agent, state, kind=kind, prompt=prompt, own=own, peers=peers)
            )
            return {"messages": [message], "branches": branches}

        return speak

    def _end_round_node(self, runtime: DebateRuntime):  # noqa: ANN202
        scenario = runtime.scenario

        def end_round(state: DebateState) -> dict[str, Any]:
            round_ = state.get("round", 0)
            answers = [m for m in round_messages(state, round_, _ANSWERS) if m.role is Role.DEBATER]
            if scenario.stop == "consensus" and consensus(answers) is not None:
                return {"stop_reason": "consensus"}
            if round_ + 1 >= scenario.rounds:
                return {"stop_reason": "max_rounds"}
            if scenario.stop == "judge":
                return {"stop_reason": None}  # the judge reads this round, then ``advance`` moves on
            return {
                "stop_reason": None,
                "round": round_ + 1,
            }  # straight on: one LangGraph step fewer per round

        return end_round

    def _finalize_node(self, runtime: DebateRuntime):  # noqa: ANN202
        def finalize(state: DebateState) -> dict[str, Any]:
            last_round = [
                m for m in round_messages(state, state.get("round", 0), _ANSWERS) if m.role is Role.DEBATER
            ]
            return {
                "final_answer": final_answer(runtime, state, last_round),
                "stop_reason": stop_reason_after_judge(state, runtime),
            }

        return finalize


_ANSWERS = (MessageKind.ARGUMENT, MessageKind.REFINEMENT)
