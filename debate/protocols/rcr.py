"""Reflect-Critique-Refine, the debate protocol of "Debate, Train, Evolve" (DTE).

Round 0: each debater solves the question alone. Each later round, in one
response, a debater reflects on its own previous solution, critiques
``scenario.critique_peers`` (default 2) of the peers it can see, and gives a
refined solution. Peers beyond that number are listed by answer only, as in
the DTE code. A temperature schedule across rounds is
``Scenario.temperature_schedule``.
"""

from __future__ import annotations

from debate.agents.prompting import neutralize_tags
from debate.agents.roles import Agent
from debate.graph import DebateRuntime, DebateState
from debate.messages import Message
from debate.protocols import register_protocol
from debate.protocols.rounds import RoundProtocol


class ReflectCritiqueRefine(RoundProtocol):
    name = "rcr"

    def later_round_prompt(
        self, runtime: DebateRuntime, agent: Agent, state: DebateState, own: Message, peers: list[Message]
    ) -> str:
        limit = runtime.scenario.critique_peers
        critiqued, others = peers[:limit], peers[limit:]
        peer_block = "\n".join(
            runtime.prompt(
                agent,
                "debater.peer",
                state,
                author=peer.author,
                text=neutralize_tags(peer.text),
                answer=_shown(peer.answer),
            )
            for peer in critiqued
        )
        if others:
            peer_block += "\nOther agents' answers, for reference:\n" + "".join(
                f"Agent {peer.author}: {_shown(peer.answer)}\n" for peer in others
            )
        return runtime.prompt(
            agent,
            "debater.later_round",
            state,
            own_previous=neutralize_tags(own.text),
            own_answer=_shown(own.answer),
            peers=peer_block or "(no peer solutions are visible to you)\n",
        )


def _shown(answer: str | None) -> str:
    return answer if answer is not None else "(no parsable answer)"


register_protocol(ReflectCritiqueRefine())
