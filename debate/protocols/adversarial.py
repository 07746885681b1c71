"""Debate (Irving et al. 2018; Khan et al. 2024): two debaters defend opposing answers before a judge who cannot read the evidence.

Read it top to bottom:

1. Each debater is assigned one of the two answers in dispute (the correct one
   and a distractor, order drawn per item: ``oversight.disputed_answers``).
2. For ``scenario.rounds`` rounds both argue, quoting the evidence in
   ``<quote>`` tags. Each reads the transcript so far with every quote checked
   (``<v_quote>`` / ``<u_quote>``) and every turn quoted as untrusted text.
3. The judge reads the question, the two answers and that transcript, never
   the evidence, and answers with a probability. Its answer is the result.

Two turn orders, two names, one prompt file (``agents/prompts/debate.toml``):

- ``debate``: simultaneous turns; in a round neither debater sees the other's
  argument of that round (Khan et al.'s default).
- ``debate_sequential``: the second debater reads the first's argument of the
  same round before it replies.

Self-play (both debaters the same model) and cross-play (different models) are
configuration (``Agent.backend`` / ``Agent.model``), not protocols.
"""

from __future__ import annotations

from typing import Any

from langgraph.graph import END, START, StateGraph

from debate.agents.roles import Agent
from debate.graph import DebateRuntime, DebateState
from debate.messages import MessageKind
from debate.protocols import register_protocol
from debate.protocols.oversight import (
    answer_options,
    answers_block,
    describe,
    disputed_answers,
    end_round,
    evidence_texts,
    judge_verdict,
    question_text,
    render_transcript,
    require_oversight_setup,
    spoken,
)
from debate.protocols.rounds import debater_node_name
from debate.scenario import Scenario

END_ROUND, JUDGE = "end_round", "judge"


class AdversarialDebate:
    needs_judge = True
    prompt_file = "debate"

    def __init__(self, name: str, *, sequential: bool) -> None:
        self.name = name
        self.sequential = sequential

    def validate(self, scenario: Scenario) -> None:
        require_oversight_setup(scenario, self.name, debaters=2)

    def build(self, graph: StateGraph, runtime: DebateRuntime) -> None:
        debaters = runtime.scenario.debaters
        nodes = [debater_node_name(debater.name) for debater in debaters]
        for side, debater in enumerate(debaters):
            graph.add_node(nodes[side], self._debater_node(runtime, debater, side))
        graph.add_node(END_ROUND, lambda state: end_round(state, runtime.scenario.rounds))
        graph.add_node(JUDGE, self._judge_node(runtime))
        if self.sequential:
            graph.add_edge(START, nodes[0])
            graph.add_edge(nodes[0], nodes[1])
            graph.add_edge(nodes[1], END_ROUND)
            next_round = nodes[:1]
        else:
            for node in nodes:
                graph.add_edge(START, node)
            graph.add_edge(nodes, END_ROUND)
            next_round = nodes
        graph.add_conditional_edges(
            END_ROUND, lambda state: JUDGE if state.get("stop_reason") else next_round, [*next_round, JUDGE]
        )
        graph.add_edge(JUDGE, END)

    def _debater_node(self, runtime: DebateRuntime, agent: Agent, side: int):  # noqa: ANN202
        scenario = runtime.scenario
        opponent = scenario.debaters[1 - side]
        readers = [debater.name for debater in scenario.debaters] + [scenario.judge.name]  # type: ignore[union-attr]

        async def argue(state: DebateState) -> dict[str, Any]:
            round_ = state.get("round", 0)
            answers, options = disputed_answers(state, runtime.parser), answer_options(state)
            seen = [m for m in spoken(state, MessageKind.ARGUMENT) if self.sequential or m.round < round_]
            prompt = runtime.prompt(
                agent,
                "debater.opening" if round_ == 0 else "debater.rebuttal",
                state,
                question_text=question_text(state),
                answers=answers_block(answers, options),
                position=describe(answers[side], options),
                opponent=opponent.name,
                opponent_position=describe(answers[1 - side], options),
                transcript=render_transcript(seen, evidence_texts(runtime, state)),
                round_number=round_ + 1,
            )
            message = await runtime.speak(
                agent,
                state,
                kind=MessageKind.ARGUMENT,
                user_prompt=prompt,
                responds_to=[m.id for m in seen],
                visible_to=readers,
                parse_answer=False,
            )
            # the side a debater defends is assigned, not parsed: it is what metrics score
            return {"messages": [message.model_copy(update={"answer": answers[side]})]}

        return argue

    def _judge_node(self, runtime: DebateRuntime):  # noqa: ANN202
        debaters = runtime.scenario.debaters

        async def judge(state: DebateState) -> dict[str, Any]:
            answers, options = disputed_answers(state, runtime.parser), answer_options(state)
            arguments = spoken(state, MessageKind.ARGUMENT)
            positions = "\n".join(
                f"{debater.name} defends {describe(answer, options)}"
                for debater, answer in zip(debaters, answers, strict=True)
            )
            return await judge_verdict(
                runtime,
                state,
                template="judge.verdict",
                allowed=answers,
                responds_to=[m.id for m in arguments],
                question_text=question_text(state),
                answers=answers_block(answers, options),
                positions=positions,
                transcript=render_transcript(arguments, evidence_texts(runtime, state)),
            )

        return judge


register_protocol(AdversarialDebate("debate", sequential=False))
register_protocol(AdversarialDebate("debate_sequential", sequential=True))
