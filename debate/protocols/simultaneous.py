"""Simultaneous debate (Du et al. 2023): each round, every debater reads its peers' last answers and updates its own."""

from __future__ import annotations

from debate.agents.prompting import neutralize_tags
from debate.agents.roles import Agent
from debate.graph import DebateRuntime, DebateState
from debate.messages import Message
from debate.protocols import register_protocol
from debate.protocols.rounds import RoundProtocol


class SimultaneousDebate(RoundProtocol):
    name = "simultaneous"

    def later_round_prompt(
        self, runtime: DebateRuntime, agent: Agent, state: DebateState, own: Message, peers: list[Message]
    ) -> str:
        peer_block = "\n".join(
            runtime.prompt(agent, "debater.peer", state, author=peer.author, text=neutralize_tags(peer.text))
            for peer in peers
        )
        return runtime.prompt(
            agent, "debater.later_round", state, peers=peer_block or "(none)", own_previous=neutralize_tags(own.text)
        )


register_protocol(SimultaneousDebate())
