"""``--seed``: one number that fixes every agent's sampling seed.

Each agent gets its own seed derived from the run's seed and its name:
debaters share a prompt in round 0, and with one shared seed a server would
sample the same text for all of them. Seeds land in the agents' sampling
parameters, so every message records the seed it was sampled with. A seed
set in the scenario wins. Debate ids do not depend on the seed (the manifest
does, and a run directory refuses a different one).
"""

from __future__ import annotations

import hashlib

from debate.agents.roles import Agent
from debate.scenario import Scenario


def agent_seed(seed: int, agent: str) -> int:
    """A stable 31-bit seed for ``agent`` (the same in every process: no ``hash()`` randomisation)."""
    return int.from_bytes(hashlib.sha256(f"{seed}/{agent}".encode()).digest()[:4], "big") >> 1


def with_seed(scenario: Scenario, seed: int | None) -> Scenario:
    """``scenario`` with a derived sampling seed for every agent (judge included) that has none."""
    if seed is None:
        return scenario

    def seeded(agent: Agent) -> Agent:
        if agent.sampling.seed is not None:
            return agent
        sampling = agent.sampling.model_copy(update={"seed": agent_seed(seed, agent.name)})
        return agent.model_copy(update={"sampling": sampling})

    judge = seeded(scenario.judge) if scenario.judge is not None else None
    return scenario.model_copy(
        update={"agents": [seeded(agent) for agent in scenario.agents], "judge": judge}
    )
