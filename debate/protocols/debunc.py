"""Uncertainty-aware debate (DebUnc; Yoffe et al. 2024, "DebUnc: Improving Large Language Model Agent
Communication With Uncertainty Metrics").

Simultaneous debate in which every peer response a debater reads carries how sure its
author was, on DebUnc's 1-10 scale. The measure is the best one the message has, in
this order (``peer_confidence``):

1. ``answer_probability``: the probability the model gave the tokens of its parsed answer
   (needs ``SamplingParams(logprobs=True)``);
2. ``sample_agreement``: the share of the message's ``n`` samples that give its answer
   (needs ``SamplingParams(n=k)``, k > 1);
3. ``mean_token_probability``: the model's mean probability over every token it wrote;
4. ``stated``: the ``Confidence: x`` line the debater wrote itself (the first-round prompt asks for it).

A private confidence (``Scenario.private_confidence``) is never shown: the debater was
told nobody would read it. How each measure reads in the prompt is data
(``[uncertainty]`` in ``agents/prompts/debunc.toml``).
"""

from __future__ import annotations

import math

from debate.agents.prompting import neutralize_tags
from debate.agents.roles import Agent
from debate.graph import DebateRuntime, DebateState
from debate.messages import Message
from debate.protocols import register_protocol
from debate.protocols.rounds import RoundProtocol


def peer_confidence(message: Message) -> tuple[str, float] | None:
    """``(measure, probability)`` for ``message``: the first measure in DebUnc's order that it has."""
    logprobs = message.logprobs
    if logprobs is not None and logprobs.answer_probability is not None:
        return "answer_probability", logprobs.answer_probability
    if message.sample_agreement is not None:
        return "sample_agreement", message.sample_agreement
    if logprobs is not None:
        return "mean_token_probability", math.exp(logprobs.mean_logprob)
    if message.confidence is not None:
        return "stated", message.confidence
    return None


def confidence_level(probability: float) -> int:
    """DebUnc's 1-10 scale: 0 -> 1, 1 -> 10."""
    return 1 + round(9 * min(max(probability, 0.0), 1.0))


class UncertaintyAwareDebate(RoundProtocol):
    name = "debunc"

    def later_round_prompt(
        self, runtime: DebateRuntime, agent: Agent, state: DebateState, own: Message, peers: list[Message]
    ) -> str:
        peer_block = "\n".join(
            runtime.prompt(
                agent,
                "debater.peer",
                state,
                author=peer.author,
                text=neutralize_tags(peer.text),
                confidence=self._confidence(runtime, agent, state, peer),
            )
            for peer in peers
        )
        return runtime.prompt(
            agent,
            "debater.later_round",
            state,
            peers=peer_block or "(none)",
            own_previous=neutralize_tags(own.text),
            own_confidence=self._confidence(runtime, agent, state, own),
        )

    @staticmethod
    def _confidence(runtime: DebateRuntime, agent: Agent, state: DebateState, message: Message) -> str:
        measured = peer_confidence(message)
        if measured is None:
            return runtime.prompt(agent, "uncertainty.unknown", state)
        measure, probability = measured
        return runtime.prompt(agent, f"uncertainty.{measure}", state, level=confidence_level(probability))


register_protocol(UncertaintyAwareDebate())
