"""Multi-Agent Debate (MAD; Liang et al. 2023, "Encouraging Divergent Thinking in Large Language Models through Multi-Agent Debate").

Two debaters take fixed stances: the *affirmative* (the first debater) answers
and argues; the *negative* (the second) must disagree with it and argue for a
different answer. Turns alternate, each side reading the debate so far. After
every round a moderator (the scenario's judge) reads that round and gives an
answer; with ``stop="judge"`` it may end the debate early (``Decision: STOP``)
once one side is clearly right. At the last round its answer is final.

Unlike debate and consultancy, nothing is assigned from the gold answer and no
evidence is hidden: MAD is about escaping the degeneration of thought a single
model falls into, not about oversight.
"""

from __future__ import annotations

from typing import Any

from langgraph.graph import END, START, StateGraph

from debate.agents.roles import Agent
from debate.graph import DebateRuntime, DebateState
from debate.messages import MessageKind, Role
from debate.protocols import register_protocol
from debate.protocols.common import (
    advance,
    final_answer,
    judge_round_node,
    judge_wants_more,
    round_messages,
    stop_reason_after_judge,
)
from debate.protocols.oversight import render_transcript, spoken
from debate.protocols.rounds import debater_node_name
from debate.scenario import Scenario

ADVANCE, END_ROUND, MODERATOR, FINALIZE = "advance", "end_round", "moderator", "finalize"


class MultiAgentDebate:
    name = "mad"
    needs_judge = True

    def validate(self, scenario: Scenario) -> None:
        names = [debater.name for debater in scenario.debaters]
        if len(names) != 2:
            raise ValueError(
                f"agents: protocol {self.name!r} needs exactly two debaters (affirmative, negative), got {names}"
            )
        others = [agent.name for agent in scenario.agents if agent.role is not Role.DEBATER]
        if others:
            raise ValueError(
                f"agents: protocol {self.name!r} uses two debaters and a moderator (the judge) only; remove {others}"
            )
        if scenario.stop == "consensus":
            raise ValueError(
                f"stop: protocol {self.name!r} stops when the moderator decides ('judge') or after all rounds ('fixed')"
            )
        if scenario.aggregation != "judge":
            raise ValueError(
                f"aggregate: protocol {self.name!r} takes the moderator's answer; set aggregate='judge' or stop='judge'"
            )

    def build(self, graph: StateGraph, runtime: DebateRuntime) -> None:
        affirmative, negative = runtime.scenario.debaters
        nodes = [debater_node_name(affirmative.name), debater_node_name(negative.name)]
        graph.add_node(nodes[0], self._debater_node(runtime, affirmative, "affirmative"))
        graph.add_node(nodes[1], self._debater_node(runtime, negative, "negative"))
        graph.add_node(END_ROUND, self._end_round_node(runtime))
        graph.add_node(MODERATOR, judge_round_node(runtime))
        graph.add_node(ADVANCE, advance)
        graph.add_node(FINALIZE, self._finalize_node(runtime))
        graph.add_edge(START, nodes[0])
        graph.add_edge(nodes[0], nodes[1])
        graph.add_edge(nodes[1], END_ROUND)
        graph.add_edge(END_ROUND, MODERATOR)
        graph.add_conditional_edges(
            MODERATOR,
            lambda state: ADVANCE if judge_wants_more(state, runtime) else FINALIZE,
            [ADVANCE, FINALIZE],
        )
        graph.add_edge(ADVANCE, nodes[0])
        graph.add_edge(FINALIZE, END)

    def turn_prompt(
        self, runtime: DebateRuntime, agent: Agent, side: str, state: DebateState, transcript: str
    ) -> str:
        """What ``side`` (``affirmative`` or ``negative``) is asked each turn; variants change only this."""
        return runtime.prompt(agent, f"debater.{side}", state, transcript=transcript)

    def _debater_node(self, runtime: DebateRuntime, agent: Agent, side: str):  # noqa: ANN202
        scenario = runtime.scenario
        readers = [debater.name for debater in scenario.debaters] + [scenario.judge.name]  # type: ignore[union-attr]

        async def argue(state: DebateState) -> dict[str, Any]:
            seen = spoken(state, MessageKind.ARGUMENT)
            message = await runtime.speak(
                agent,
                state,
                kind=MessageKind.ARGUMENT,
                user_prompt=self.turn_prompt(runtime, agent, side, state, render_transcript(seen, None)),
                responds_to=[m.id for m in seen],
                visible_to=readers,
            )
            return {"messages": [message]}

        return argue

    def _end_round_node(self, runtime: DebateRuntime):  # noqa: ANN202
        def end_round(state: DebateState) -> dict[str, Any]:
            # at the last round the moderator gives its final answer without being asked whether to go on
            return (
                {"stop_reason": "max_rounds"} if state.get("round", 0) + 1 >= runtime.scenario.rounds else {}
            )

        return end_round

    def _finalize_node(self, runtime: DebateRuntime):  # noqa: ANN202
        def finalize(state: DebateState) -> dict[str, Any]:
            last_round = round_messages(state, state.get("round", 0), (MessageKind.ARGUMENT,))
            return {
                "final_answer": final_answer(runtime, state, last_round),
                "stop_reason": stop_reason_after_judge(state, runtime),
            }

        return finalize


register_protocol(MultiAgentDebate())
