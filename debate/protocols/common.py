"""Nodes that several protocols share: advancing the round, the judge, and the final answer."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

from debate.agents.prompting import quote_untrusted
from debate.graph import DebateRuntime, DebateState
from debate.messages import Message, MessageKind, Role
from debate.voting import confidence_vote, majority_vote

Node = Callable[[DebateState], Any]

_DECISION = re.compile(r"decision\s*:\s*\**\s*(stop|continue)\b", re.IGNORECASE)
_VERDICT = re.compile(r"verdict\s*:\s*\**\s*(accept|revise)\b", re.IGNORECASE)


def advance(state: DebateState) -> dict[str, Any]:
    return {"round": state.get("round", 0) + 1}


def round_messages(state: DebateState, round_: int, kinds: Sequence[MessageKind]) -> list[Message]:
    return [message for message in state["messages"] if message.round == round_ and message.kind in kinds]


def last_verdict(state: DebateState) -> Message | None:
    return next((m for m in reversed(state["messages"]) if m.kind is MessageKind.VERDICT), None)


def quoted_responses(messages: Sequence[Message]) -> str:
    """Debater text reaches the judge quoted and delimited, never as instructions."""
    return "\n".join(quote_untrusted(message.text, agent=message.author) for message in messages)


def parse_decision(text: str) -> str | None:
    """The judge's own ``Decision: STOP|CONTINUE`` or ``Verdict: ACCEPT|REVISE``, last one wins."""
    decisions = _DECISION.findall(text)
    if decisions:
        return decisions[-1].lower()
    verdicts = _VERDICT.findall(text)
    if verdicts:
        return "stop" if verdicts[-1].lower() == "accept" else "continue"
    return None


def judge_round_node(runtime: DebateRuntime) -> Node:
    """The judge reads the current round's debater responses, gives an answer and (when steering) a decision."""
    judge = runtime.scenario.judge
    assert judge is not None

    async def judge_round(state: DebateState) -> dict[str, Any]:
        responses = round_messages(state, state["round"], (MessageKind.ARGUMENT, MessageKind.REFINEMENT))
        steering = runtime.scenario.stop == "judge" and not state.get("stop_reason")
        decision_instruction = runtime.prompt(judge, "judge.decision_instruction", state) if steering else ""
        message = await runtime.speak(
            judge,
            state,
            kind=MessageKind.VERDICT,
            user_prompt=runtime.prompt(
                judge,
                "judge.verdict",
                state,
                responses=quoted_responses(responses),
                decision_instruction=decision_instruction,
            ),
            responds_to=[m.id for m in responses],
            visible_to=[judge.name],
        )
        if steering:
            message = message.model_copy(update={"decision": parse_decision(message.text)})
        return {"messages": [message]}

    return judge_round


def final_answer(runtime: DebateRuntime, state: DebateState, candidates: Sequence[Message]) -> str | None:
    """Apply the scenario's aggregation; a judge that abstained falls back to the majority of ``candidates``."""
    aggregation = runtime.scenario.aggregation
    if aggregation == "judge":
        verdict = last_verdict(state)
        if verdict is not None and verdict.answer is not None:
            return verdict.answer
    if aggregation == "confidence":
        return confidence_vote(candidates)
    return majority_vote(candidates)


def stop_reason_after_judge(state: DebateState, runtime: DebateRuntime) -> str:
    if runtime.scenario.stop == "fixed":
        return "max_rounds"
    if state.get("stop_reason"):
        return state["stop_reason"]  # type: ignore[return-value]
    verdict = last_verdict(state)
    return "judge" if verdict is not None and verdict.decision == "stop" else "max_rounds"


def judge_wants_more(state: DebateState, runtime: DebateRuntime) -> bool:
    """After a verdict: go on only if the judge asked to and rounds remain."""
    if state.get("round", 0) + 1 >= runtime.scenario.rounds or state.get("stop_reason"):
        return False
    if runtime.scenario.stop == "fixed":
        return True
    verdict = last_verdict(state)
    return verdict is None or verdict.decision != "stop"


def role_names(runtime: DebateRuntime, role: Role) -> list[str]:
    agents = [*runtime.scenario.agents, *([runtime.scenario.judge] if runtime.scenario.judge else [])]
    return [agent.name for agent in agents if agent.role is role]
