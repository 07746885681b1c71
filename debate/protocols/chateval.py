"""ChatEval (Chan et al. 2024, "ChatEval: Towards Better LLM-based Evaluators through Multi-Agent Debate";
one of DebateLLM's systems): role-played referees discuss, then a verdict.

Each debater is a referee with its own persona (the ``debater.persona`` template,
set per agent: ``Debater("critic", prompts={"debater.persona": "..."})``). Every
turn a referee reads the whole discussion so far among the referees it sees in the
topology, its own turns included. ChatEval's two communication strategies are two
protocols that differ only in who has spoken when a referee's turn comes:

- ``chateval`` (one-by-one): referees speak in a fixed order, each reading this
  round's earlier speakers as well as the earlier rounds;
- ``chateval_simultaneous``: all speak at once, reading the earlier rounds only.

After the last round (or each round, with ``stop="judge"``) a judge, if the scenario
has one and takes its answer, reads the round and gives the verdict; without a judge
the answer is the referees' majority, as in ChatEval. ``Scenario.agreement_intensity``
sets how much referees take up the others' views, as in DebateLLM.
"""

from __future__ import annotations

from typing import Any

from debate.agents.roles import Agent
from debate.graph import DebateRuntime, DebateState
from debate.messages import MessageKind, Role
from debate.protocols import register_protocol
from debate.protocols.multi_persona import agreement_instruction
from debate.protocols.oversight import render_transcript
from debate.protocols.rounds import Node, RoundProtocol, debater_node_name
from debate.topology import readers_of, sources_for

_TURNS = (MessageKind.ARGUMENT, MessageKind.REFINEMENT)


class ChatEval(RoundProtocol):
    name = "chateval"
    prompt_file = "chateval"
    uses_agreement_intensity = True
    branches_turns = False  # referees read the whole discussion, not one previous answer to keep or change
    one_by_one = True

    def turns(self, runtime: DebateRuntime) -> list[dict[str, Node]]:
        """One-by-one: each referee is a turn of its own, in order; simultaneous: one turn for all."""
        referees = {
            debater_node_name(debater.name): self._referee_node(runtime, debater)
            for debater in runtime.scenario.debaters
        }
        if self.one_by_one:
            return [{node: speak} for node, speak in referees.items()]
        return [referees]

    def _referee_node(self, runtime: DebateRuntime, agent: Agent):  # noqa: ANN202
        judge = runtime.scenario.judge
        readers = readers_of(runtime.topology, agent.name) + ([judge.name] if judge else [])
        heard = {agent.name, *sources_for(runtime.topology, agent.name)}

        async def speak(state: DebateState) -> dict[str, Any]:
            round_ = state.get("round", 0)
            history = [
                m
                for m in state["messages"]
                if m.kind in _TURNS and m.role is Role.DEBATER and m.author in heard
            ]
            message = await runtime.speak(
                agent,
                state,
                kind=MessageKind.ARGUMENT if round_ == 0 else MessageKind.REFINEMENT,
                user_prompt=runtime.prompt(
                    agent,
                    "debater.turn",
                    state,
                    persona=runtime.prompt(agent, "debater.persona", state),
                    transcript=render_transcript(history, None),
                    agreement=agreement_instruction(runtime, agent, state),
                ),
                responds_to=[m.id for m in history],
                visible_to=readers,
            )
            return {"messages": [message]}

        return speak


class SimultaneousChatEval(ChatEval):
    name = "chateval_simultaneous"
    one_by_one = False


register_protocol(ChatEval())
register_protocol(SimultaneousChatEval())
