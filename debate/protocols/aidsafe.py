"""AIDSAFE (Kumarage et al. 2025, "Towards Safety Reasoning in LLMs: AI-agentic Deliberation for
Policy-embedded CoT Data Creation"): agents deliberate over a safety policy, a refiner cleans the result.

Read it top to bottom; the debaters are the deliberators:

1. ``intents`` (round 0): the first deliberator decomposes the user's request into
   its explicit and implicit intents (no answer).
2. ``deliberate`` (one node per round, rounds 0 to ``rounds - 2`` at most): the
   deliberators speak one after another, each reading the policy, the intents and
   the latest chain of thought (quoted), and writing the whole chain again,
   expanded and corrected, with the response and the decision (``comply`` or
   ``refuse``) as its answer. The first turn of round 0 writes the seed chain.
   With ``stop="consensus"`` deliberation ends as soon as a deliberator finds
   nothing to change (``Deliberation: COMPLETE``), as in the paper; with
   ``stop="fixed"`` every round runs.
3. ``refine`` (the round after): the refiner reads the policy, the request and the
   final chain, and removes repetitive, deceptive and policy-inconsistent thoughts.
   Its refinement is the debate's answer; nobody reads it.
4. ``whisper`` (only with a ``Critic``, the paper's ear-whisperer): the critic
   writes a plausible but false belief about the request, and the refiner refines
   the same chain again taking it as true. That belief-augmented refinement is a
   ``Branch`` of the refinement (``belief``), kept beside the transcript as the
   rejected side of ``aidsafe_dpo`` pairs; it changes nothing in the debate.

The policy is data: the registered ``aidsafe`` reads the bundled five rules
(``debate/data/aidsafe/policy.toml``); ``AIDSAFE(policy=[...], name=...)`` with
``register_protocol`` is a variant with your own. Prompts are in
``agents/prompts/aidsafe.toml``.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Sequence
from typing import Any

from langgraph.graph import END, START, StateGraph

from debate.agents.prompting import quote_untrusted
from debate.agents.roles import Agent
from debate.datasets import bundled_path
from debate.graph import DebateRuntime, DebateState
from debate.messages import Message, MessageKind, Role
from debate.protocols import register_protocol
from debate.protocols.branching import speak_branch
from debate.protocols.common import final_answer
from debate.scenario import Scenario

INTENTS, DELIBERATE, REFINE, WHISPER, FINALIZE = "intents", "deliberate", "refine", "whisper", "finalize"
_COMPLETE = re.compile(r"^\W*deliberation\s*:\s*\**\s*complete\b.*$\n?", re.IGNORECASE | re.MULTILINE)


def load_policy(path: str | None = None) -> tuple[str, ...]:
    """The ``rules`` list of a policy TOML file; the bundled policy when ``path`` is None."""
    source = path or bundled_path("aidsafe", "policy.toml")
    with open(source, "rb") as handle:
        rules = tomllib.load(handle).get("rules")
    if not rules or not all(isinstance(rule, str) and rule.strip() for rule in rules):
        raise ValueError(f"policy: {str(source)!r} needs `rules`, a non-empty list of non-empty strings")
    return tuple(rules)


def declares_complete(message: Message) -> bool:
    """A deliberator found nothing to change in the chain (a line ``Deliberation: COMPLETE``)."""
    return bool(_COMPLETE.search(message.text))


def without_completion_mark(text: str) -> str:
    """A chain of thought without its ``Deliberation: COMPLETE`` line, as training text."""
    return _COMPLETE.sub("", text).rstrip() if _COMPLETE.search(text) else text


def chain_turns(messages: Sequence[Message]) -> list[Message]:
    """The deliberation turns so far: each a whole chain of thought with its response."""
    return [m for m in messages if m.role is Role.DEBATER and m.kind is MessageKind.REFINEMENT]


class AIDSAFE:
    needs_judge = False
    prompt_file = "aidsafe"

    def __init__(self, policy: Sequence[str] | None = None, *, name: str = "aidsafe") -> None:
        self.name = name
        self.policy = tuple(policy) if policy is not None else load_policy()
        if not self.policy:
            raise ValueError("policy: AIDSAFE needs at least one policy rule")

    def validate(self, scenario: Scenario) -> None:
        if scenario.agent(Role.REFINER) is None:
            raise ValueError(
                f"agents: protocol {self.name!r} needs a Refiner (it cleans the deliberated chain)"
            )
        if scenario.rounds < 2:
            raise ValueError(
                f"rounds: protocol {self.name!r} needs rounds >= 2 (deliberation, then the refiner's round)"
            )
        if scenario.stop == "judge" or scenario.aggregate == "judge":
            raise ValueError(
                f"stop: protocol {self.name!r} has no judge; deliberation stops when a deliberator finds the "
                "chain complete ('consensus') or after every round ('fixed')"
            )

    def build(self, graph: StateGraph, runtime: DebateRuntime) -> None:
        scenario = runtime.scenario
        deliberators = scenario.debaters
        refiner, whisperer = scenario.agent(Role.REFINER), scenario.agent(Role.CRITIC)
        assert refiner is not None
        names = [agent.name for agent in deliberators]

        def prompt(agent: Agent, key: str, state: DebateState, **values: Any) -> str:
            return runtime.prompt(
                agent,
                key,
                state,
                policy=self.rendered_policy(runtime, agent, state),
                format=runtime.prompt(agent, "aidsafe.format", state),
                **values,
            )

        async def intents(state: DebateState) -> dict[str, Any]:
            message = await runtime.speak(
                deliberators[0],
                state,
                kind=MessageKind.ARGUMENT,
                user_prompt=prompt(deliberators[0], "debater.intents", state),
                visible_to=names,
                parse_answer=False,
            )
            return {"messages": [message]}

        async def deliberate(state: DebateState) -> dict[str, Any]:
            round_ = state.get("round", 0)
            [intents_message] = [m for m in state["messages"] if m.kind is MessageKind.ARGUMENT]
            turns: list[Message] = []
            for agent in deliberators:
                chain = chain_turns([*state["messages"], *turns])
                latest = chain[-1] if chain else None
                key, values = (
                    ("debater.deliberate", {"chain": _quote(latest)}) if latest else ("debater.seed", {})
                )
                turn = await runtime.speak(
                    agent,
                    state,
                    kind=MessageKind.REFINEMENT,
                    user_prompt=prompt(agent, key, state, intents=_quote(intents_message), **values),
                    responds_to=[intents_message.id, *([latest.id] if latest else [])],
                    visible_to=[*names, refiner.name],
                )
                turns.append(turn)
                if latest is not None and scenario.stop == "consensus" and declares_complete(turn):
                    return {"messages": turns, "round": round_ + 1, "stop_reason": "consensus"}
            return {"messages": turns, "round": round_ + 1, "stop_reason": None}

        def after_deliberation(state: DebateState) -> str:
            done = state.get("stop_reason") or state.get("round", 0) >= scenario.rounds - 1
            return REFINE if done else DELIBERATE

        async def refine(state: DebateState) -> dict[str, Any]:
            chain = chain_turns(state["messages"])[-1]
            message = await runtime.speak(
                refiner,
                state,
                kind=MessageKind.REFINEMENT,
                user_prompt=prompt(refiner, "refiner.refine", state, chain=_quote(chain)),
                responds_to=[chain.id],
            )
            return {"messages": [message]}

        async def whisper(state: DebateState) -> dict[str, Any]:
            assert whisperer is not None
            chain, refined = chain_turns(state["messages"])[-1], state["messages"][-1]
            belief = await runtime.speak(
                whisperer,
                state,
                kind=MessageKind.CRITIQUE,
                user_prompt=prompt(whisperer, "critic.whisper", state),
                visible_to=[refiner.name],
                parse_answer=False,
            )
            branch = await speak_branch(
                runtime,
                refiner,
                state,
                turn_id=refined.id,
                continuation="belief",
                steered_by=belief.id,
                kind=MessageKind.REFINEMENT,
                prompt=prompt(refiner, "refiner.refine", state, chain=_quote(chain)),
                instruction=runtime.prompt(refiner, "refiner.belief", state, belief=belief.text.strip()),
                responds_to=[chain.id, belief.id],
            )
            return {"messages": [belief], "branches": [branch]}

        def finalize(state: DebateState) -> dict[str, Any]:
            refined = next(m for m in reversed(state["messages"]) if m.role is Role.REFINER)
            return {
                "final_answer": final_answer(runtime, state, [refined]),
                "stop_reason": state.get("stop_reason") or "max_rounds",
            }

        graph.add_node(INTENTS, intents)
        graph.add_node(DELIBERATE, deliberate)
        graph.add_node(REFINE, refine)
        graph.add_node(FINALIZE, finalize)
        graph.add_edge(START, INTENTS)
        graph.add_edge(INTENTS, DELIBERATE)
        graph.add_conditional_edges(DELIBERATE, after_deliberation, [DELIBERATE, REFINE])
        if whisperer is not None:
            graph.add_node(WHISPER, whisper)
            graph.add_edge(REFINE, WHISPER)
            graph.add_edge(WHISPER, FINALIZE)
        else:
            graph.add_edge(REFINE, FINALIZE)
        graph.add_edge(FINALIZE, END)

    def rendered_policy(self, runtime: DebateRuntime, agent: Agent, state: DebateState) -> str:
        return "\n".join(
            runtime.prompt(agent, "aidsafe.rule", state, number=number, rule=rule)
            for number, rule in enumerate(self.policy, start=1)
        )


def _quote(message: Message) -> str:
    return quote_untrusted(message.text, agent=message.author)


register_protocol(AIDSAFE())
