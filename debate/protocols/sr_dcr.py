"""Self-Reflective Debate for Context Reliability (SR-DCR; Zhou et al. 2025, "When to Trust Context:
Self-Reflective Debates for Context Reliability").

A passage may be wrong (counterfactual, outdated, planted). SR-DCR asks whether to
trust it by setting the model's own knowledge against it:

- round 0: the **defender** (the one debater, who reads the passage) answers from the
  passage; the **critic** (who does not read it) answers from its own knowledge, and
  how sure it is of that answer is measured (``parametric_confidence``);
- rounds 1..``rounds - 1``: the critic challenges the passage-based answer, the
  defender replies from the passage (only when the two answers differ);
- the **judge** reads both sides, each quoted as untrusted text, and picks the answer
  it finds right: siding with the defender means the passage is reliable.

The final answer combines the verdict with the model's confidence
(``combine``):

1. ``agreed``: the two round-0 answers agree; no debate, no judge;
2. ``context_trusted``: the judge sides with the defender: the passage's answer;
3. ``parametric_confident``: the judge sides with the critic and the critic's
   confidence is at least ``confidence_threshold``: the critic's answer;
4. ``context_by_default``: the judge sides with the critic, but the critic is not
   sure enough (or has no measure): the passage's answer, since a context is
   trusted unless both the judge and the model's conviction speak against it;
5. ``no_verdict``: the judge's verdict cannot be read: as 3/4 without the judge.

The rule that fired is the debate's ``stop_reason``, so a run's summary counts them.
Who reads the passage is the scenario's ``context_visibility``: some field must be
shown to the debater and hidden from the critic (e.g. ``{"passage": ["debater"]}``).
A different threshold is a protocol of its own:
``register_protocol(SelfReflectiveDebate(name="sr_dcr_90", confidence_threshold=0.9))``.
"""

from __future__ import annotations

from typing import Any

from langgraph.graph import END, START, StateGraph
from pydantic import BaseModel, ConfigDict

from debate.graph import DebateRuntime, DebateState
from debate.messages import Message, MessageKind, Role
from debate.protocols import register_protocol
from debate.protocols.debunc import peer_confidence
from debate.protocols.oversight import (
    answer_options,
    describe,
    end_round,
    evidence_texts,
    judge_verdict,
    question_text,
    render_transcript,
    spoken,
)
from debate.scenario import Scenario

OPEN, CHALLENGE, DEFEND, VERDICT = "opening answers", "critic challenge", "defender reply", "judge verdict"


class Decision(BaseModel):
    """The final answer and the rule that chose it (see the module docstring)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    answer: str | None
    rule: str
    parametric_confidence: float | None = None


def parametric_confidence(message: Message) -> float | None:
    """How sure the critic is of its closed-book answer: DebUnc's best measure (answer-token probability,
    sample agreement, mean token probability, stated confidence), ``None`` without any."""
    measured = peer_confidence(message)
    return measured[1] if measured is not None else None


def combine(
    context_answer: str | None,
    parametric_answer: str | None,
    verdict: str | None,
    confidence: float | None,
    threshold: float,
) -> Decision:
    """SR-DCR's rule: trust the passage unless the judge sides against it *and* the model is sure of itself."""
    if context_answer is None or parametric_answer is None or context_answer == parametric_answer:
        return Decision(
            answer=context_answer or parametric_answer, rule="agreed", parametric_confidence=confidence
        )
    if verdict == context_answer:
        return Decision(answer=context_answer, rule="context_trusted", parametric_confidence=confidence)
    confident = confidence is not None and confidence >= threshold
    if verdict is None:
        answer = parametric_answer if confident else context_answer
        return Decision(answer=answer, rule="no_verdict", parametric_confidence=confidence)
    if confident:
        return Decision(
            answer=parametric_answer, rule="parametric_confident", parametric_confidence=confidence
        )
    return Decision(answer=context_answer, rule="context_by_default", parametric_confidence=confidence)


