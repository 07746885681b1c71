"""Solo Performance Prompting (Wang et al. 2024, "Unleashing the Emergent Cognitive Synergy in Large Language
Models: A Task-Solving Agent through Multi-Persona Self-Collaboration"; one of DebateLLM's systems).

One model, one call: the prompt asks it to name the personas that would help
with the task, let them collaborate in writing (criticising and revising), and
give a final answer. The "debate" happens inside one message, so the transcript
holds a single argument. The prompt, with its worked demonstration, is data
(``agents/prompts/spp.toml``).
"""

from __future__ import annotations

from debate.protocols import register_protocol
from debate.protocols.rounds import RoundProtocol
from debate.scenario import Scenario


class SoloPerformancePrompting(RoundProtocol):
    name = "spp"

    def validate(self, scenario: Scenario) -> None:
        if len(scenario.debaters) != 1 or len(scenario.agents) != 1:
            names = [agent.name for agent in scenario.agents]
            raise ValueError(
                f"agents: protocol 'spp' is one model playing every persona; give one Debater, got {names}"
            )
        if scenario.rounds != 1:
            raise ValueError("rounds: protocol 'spp' is a single call; set rounds=1")


register_protocol(SoloPerformancePrompting())
