"""Ensemble Refinement (Singhal et al. 2023, "Towards Expert-Level Medical Question Answering with Large
Language Models" (Med-PaLM 2); one of DebateLLM's systems).

Two stages, each a round of ``RoundProtocol``:

1. every debater reasons alone; with ``SamplingParams(n=k)`` each call returns k
   reasoning paths, all kept on the message (``Message.samples``);
2. every debater reads *all* of them (its own and those of the peers it sees in the
   topology, every sample, unattributed as "Reasoning 1..m") and writes a refined answer.

The answer is the scenario's aggregation over the refinements (plurality by default,
as in Med-PaLM 2). More rounds refine the refinements again.
"""

from __future__ import annotations

from debate.agents.prompting import neutralize_tags
from debate.agents.roles import Agent
from debate.graph import DebateRuntime, DebateState
from debate.messages import Message
from debate.protocols import register_protocol
from debate.protocols.rounds import RoundProtocol
from debate.scenario import Scenario


def reasoning_paths(message: Message) -> list[str]:
    """Every completion behind ``message``: its ``n`` samples, or its one text."""
    return [sample.text for sample in message.samples] or [message.text]


class EnsembleRefinement(RoundProtocol):
    name = "ensemble_refinement"

    def validate(self, scenario: Scenario) -> None:
        if scenario.rounds < 2:
            raise ValueError(
                "rounds: protocol 'ensemble_refinement' needs rounds >= 2 (round 0 samples, round 1 refines)"
            )

    def later_round_prompt(
        self, runtime: DebateRuntime, agent: Agent, state: DebateState, own: Message, peers: list[Message]
    ) -> str:
        paths = [path for message in (own, *peers) for path in reasoning_paths(message)]
        block = "\n".join(
            runtime.prompt(agent, "debater.reasoning", state, number=number, text=neutralize_tags(text))
            for number, text in enumerate(paths, start=1)
        )
        return runtime.prompt(agent, "debater.later_round", state, reasonings=block, count=len(paths))


register_protocol(EnsembleRefinement())