class SelfReflectiveDebate:
    needs_judge = True
    prompt_file = "sr_dcr"

    def __init__(self, name: str = "sr_dcr", confidence_threshold: float = 0.8) -> None:
        if not 0.0 <= confidence_threshold <= 1.0:
            raise ValueError(
                f"confidence_threshold: expected a probability in [0, 1], got {confidence_threshold}"
            )
        self.name = name
        self.confidence_threshold = confidence_threshold

    def validate(self, scenario: Scenario) -> None:
        debaters = [agent.name for agent in scenario.debaters]
        critics = [agent.name for agent in scenario.agents if agent.role is Role.CRITIC]
        if len(debaters) != 1 or len(critics) != 1:
            raise ValueError(
                f"agents: protocol {self.name!r} needs one Debater (the defender, who reads the passage) "
                f"and one Critic (who does not); got debaters {debaters}, critics {critics}"
            )
        others = [agent.name for agent in scenario.agents if agent.role not in (Role.DEBATER, Role.CRITIC)]
        if others:
            raise ValueError(
                f"agents: protocol {self.name!r} uses a defender, a critic and a judge; remove {others}"
            )
        hidden = [
            field
            for field, roles in scenario.context_visibility.items()
            if Role.DEBATER in roles and Role.CRITIC not in roles
        ]
        if not hidden:
            raise ValueError(
                f"context_visibility: protocol {self.name!r} needs a context field the defender sees and the "
                f"critic does not, e.g. {{'passage': ['debater']}}; got {scenario.context_visibility}"
            )
        if scenario.rounds < 2:
            raise ValueError(
                f"rounds: protocol {self.name!r} needs rounds >= 2 (round 0 answers, then the debate)"
            )
        if scenario.stop != "fixed":
            raise ValueError(
                f"stop: protocol {self.name!r} runs every round, then asks the judge; set stop='fixed'"
            )
        if scenario.aggregate not in (None, "judge"):
            raise ValueError(
                f"aggregate: protocol {self.name!r} combines the verdict with the model's confidence; "
                f"leave aggregate unset (got {scenario.aggregate!r})"
            )

    def build(self, graph: StateGraph, runtime: DebateRuntime) -> None:
        scenario = runtime.scenario
        defender = scenario.debaters[0]
        critic = scenario.agent(Role.CRITIC)
        judge = scenario.judge
        assert critic is not None and judge is not None
        everyone = [defender.name, critic.name, judge.name]

        def opening(state: DebateState, author: str) -> Message:
            return next(m for m in state["messages"] if m.round == 0 and m.author == author)

        def shown(state: DebateState) -> tuple[dict[str, Any], list[str]]:
            """What every later prompt shows (question, both answers, the exchange so far), and the ids read."""
            options = answer_options(state)
            exchange = spoken(state, MessageKind.ARGUMENT, MessageKind.CRITIQUE)
            values = {
                "question_text": question_text(state),
                "context_answer": describe(opening(state, defender.name).answer or "(none)", options),
                "parametric_answer": describe(opening(state, critic.name).answer or "(none)", options),
                "defender": defender.name,
                "critic": critic.name,
                "transcript": render_transcript(exchange, evidence_texts(runtime, state)),
            }
            return values, [m.id for m in exchange]

        async def open_(state: DebateState) -> dict[str, Any]:
            messages = [
                await runtime.speak(
                    agent,
                    state,
                    kind=kind,
                    user_prompt=runtime.prompt(agent, f"{agent.role.value}.first_round", state),
                    visible_to=everyone,
                )
                for agent, kind in ((defender, MessageKind.ARGUMENT), (critic, MessageKind.CRITIQUE))
            ]
            return {"messages": messages, "round": 1}

        async def challenge(state: DebateState) -> dict[str, Any]:
            values, responds_to = shown(state)
            message = await runtime.speak(
                critic,
                state,
                kind=MessageKind.CRITIQUE,
                user_prompt=runtime.prompt(critic, "critic.challenge", state, **values),
                responds_to=responds_to,
                visible_to=everyone,
                parse_answer=False,
            )
            return {"messages": [message.model_copy(update={"answer": opening(state, critic.name).answer})]}

        async def defend(state: DebateState) -> dict[str, Any]:
            values, responds_to = shown(state)
            message = await runtime.speak(
                defender,
                state,
                kind=MessageKind.ARGUMENT,
                user_prompt=runtime.prompt(defender, "debater.reply", state, **values),
                responds_to=responds_to,
                visible_to=everyone,
                parse_answer=False,
            )
            message = message.model_copy(update={"answer": opening(state, defender.name).answer})
            return {"messages": [message], **end_round(state, scenario.rounds)}

        async def decide(state: DebateState) -> dict[str, Any]:
            context_answer = opening(state, defender.name).answer
            closed_book = opening(state, critic.name)
            confidence = parametric_confidence(closed_book)
            verdict: str | None = None
            update: dict[str, Any] = {}
            if context_answer is not None and closed_book.answer not in (None, context_answer):
                values, responds_to = shown(state)
                allowed = [context_answer, closed_book.answer]
                update = await judge_verdict(
                    runtime,
                    state,
                    template="judge.verdict",
                    allowed=allowed,
                    responds_to=responds_to,
                    **values,
                )
                verdict = update["final_answer"]
            decision = combine(
                context_answer, closed_book.answer, verdict, confidence, self.confidence_threshold
            )
            return {**update, "final_answer": decision.answer, "stop_reason": decision.rule}

        def after_round(state: DebateState) -> str:
            answers = {opening(state, defender.name).answer, opening(state, critic.name).answer}
            if None in answers or len(answers) == 1 or state.get("stop_reason"):
                return VERDICT
            return CHALLENGE

        graph.add_node(OPEN, open_)
        graph.add_node(CHALLENGE, challenge)
        graph.add_node(DEFEND, defend)
        graph.add_node(VERDICT, decide)
        graph.add_edge(START, OPEN)
        graph.add_conditional_edges(OPEN, after_round, [CHALLENGE, VERDICT])
        graph.add_edge(CHALLENGE, DEFEND)
        graph.add_conditional_edges(DEFEND, after_round, [CHALLENGE, VERDICT])
        graph.add_edge(VERDICT, END)


register_protocol(SelfReflectiveDebate())
