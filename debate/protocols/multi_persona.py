"""Multi-Persona with adjustable agreement intensity (DebateLLM; Smit et al. 2024, "Should we be going MAD?
A Look at Multi-Agent Debate Strategies for LLMs").

MAD's structure (``debate/protocols/mad.py``): an *angel* (the first debater) answers
and argues, a *devil* (the second) must contest it, turns alternate and a moderator
(the judge) answers after every round. What changes is the prompt: the two sides
speak as personas (``agents/prompts/multi_persona.toml``), and both are told how much
to take up the other's view, from ``Scenario.agreement_intensity`` (0-100):

- below 50: "discard the other side's opinions (100 - intensity)% of the time";
- 50: agree or disagree as the other side's answers deserve;
- above 50: "incorporate the other side's opinions intensity% of the time".

DebateLLM found this one number moves accuracy by many points. The wording of each
band is data (``[agreement]`` templates); without an intensity the prompts say nothing.
"""

from __future__ import annotations

from debate.agents.roles import Agent
from debate.graph import DebateRuntime, DebateState
from debate.protocols import register_protocol
from debate.protocols.mad import MultiAgentDebate


def agreement_instruction(runtime: DebateRuntime, agent: Agent, state: DebateState) -> str:
    """The sentence that sets how much ``agent`` takes up the other side's views (empty without an intensity)."""
    intensity = runtime.scenario.agreement_intensity
    if intensity is None:
        return runtime.prompt(agent, "agreement.unset", state)
    if intensity < 50:
        return runtime.prompt(agent, "agreement.discard", state, percent=100 - intensity)
    if intensity == 50:
        return runtime.prompt(agent, "agreement.balanced", state)
    return runtime.prompt(agent, "agreement.incorporate", state, percent=intensity)


class MultiPersona(MultiAgentDebate):
    name = "multi_persona"
    uses_agreement_intensity = True

    def turn_prompt(
        self, runtime: DebateRuntime, agent: Agent, side: str, state: DebateState, transcript: str
    ) -> str:
        return runtime.prompt(
            agent,
            f"debater.{side}",
            state,
            transcript=transcript,
            agreement=agreement_instruction(runtime, agent, state),
        )


register_protocol(MultiPersona())
