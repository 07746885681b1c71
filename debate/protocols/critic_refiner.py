"""Critic + refiner: draft, critique, rewrite, and a judge that accepts or asks for another round.

Round 0: the debaters draft answers; the draft taken forward is the first one
holding the majority answer. Each later round: the critic critiques the current
draft, the refiner rewrites it in the light of the critique, and the judge
reviews the rewrite (``Verdict: ACCEPT`` stops, ``Verdict: REVISE`` goes on).
With ``stop="fixed"`` every round runs whatever the judge says.
"""

from __future__ import annotations

from typing import Any

from langgraph.graph import END, START, StateGraph

from debate.agents.prompting import quote_untrusted
from debate.graph import DebateRuntime, DebateState
from debate.messages import Message, MessageKind, Role
from debate.protocols import register_protocol
from debate.protocols.common import (
    advance,
    final_answer,
    judge_wants_more,
    parse_decision,
    round_messages,
    stop_reason_after_judge,
)
from debate.protocols.rounds import debater_node_name
from debate.scenario import Scenario
from debate.voting import majority_vote

ADVANCE, CRITIC, REFINER, JUDGE, FINALIZE = "advance", "critic", "refiner", "judge", "finalize"


def current_draft(state: DebateState) -> Message:
    """The latest refinement, or else the first round-0 draft that holds the majority answer."""
    refinements = [m for m in state["messages"] if m.kind is MessageKind.REFINEMENT]
    if refinements:
        return refinements[-1]
    drafts = round_messages(state, 0, (MessageKind.ARGUMENT,))
    majority = majority_vote(drafts)
    return next((m for m in drafts if m.answer == majority and majority is not None), drafts[0])


class CriticRefiner:
    name = "critic_refiner"
    needs_judge = True

    def validate(self, scenario: Scenario) -> None:
        missing = [role.value for role in (Role.CRITIC, Role.REFINER) if scenario.agent(role) is None]
        if missing:
            raise ValueError(f"agents: protocol 'critic_refiner' needs a {' and a '.join(missing)}")
        if scenario.rounds < 2:
            raise ValueError("rounds: protocol 'critic_refiner' needs rounds >= 2 (round 0 drafts, then critique rounds)")
        if scenario.stop == "consensus":
            raise ValueError("stop: protocol 'critic_refiner' stops by the judge ('judge') or after all rounds ('fixed')")

    def build(self, graph: StateGraph, runtime: DebateRuntime) -> None:
        scenario = runtime.scenario
        critic, refiner, judge = scenario.agent(Role.CRITIC), scenario.agent(Role.REFINER), scenario.judge
        assert critic is not None and refiner is not None and judge is not None

        def drafter(agent):  # noqa: ANN001, ANN202
            async def draft(state: DebateState) -> dict[str, Any]:
                message = await runtime.speak(
                    agent,
                    state,
                    kind=MessageKind.ARGUMENT,
                    user_prompt=runtime.prompt(agent, "debater.first_round", state),
                    visible_to=[critic.name, refiner.name, judge.name],
                )
                return {"messages": [message]}

            return draft

        async def critique(state: DebateState) -> dict[str, Any]:
            draft = current_draft(state)
            message = await runtime.speak(
                critic,
                state,
                kind=MessageKind.CRITIQUE,
                user_prompt=runtime.prompt(critic, "critic.critique", state, draft=_quote(draft)),
                responds_to=[draft.id],
                visible_to=[refiner.name, judge.name],
                parse_answer=False,
            )
            return {"messages": [message]}

        async def refine(state: DebateState) -> dict[str, Any]:
            draft, critique_message = current_draft(state), state["messages"][-1]
            message = await runtime.speak(
                refiner,
                state,
                kind=MessageKind.REFINEMENT,
                user_prompt=runtime.prompt(
                    refiner, "refiner.refine", state, draft=_quote(draft), critique=_quote(critique_message)
                ),
                responds_to=[draft.id, critique_message.id],
                visible_to=[critic.name, judge.name],
            )
            return {"messages": [message]}

        async def review(state: DebateState) -> dict[str, Any]:
            refinement = current_draft(state)
            critique_message = next(m for m in reversed(state["messages"]) if m.kind is MessageKind.CRITIQUE)
            message = await runtime.speak(
                judge,
                state,
                kind=MessageKind.VERDICT,
                user_prompt=runtime.prompt(
                    judge, "judge.review", state, draft=_quote(refinement), critique=_quote(critique_message)
                ),
                responds_to=[refinement.id, critique_message.id],
                visible_to=[judge.name],
            )
            return {"messages": [message.model_copy(update={"decision": parse_decision(message.text)})]}

        def finalize(state: DebateState) -> dict[str, Any]:
            return {
                "final_answer": final_answer(runtime, state, [current_draft(state)]),
                "stop_reason": stop_reason_after_judge(state, runtime),
            }

        drafter_nodes = []
        for debater in scenario.debaters:
            node = debater_node_name(debater.name)
            graph.add_node(node, drafter(debater))
            graph.add_edge(START, node)
            drafter_nodes.append(node)
        graph.add_node(ADVANCE, advance)
        graph.add_edge(drafter_nodes, ADVANCE)
        graph.add_node(CRITIC, critique)
        graph.add_node(REFINER, refine)
        graph.add_node(JUDGE, review)
        graph.add_node(FINALIZE, finalize)
        graph.add_edge(ADVANCE, CRITIC)
        graph.add_edge(CRITIC, REFINER)
        graph.add_edge(REFINER, JUDGE)
        graph.add_conditional_edges(
            JUDGE, lambda state: ADVANCE if judge_wants_more(state, runtime) else FINALIZE, [ADVANCE, FINALIZE]
        )
        graph.add_edge(FINALIZE, END)


def _quote(message: Message) -> str:
    return quote_untrusted(message.text, agent=message.author)


register_protocol(CriticRefiner())
